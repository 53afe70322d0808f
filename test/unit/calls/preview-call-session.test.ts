import { expect } from 'chai';
import { AriChannel, AriEvent } from '../../../src/ari/ari-events';
import { CallContext, QueuesPort } from '../../../src/calls/call-context';
import { PreviewCallSession } from '../../../src/calls/preview-call-session';
import { AttemptRow, CallbackStore, FinishedAttempt, StoredCallback } from '../../../src/store/callback-store';
import { FAKE_AGENT, FakeEngine, settle } from './fake-call-context';

/**
 * Issue 18 (fuzzer, state_outlives_call): a preview attempt must end, and its end be stored,
 * whatever the database and the WebSocket lose: an end write failing in a database cut is retried
 * (the lease renewed meanwhile) until stored; a ringing leg whose events were lost in a WebSocket
 * gap is looked for; an agent hanging up while told the outcome does not hold the attempt.
 */

const CALLBACK = {
  id: 'cb-1',
  queueId: 'support',
  customerNumber: '+12125550199',
  status: 'pending',
  attempts: 0,
  maxAttempts: 3,
  requestedAt: new Date(1_000_000),
  language: 'en',
  notBefore: null,
} as unknown as StoredCallback;

const ATTEMPT = { id: 7, attemptNo: 1, agentId: FAKE_AGENT.id, endedAt: null } as unknown as AttemptRow;

/** The store an attempt uses; `finishFailures` end writes fail first (a database cut). */
class AttemptStoreFake {
  finishFailures = 0;
  readonly finished: FinishedAttempt[] = [];
  readonly renewals: number[] = [];
  constructor(private readonly engine: FakeEngine) {}
  claim = (): Promise<unknown> => Promise.resolve({ callback: { ...CALLBACK, status: 'in_progress' }, attempt: ATTEMPT });
  markAttempt = (): Promise<void> => Promise.resolve();
  markAttemptSteps = (): Promise<void> => Promise.resolve();
  recordEvent = (): Promise<void> => Promise.resolve();
  renewLease = (): Promise<boolean> => {
    this.renewals.push(this.engine.clock.now());
    return Promise.resolve(true);
  };
  finishOwnedAttempt = (o: FinishedAttempt): Promise<{ callback: StoredCallback; owned: boolean }> => {
    if (this.finishFailures > 0) {
      this.finishFailures -= 1;
      return Promise.reject(new Error('terminating connection due to administrator command'));
    }
    this.finished.push(o);
    return Promise.resolve({ callback: { ...CALLBACK, status: o.nextStatus, attempts: o.countsAsAttempt ? 1 : 0 }, owned: true });
  };
}

function channel(id: string, state: AriChannel['state']): AriChannel {
  return { id, name: id, state, caller: { name: '', number: '' }, connected: { name: '', number: '' } };
}

function rig(): {
  engine: FakeEngine;
  store: AttemptStoreFake;
  session: PreviewCallSession;
  ended: StoredCallback[];
  listed: string[];
  answered: Set<string>;
} {
  const engine = new FakeEngine({ agent: true });
  const store = new AttemptStoreFake(engine);
  const ended: StoredCallback[] = [];
  const listed: string[] = [];
  const answered = new Set<string>();
  const control = engine.control as unknown as Record<string, unknown>;
  control.ring = () => Promise.resolve();
  control.ringStop = () => Promise.resolve();
  control.listChannels = () => Promise.resolve(listed.map((id) => channel(id, answered.has(id) ? 'Up' : 'Ringing')));
  const queues: QueuesPort = { ...engine.ctx.queues, callbackAttemptEnded: (s) => void ended.push(s) };
  // A lease of 3 s (as the fuzzer's): renewed every second.
  const config = { ...engine.config, callback: { ...engine.config.callback, leaseSec: 3 } };
  const ctx: CallContext = { ...engine.ctx, config, store: store as unknown as CallbackStore, queues };
  const session = new PreviewCallSession(ctx, CALLBACK, engine.queue, FAKE_AGENT.id);
  engine.control.deliver = (e) => session.onEvent(e);
  return { engine, store, session, ended, listed, answered };
}

function originated(engine: FakeEngine, prefix: string): string {
  const line = engine.control.requests.find((r) => r.startsWith(`originate ${prefix}`) || r.startsWith(`createChannel ${prefix}`));
  if (!line) throw new Error(`no ${prefix} leg in ${engine.control.requests.join(' | ')}`);
  return line.split(' ')[1];
}

const destroyed = (id: string, cause: number): AriEvent => ({
  type: 'ChannelDestroyed',
  channel: channel(id, 'Down'),
  cause,
  cause_txt: 'x',
});

/** The agent answers and presses 1; the customer leg is created, enters Stasis and is dialled. */
async function upToCustomerRinging(r: ReturnType<typeof rig>): Promise<{ agent: string; customer: string }> {
  await r.session.start();
  const agent = originated(r.engine, 'cb-agent');
  r.session.onEvent({ type: 'StasisStart', channel: channel(agent, 'Up'), args: [] });
  await settle();
  r.session.onEvent({ type: 'ChannelDtmfReceived', channel: channel(agent, 'Up'), digit: '1', duration_ms: 100 });
  await settle();
  const customer = originated(r.engine, 'cb-customer');
  r.session.onEvent({ type: 'StasisStart', channel: channel(customer, 'Down'), args: [] });
  await settle();
  expect(r.engine.control.requests.some((l) => l === `dial ${customer}`)).to.equal(true);
  return { agent, customer };
}

describe('PreviewCallSession: the attempt always ends, and its end is stored', () => {
  it('an end write lost to a database cut is retried, the lease renewed meanwhile, until stored', async () => {
    const r = rig();
    const { customer } = await upToCustomerRinging(r);
    r.store.finishFailures = 6;
    r.session.onEvent(destroyed(customer, 17));
    await settle();
    // The agent is told (busy); the prompt ends; the attempt ends.
    const told = r.engine.control.requests
      .filter((l) => l.startsWith('play '))
      .at(-1)!
      .split(' ')[2];
    r.session.onEvent({ type: 'PlaybackFinished', playback: { id: told, media_uri: '', state: 'done' } } as AriEvent);
    await settle();
    expect(r.engine.agentsReleased).to.deep.equal([`${FAKE_AGENT.id} talked=true`]);
    expect(r.ended).to.deep.equal([]);
    const renewalsBefore = r.store.renewals.length;
    // 250 + 500 + 1000 + 2000 + 4000 + 5000 ms of retries: longer than a lease third, so the lease is renewed.
    for (let i = 0; i < 200 && r.store.finished.length === 0; i++) {
      r.engine.clock.advance(250);
      await settle();
    }
    expect(r.store.finished.map((f) => [f.outcome, f.nextStatus, f.countsAsAttempt])).to.deep.equal([['busy', 'pending', true]]);
    expect(r.store.renewals.length).to.be.greaterThan(renewalsBefore);
    expect(r.ended.map((c) => c.status)).to.deep.equal(['pending']);
    // Stored: the lease is no longer renewed.
    const renewalsAtEnd = r.store.renewals.length;
    r.engine.clock.advance(60_000);
    await settle();
    expect(r.store.renewals.length).to.equal(renewalsAtEnd);
  });

  it('an agent who hangs up while told the outcome ends the attempt (no PlaybackFinished comes)', async () => {
    const r = rig();
    const { agent, customer } = await upToCustomerRinging(r);
    r.session.onEvent(destroyed(customer, 19));
    await settle();
    r.session.onEvent(destroyed(agent, 16));
    await settle();
    expect(r.store.finished.map((f) => f.outcome)).to.deep.equal(['no_answer']);
    expect(r.ended.map((c) => c.status)).to.deep.equal(['pending']);
  });

  it('an agent leg whose events were all lost (WebSocket gap) and that Asterisk no longer has ends the attempt', async () => {
    const r = rig();
    await r.session.start();
    const agent = originated(r.engine, 'cb-agent');
    r.listed.push(agent);
    // Still listed at the first look: it is waited for.
    r.engine.clock.advance((r.engine.config.callback.agentRingTimeoutSec + 3) * 1000);
    await settle();
    expect(r.ended).to.deep.equal([]);
    r.listed.length = 0;
    r.engine.clock.advance((r.engine.config.callback.agentRingTimeoutSec + 3) * 1000);
    await settle();
    expect(r.store.finished.map((f) => [f.outcome, f.countsAsAttempt])).to.deep.equal([['agent_no_answer', false]]);
    expect(r.engine.agentsReleased).to.deep.equal([`${FAKE_AGENT.id} talked=false`]);
    expect(r.ended.map((c) => c.status)).to.deep.equal(['pending']);
  });

  it('an agent leg answered in a WebSocket gap (Up, its StasisStart lost) is taken as answered: the agent hears the whisper', async () => {
    const r = rig();
    await r.session.start();
    const agent = originated(r.engine, 'cb-agent');
    r.listed.push(agent);
    r.answered.add(agent);
    expect(r.engine.control.played((l) => l.startsWith(`play ${agent}`))).to.equal(false);
    r.engine.clock.advance((r.engine.config.callback.agentRingTimeoutSec + 3) * 1000);
    await settle();
    expect(r.engine.control.played((l) => l.startsWith(`play ${agent}`))).to.equal(true);
    expect(r.session.isPreviewing).to.equal(true);
    expect(r.ended).to.deep.equal([]);
  });
});
