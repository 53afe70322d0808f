import { expect } from 'chai';
import { AriEvent } from '../../../src/ari/ari-events';
import { PROMPTS } from '../../../src/calls/prompts';
import { QueueCallerSession } from '../../../src/calls/queue-caller-session';
import { callerChannel, FakeEngine, settle } from './fake-call-context';

/**
 * Issue 18 (fuzzer, seed 18 #1355, every run): a caller presses 2 to type another number; they
 * leave the music for a quiet bridge and the "enter the number" prompt is refused by Asterisk (a
 * 500). They waited in silence, with nothing to tell them to type, until they hung up. A refused
 * prompt is asked for once more; refused again, the caller goes back to waiting, with music, at
 * the same place.
 */

const CALLER = 'caller-typing';
const dtmf = (digit: string): AriEvent => ({ type: 'ChannelDtmfReceived', channel: callerChannel(CALLER), digit, duration_ms: 100 });
const enterNumberPlays = (engine: FakeEngine): string[] =>
  engine.control.requests.filter((r) => r.startsWith(`play ${CALLER} `) && r.endsWith(PROMPTS.enterNumber));

async function typingCaller(engine: FakeEngine, refusals: number): Promise<QueueCallerSession> {
  const session = new QueueCallerSession(engine.ctx, callerChannel(CALLER), engine.queue, undefined, 1);
  engine.control.deliver = (e) => session.onEvent(e);
  await session.start();
  for (let i = 0; i < 20 && !engine.control.played((l) => l.includes(PROMPTS.offer)); i++) {
    engine.clock.advance(100);
    await settle();
  }
  for (let i = 0; i < refusals; i++) engine.control.failOnce.push((line) => line.startsWith('play ') && line.endsWith(PROMPTS.enterNumber));
  session.onEvent(dtmf('2'));
  for (let i = 0; i < 50 && enterNumberPlays(engine).length === 0; i++) await settle();
  return session;
}

/** Lets the retry's timer run. */
async function afterRetryGap(engine: FakeEngine): Promise<void> {
  await settle();
  engine.clock.advance(300);
  for (let i = 0; i < 20; i++) await settle();
}

describe('unit: a refused number-entry prompt never leaves the caller in silence', () => {
  it('refused once: asked for again, and the caller types on', async () => {
    const engine = new FakeEngine();
    const session = await typingCaller(engine, 1);
    expect(session.state).to.equal('entering_number');
    await afterRetryGap(engine);
    expect(enterNumberPlays(engine), 'the prompt asked for twice').to.have.length(2);
    expect(session.state).to.equal('entering_number');
  });

  it('refused twice: back to waiting with music, at the same place, offered again later', async () => {
    const engine = new FakeEngine();
    const session = await typingCaller(engine, 2);
    await afterRetryGap(engine);
    expect(enterNumberPlays(engine)).to.have.length(2);
    expect(session.state).to.equal('waiting');
    expect(session.readyForAgent).to.equal(true);
    const quietAt = engine.control.requests.findIndex((r) => r.startsWith('addToBridge quiet-'));
    const backAt = engine.control.requests.findIndex((r, i) => i > quietAt && r.startsWith('addToBridge hold.'));
    expect(quietAt, 'left the music to type').to.be.greaterThan(-1);
    expect(backAt, 'back in the holding bridge with its music').to.be.greaterThan(quietAt);
    expect(engine.portCalls, 'the place was not given up').to.not.include('queues.dequeue');
  });
});
