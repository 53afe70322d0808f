import { expect } from 'chai';
import { AriEvent } from '../../../src/ari/ari-events';
import { PROMPTS } from '../../../src/calls/prompts';
import { QueueCallerSession } from '../../../src/calls/queue-caller-session';
import { QueueCallerStep } from '../../../src/calls/queue-caller-states';
import { callerChannel, FakeEngine, settle } from './fake-call-context';

/**
 * Issue 18 (fuzzer: a dispatch spin): a caller entering a number, storing a booking or in an
 * overflow verb cannot take an agent, so QueueCallerSession tells dispatch it is not ready for one
 * (readyForAgent, which dispatch asks of the items it reaches) and, back to waiting, has dispatch
 * run again so that it is offered the next free agent.
 */

const CALLER = 'caller-hold';
const dtmf = (digit: string): AriEvent => ({ type: 'ChannelDtmfReceived', channel: callerChannel(CALLER), digit, duration_ms: 100 });

async function waitingCaller(engine: FakeEngine): Promise<QueueCallerSession> {
  const session = new QueueCallerSession(engine.ctx, callerChannel(CALLER), engine.queue, undefined, 1);
  engine.control.deliver = (e) => session.onEvent(e);
  await session.start();
  expect(session.state).to.equal('waiting');
  return session;
}

/** The engine calls about dispatch since `from`: releases and dispatchSoon, in order. */
function dispatchCalls(engine: FakeEngine, from: number): string[] {
  return engine.portCalls.slice(from).filter((c) => ['queues.releaseFromService', 'queues.dispatchSoon'].includes(c));
}

function walk(session: QueueCallerSession, steps: QueueCallerStep[]): void {
  for (const s of steps) expect(session.step(s), `step ${s} from ${session.state}`).to.equal(true);
}

describe('unit: QueueCallerSession keeps a caller busy elsewhere from dispatch', () => {
  const busyPaths: { name: string; steps: QueueCallerStep[]; busy: string[] }[] = [
    { name: 'entering a number, given up', steps: ['number_entry', 'back_to_waiting'], busy: ['entering_number'] },
    {
      name: 'entering a number, then storing the booking, which failed',
      steps: ['number_entry', 'accepted', 'back_to_waiting'],
      busy: ['entering_number', 'storing'],
    },
    { name: 'storing a press-1 booking, which failed', steps: ['accepted', 'back_to_waiting'], busy: ['storing'] },
    { name: 'an overflow verb that could not apply', steps: ['overflow', 'overflow_done'], busy: ['overflowing'] },
  ];
  for (const path of busyPaths) {
    it(`${path.name}: not ready for an agent while busy, dispatched again once back to waiting`, async () => {
      const engine = new FakeEngine();
      const session = await waitingCaller(engine);
      expect(session.readyForAgent, 'waiting').to.equal(true);
      const from = engine.portCalls.length;
      const last = path.steps[path.steps.length - 1];
      for (const step of path.steps.slice(0, -1)) {
        walk(session, [step]);
        expect(path.busy).to.include(session.state);
        expect(session.readyForAgent, `not ready while ${session.state}`).to.equal(false);
      }
      expect(dispatchCalls(engine, from), 'nothing asked of dispatch on the way in').to.deep.equal([]);
      walk(session, [last]);
      expect(session.state).to.equal('waiting');
      expect(session.readyForAgent).to.equal(true);
      expect(dispatchCalls(engine, from)).to.deep.equal(['queues.dispatchSoon']);
    });
  }

  it('ringing an agent and missed, or a step the table refuses: no dispatch asked by the step', async () => {
    const engine = new FakeEngine();
    const session = await waitingCaller(engine);
    const from = engine.portCalls.length;
    walk(session, ['agent_ringing', 'agent_missed']);
    expect(session.step('back_to_waiting'), 'refused from waiting').to.equal(false);
    expect(session.step('overflow_done'), 'refused from waiting').to.equal(false);
    expect(session.readyForAgent).to.equal(true);
    expect(dispatchCalls(engine, from)).to.deep.equal([]);
  });

  it('pressing 2 to type another number: the caller is not ready for an agent while typing', async () => {
    const engine = new FakeEngine();
    const session = await waitingCaller(engine);
    for (let i = 0; i < 20 && !engine.control.played((l) => l.includes(PROMPTS.offer)); i++) {
      engine.clock.advance(100);
      await settle();
    }
    expect(engine.control.played((l) => l.includes(PROMPTS.offer))).to.equal(true);
    session.onEvent(dtmf('2'));
    for (let i = 0; i < 50 && session.state !== 'entering_number'; i++) await settle();
    expect(session.state).to.equal('entering_number');
    expect(session.readyForAgent).to.equal(false);
  });
});
