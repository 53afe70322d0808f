import { expect } from 'chai';
import { CallContext, QueuesPort } from '../../../src/calls/call-context';
import { CustomerFirstSession } from '../../../src/calls/customer-first-session';
import { CallbackStore, FinishedAttempt, StoredCallback } from '../../../src/store/callback-store';
import { FAKE_AGENT, FakeEngine, settle, legChannel, openAttempt, pendingCallback } from './fake-call-context';

/**
 * Issue 18 (fuzzer, state_outlives_call): a customer-first attempt whose end met a database cut
 * stayed in_progress, and its lease expiry had the customer dialled again past max_attempts. The
 * end is retried until stored; a dial that could not be recorded is not made and does not count.
 */

const CALLBACK = pendingCallback('cb-cf', '+12125550188', 1);
const ATTEMPT = openAttempt(9);
const channel = legChannel;

function rig(opts: { dialWriteFails?: boolean; finishFailures?: number }) {
  const engine = new FakeEngine({ agent: true });
  const finished: FinishedAttempt[] = [];
  let finishFailures = opts.finishFailures ?? 0;
  const store = {
    claim: () => Promise.resolve({ callback: { ...CALLBACK, status: 'in_progress' }, attempt: ATTEMPT }),
    markAttempt: (_id: number, _cb: string, step: string) =>
      step === 'customer_dialled' && opts.dialWriteFails
        ? Promise.reject(new Error('canceling statement due to lock timeout'))
        : Promise.resolve(),
    renewLease: () => Promise.resolve(true),
    finishOwnedAttempt: (o: FinishedAttempt) => {
      if (finishFailures > 0) {
        finishFailures -= 1;
        return Promise.reject(new Error('terminating connection due to administrator command'));
      }
      finished.push(o);
      return Promise.resolve({ callback: { ...CALLBACK, status: o.nextStatus, attempts: o.countsAsAttempt ? 1 : 0 }, owned: true });
    },
  };
  const ended: StoredCallback[] = [];
  const control = engine.control as unknown as Record<string, unknown>;
  control.listChannels = () => Promise.resolve([]);
  const queues: QueuesPort = { ...engine.ctx.queues, callbackAttemptEnded: (s) => void ended.push(s) };
  const ctx: CallContext = { ...engine.ctx, store: store as unknown as CallbackStore, queues };
  const session = new CustomerFirstSession(ctx, CALLBACK, engine.queue, FAKE_AGENT.id);
  return { engine, session, finished, ended };
}

describe('CustomerFirstSession: the attempt end is stored whatever the database does', () => {
  it('the customer not answering, with the end write failing twice: retried until stored, counted once', async () => {
    const r = rig({ finishFailures: 2 });
    await r.session.start();
    const customer = r.engine.control.requests.find((l) => l.startsWith('originate cf-customer'))!.split(' ')[1];
    r.session.onEvent({ type: 'ChannelDestroyed', channel: channel(customer, 'Down'), cause: 19, cause_txt: 'No answer' });
    await settle();
    expect(r.ended).to.deep.equal([]);
    for (let i = 0; i < 20 && r.ended.length === 0; i++) {
      r.engine.clock.advance(250);
      await settle();
    }
    expect(r.finished.map((f) => [f.outcome, f.nextStatus, f.countsAsAttempt])).to.deep.equal([['no_answer', 'failed', true]]);
    expect(r.ended.map((c) => c.status)).to.deep.equal(['failed']);
    expect(r.engine.agentsReleased).to.deep.equal([`${FAKE_AGENT.id} talked=false`]);
  });

  it('a dial that could not be recorded is not made and does not use the only attempt', async () => {
    const r = rig({ dialWriteFails: true });
    await r.session.start();
    await settle();
    expect(r.engine.control.requests.some((l) => l.startsWith('originate'))).to.equal(false);
    expect(r.finished.map((f) => [f.nextStatus, f.countsAsAttempt])).to.deep.equal([['pending', false]]);
    expect(r.ended.map((c) => c.status)).to.deep.equal(['pending']);
  });
});
