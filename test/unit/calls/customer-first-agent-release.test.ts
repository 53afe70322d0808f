import { expect } from 'chai';
import { AriEvent } from '../../../src/ari/ari-events';
import { CallContext } from '../../../src/calls/call-context';
import { CustomerFirstSession } from '../../../src/calls/customer-first-session';
import { CallbackStore, FinishedAttempt } from '../../../src/store/callback-store';
import { FAKE_AGENT, FakeEngine, settle, legChannel, openAttempt, pendingCallback } from './fake-call-context';

/**
 * Issue 18 (fuzzer: an agent held for a plugin call for ever): a customer-first attempt holds the
 * agent dispatch reserved for it. The customer pressing 1 and hanging up while the plugin was
 * still putting them on hold (the hold bridge's requests under way) released nobody, and the agent
 * was never offered anything again. Whichever way the attempt ends, the agent it holds is released
 * exactly once.
 */

const CALLBACK = pendingCallback('cb-release', '+12125550177', 3);
const ATTEMPT = openAttempt(11);
const channel = legChannel;

const answered = (id: string): AriEvent => ({ type: 'StasisStart', channel: channel(id, 'Up'), args: [] }) as unknown as AriEvent;
const destroyed = (id: string): AriEvent => ({
  type: 'ChannelDestroyed',
  channel: channel(id, 'Up'),
  cause: 16,
  cause_txt: 'Normal Clearing',
});
const pressed = (id: string, digit: string): AriEvent => ({
  type: 'ChannelDtmfReceived',
  channel: channel(id, 'Up'),
  digit,
  duration_ms: 100,
});

/** A request the test answers when it chooses (the hold being made while the customer hangs up). */
interface Pending {
  started: boolean;
  answer(): void;
}

function rig() {
  const engine = new FakeEngine({ agent: true });
  const finished: FinishedAttempt[] = [];
  const store = {
    claim: () => Promise.resolve({ callback: { ...CALLBACK, status: 'in_progress' }, attempt: ATTEMPT }),
    markAttempt: () => Promise.resolve(),
    renewLease: () => Promise.resolve(true),
    finishOwnedAttempt: (o: FinishedAttempt) => {
      finished.push(o);
      return Promise.resolve({ callback: { ...CALLBACK, status: o.nextStatus, attempts: 1 }, owned: true });
    },
  };
  (engine.control as unknown as Record<string, unknown>).listChannels = () => Promise.resolve([]);
  const ctx: CallContext = { ...engine.ctx, store: store as unknown as CallbackStore };
  const session = new CustomerFirstSession(ctx, CALLBACK, engine.queue, FAKE_AGENT.id);
  engine.control.deliver = (e) => session.onEvent(e);
  return { engine, session, finished };
}

/** Makes the fake's `request` (createBridge, addToBridge) wait for the test on its first call. */
function holdBack(engine: FakeEngine, request: 'createBridge' | 'addToBridge'): Pending {
  const control = engine.control;
  const original = control[request] as (...a: unknown[]) => Promise<void>;
  const pending: Pending = { started: false, answer: () => undefined };
  (control as unknown as Record<string, unknown>)[request] = (...args: unknown[]) => {
    const done = original.apply(control, args);
    if (pending.started) return done;
    pending.started = true;
    return new Promise<void>((resolve, reject) => {
      pending.answer = () => void done.then(resolve, reject);
    });
  };
  return pending;
}

/** The attempt started and the customer answered (the guard prompt is playing): the customer's channel. */
async function customerAnswered(r: ReturnType<typeof rig>): Promise<string> {
  await r.session.start();
  const line = r.engine.control.requests.find((l) => l.startsWith('originate cf-customer'));
  expect(line, r.engine.control.requests.join('\n')).to.not.equal(undefined);
  const customer = line!.split(' ')[1];
  r.session.onEvent(answered(customer));
  await settle();
  expect(r.engine.control.played((l) => l.startsWith(`play ${customer}`))).to.equal(true);
  return customer;
}

const agentOriginates = (engine: FakeEngine): string[] => engine.control.requests.filter((l) => l.startsWith('originate cf-agent'));

describe('CustomerFirstSession: the agent it holds is released exactly once', () => {
  for (const request of ['createBridge', 'addToBridge'] as const) {
    it(`the customer presses 1 and hangs up while ${request} of the hold is under way: the reserved agent is released, once, and nobody is rung`, async () => {
      const r = rig();
      const customer = await customerAnswered(r);
      const pending = holdBack(r.engine, request);
      r.session.onEvent(pressed(customer, '1'));
      await settle();
      expect(pending.started, `${request} was sent`).to.equal(true);
      r.session.onEvent(destroyed(customer));
      await settle();
      expect(r.engine.agentsReleased, 'released when the customer went').to.deep.equal([`${FAKE_AGENT.id} talked=false`]);
      pending.answer();
      await settle();
      r.engine.clock.advance(r.engine.queue.customerFirstMaxWaitSec * 1000 + 1000);
      await settle();
      expect(r.engine.agentsReleased).to.deep.equal([`${FAKE_AGENT.id} talked=false`]);
      expect(agentOriginates(r.engine), 'no agent rung after the customer went').to.deep.equal([]);
      expect(r.finished.map((f) => f.outcome)).to.deep.equal(['customer_hung_up_waiting']);
    });
  }

  it('the customer hangs up while the agent is rung: the agent is released once, not again when its leg goes', async () => {
    const r = rig();
    const customer = await customerAnswered(r);
    r.session.onEvent(pressed(customer, '1'));
    await settle();
    const rung = agentOriginates(r.engine);
    expect(rung, r.engine.control.requests.join('\n')).to.have.length(1);
    const agentLeg = rung[0].split(' ')[1];
    r.session.onEvent(destroyed(customer));
    await settle();
    expect(r.engine.control.requests).to.include(`hangup ${agentLeg}`);
    // Asterisk ends the agent's leg the plugin hung up.
    r.session.onEvent(destroyed(agentLeg));
    await settle();
    r.engine.clock.advance(r.engine.queue.customerFirstMaxWaitSec * 1000 + 1000);
    await settle();
    expect(r.engine.agentsReleased).to.deep.equal([`${FAKE_AGENT.id} talked=false`]);
    expect(agentOriginates(r.engine)).to.have.length(1);
  });

  it('the customer hangs up before pressing 1: the reserved agent is released once', async () => {
    const r = rig();
    const customer = await customerAnswered(r);
    r.session.onEvent(destroyed(customer));
    await settle();
    r.engine.clock.advance(r.engine.queue.guard.timeoutSec * 1000 + 1000);
    await settle();
    expect(r.engine.agentsReleased).to.deep.equal([`${FAKE_AGENT.id} talked=false`]);
    expect(agentOriginates(r.engine)).to.deep.equal([]);
  });
});
