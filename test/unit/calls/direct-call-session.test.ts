import { expect } from 'chai';
import { AriEvent, HANGUP_CAUSE } from '../../../src/ari/ari-events';
import { AriRequestError } from '../../../src/ari/call-control';
import { CallContext } from '../../../src/calls/call-context';
import { DirectCallSession } from '../../../src/calls/direct-call-session';
import { PROMPTS } from '../../../src/calls/prompts';
import { AgentState } from '../../../src/domain';
import { CallbackStore, DirectCallRecord } from '../../../src/store/callback-store';
import { callerChannel, FakeEngine, settle } from './fake-call-context';

/**
 * DirectCallSession by itself, against the fake engine and fake ARI of fake-call-context.ts: the
 * agent's leg, the caller and agent as a pair once bridged, the offers of a callback owed by the
 * agent, and that nothing (timer, routing entry, agent held busy) outlives the call.
 */

const CALLER = 'direct-caller-1';
const dtmf = (digit: string): AriEvent => ({ type: 'ChannelDtmfReceived', channel: callerChannel(CALLER), digit, duration_ms: 100 });
const stasisEnd = (id: string): AriEvent => ({ type: 'StasisEnd', channel: callerChannel(id) });
const agentAnswered = (id: string): AriEvent => ({ type: 'StasisStart', channel: { ...callerChannel(id), state: 'Up' }, args: [] });
const destroyed = (id: string, cause: number): AriEvent => ({ type: 'ChannelDestroyed', channel: callerChannel(id), cause, cause_txt: '' });
const finished = (playbackId: string): AriEvent => ({
  type: 'PlaybackFinished',
  playback: { id: playbackId, media_uri: '', target_uri: '', state: 'done' },
});

const AGENT: AgentState = {
  id: 'agent-7',
  name: 'Grace',
  endpoint: 'PJSIP/1007',
  queues: [],
  personalNumber: '7007',
  loggedIn: true,
  paused: false,
  deviceState: 'NOT_INUSE',
  onPluginCall: false,
  wrapUpUntil: 0,
  idleSince: 0,
};

interface DirectRig {
  engine: FakeEngine;
  session: DirectCallSession;
  records: DirectCallRecord[];
  busy: string[];
  released: { talked: boolean; handleSec?: number }[];
  /** The agent leg's channel id (from the originate), once rung. */
  agentChannel: () => string;
}

async function directCall(
  opts: {
    overflow?: boolean;
    booking?: 'stored' | 'failed';
    agent?: Partial<AgentState>;
    engine?: FakeEngine;
    /** The first record write waits for this (a slow database). */
    firstWrite?: Promise<void>;
  } = {},
): Promise<DirectRig> {
  const engine = opts.engine ?? new FakeEngine({ booking: opts.booking });
  const records: DirectCallRecord[] = [];
  const busy: string[] = [];
  const released: { talked: boolean; handleSec?: number }[] = [];
  const base = engine.ctx;
  // The fake's store is a plain object with the booking statement; a direct call also writes its record.
  const recordDirectCall = (row: DirectCallRecord): Promise<void> => {
    records.push(row);
    return records.length === 1 && opts.firstWrite ? opts.firstWrite : Promise.resolve();
  };
  const store = { ...base.store, recordDirectCall } as CallbackStore;
  const ctx: CallContext = {
    ...base,
    store,
    agents: {
      ...base.agents,
      busy: (id) => void busy.push(id),
      release: (_id, o) => void released.push(o),
      directOverflowFor: () => opts.overflow ?? false,
    },
    policy: { ...base.policy, checkOwedCallbackNumber: (_agent, n) => ({ ok: true, e164: n }) },
  };
  const session = new DirectCallSession(ctx, callerChannel(CALLER), { ...AGENT, ...opts.agent }, '7007');
  engine.control.deliver = (e) => session.onEvent(e);
  // The ringing tone the caller hears while the agent's phone rings (not in the shared fake).
  Object.assign(engine.control, { ring: (id: string) => Promise.resolve(void engine.control.requests.push(`ring ${id}`)) });
  // A known unavailable agent: start() goes on to the message, which ends only with its PlaybackFinished.
  const started = session.start();
  await settle();
  void started.catch((e: unknown) => expect.fail(String(e)));
  const agentChannel = (): string => {
    const line = engine.control.requests.find((r) => r.startsWith('originate '));
    expect(line, engine.control.requests.join('\n')).to.not.equal(undefined);
    return (line as string).split(' ')[1];
  };
  return { engine, session, records, busy, released, agentChannel };
}

/** The agent's phone did not answer: the caller is offered a callback owed by the agent. */
async function offering(rig: DirectRig): Promise<void> {
  rig.session.onEvent(destroyed(rig.agentChannel(), HANGUP_CAUSE.NO_ANSWER));
  await settle();
  expect(rig.session.state).to.equal('offering');
}

const offersPlayed = (rig: DirectRig): string[] =>
  rig.engine.control.requests.filter((r) => r.startsWith('play ') && r.includes(PROMPTS.directOffer));
const playbackIdOf = (line: string): string => line.split(' ')[2];

async function until(what: string, pred: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !pred(); i++) await settle();
  expect(pred(), what).to.equal(true);
}

function nothingOutlives(rig: DirectRig): void {
  expect(rig.session.state).to.equal('ended');
  expect([...rig.engine.bound.keys()], 'routing entries left').to.deep.equal([]);
  expect(rig.engine.clock.live.size, 'timers left').to.equal(0);
  expect(rig.released.length, 'the agent released as often as made busy').to.equal(rig.busy.length);
}

describe('unit: DirectCallSession against a fake engine', () => {
  it('rings the agent with the agent leg routed to the session', async () => {
    const rig = await directCall();
    expect(rig.session.state).to.equal('ringing_agent');
    expect(rig.busy).to.deep.equal([AGENT.id]);
    expect([...rig.engine.bound.keys()]).to.have.members([CALLER, rig.agentChannel()]);
  });

  it('the caller hangs up while the agent rings: the agent leg is hung up and no longer routed', async () => {
    const rig = await directCall();
    const agent = rig.agentChannel();
    rig.session.onEvent(stasisEnd(CALLER));
    await settle();
    expect(rig.engine.control.requests).to.include(`hangup ${agent}`);
    expect(rig.released).to.deep.equal([{ talked: false }]);
    expect(rig.records.at(-1)).to.include({ outcome: 'caller_abandoned', reason: 'caller_hung_up' });
    nothingOutlives(rig);
    // The agent answers in the race anyway: nothing is bridged, nothing sent twice.
    rig.session.onEvent(agentAnswered(agent));
    rig.session.onEvent(destroyed(agent, HANGUP_CAUSE.NORMAL_CLEARING));
    await settle();
    expect(rig.engine.control.requests.filter((r) => r.startsWith('createBridge') || r.startsWith('addToBridge'))).to.deep.equal([]);
    expect(rig.engine.control.requests.filter((r) => r === `hangup ${agent}`)).to.have.length(1);
    expect(rig.released).to.have.length(1);
  });

  it('the caller hangs up while the first record is written: the agent is not rung, not held, not routed', async () => {
    let written = (): void => undefined;
    const firstWrite = new Promise<void>((resolve) => (written = resolve));
    const rig = await directCall({ firstWrite });
    rig.session.onEvent(stasisEnd(CALLER));
    written();
    await settle(30);
    expect(rig.engine.control.requests.filter((r) => r.startsWith('originate'))).to.deep.equal([]);
    expect(rig.busy).to.deep.equal([]);
    nothingOutlives(rig);
  });

  it('the agent answers: the caller is answered and both are bridged', async () => {
    const rig = await directCall();
    const agent = rig.agentChannel();
    rig.session.onEvent(agentAnswered(agent));
    await settle();
    expect(rig.session.state).to.equal('bridged');
    const reqs = rig.engine.control.requests;
    expect(reqs).to.include(`answer ${CALLER}`);
    expect(reqs.find((r) => r.startsWith('addToBridge'))).to.match(new RegExp(`${CALLER},${agent}$`));
    expect(rig.engine.milestones.map((m) => m.name)).to.include('caller_connected');
    expect(rig.records.at(-1)?.outcome).to.equal('answered');
  });

  it("the agent's StasisStart before the originate's answer: bridged, and the agent leg is not hung up", async () => {
    const engine = new FakeEngine();
    const originate = engine.control.originate;
    engine.control.originate = async (req) => {
      await originate(req);
      engine.control.deliver(agentAnswered(req.channelId));
      await settle();
    };
    const rig = await directCall({ engine });
    await settle();
    expect(rig.session.state).to.equal('bridged');
    expect(rig.engine.control.requests).to.not.include(`hangup ${rig.agentChannel()}`);
  });

  it('the agent hangs up after talking: the caller is hung up once, the agent released as talked, nothing left', async () => {
    const rig = await directCall();
    const agent = rig.agentChannel();
    rig.session.onEvent(agentAnswered(agent));
    await settle();
    rig.engine.clock.advance(42_000);
    rig.session.onEvent(destroyed(agent, HANGUP_CAUSE.NORMAL_CLEARING));
    await settle();
    rig.session.onEvent(stasisEnd(CALLER));
    await settle();
    const reqs = rig.engine.control.requests;
    expect(reqs.filter((r) => r === `hangup ${CALLER}`)).to.have.length(1);
    expect(reqs.filter((r) => r === `hangup ${agent}`)).to.deep.equal([]);
    expect(reqs.some((r) => r.startsWith('destroyBridge'))).to.equal(true);
    expect(rig.released).to.deep.equal([{ talked: true, handleSec: 42 }]);
    expect(rig.records.at(-1)).to.include({ outcome: 'answered', reason: 'agent_hung_up' });
    nothingOutlives(rig);
  });

  it('the caller hangs up while bridged: the pair hangs the agent up', async () => {
    const rig = await directCall();
    const agent = rig.agentChannel();
    rig.session.onEvent(agentAnswered(agent));
    await settle();
    rig.session.onEvent({ type: 'ChannelHangupRequest', channel: callerChannel(CALLER), cause: HANGUP_CAUSE.NORMAL_CLEARING });
    rig.session.onEvent(stasisEnd(CALLER));
    await settle();
    const reqs = rig.engine.control.requests;
    expect(reqs.filter((r) => r === `hangup ${agent}`)).to.have.length(1);
    expect(reqs.filter((r) => r === `hangup ${CALLER}`)).to.deep.equal([]);
    expect(rig.records.at(-1)).to.include({ outcome: 'answered', reason: 'caller_hung_up' });
    nothingOutlives(rig);
  });

  it('no answer and no direct overflow: the message, then the plugin hangs up', async () => {
    const rig = await directCall();
    rig.session.onEvent(destroyed(rig.agentChannel(), HANGUP_CAUSE.NO_ANSWER));
    await until('message played', () => rig.engine.control.played((l) => l.includes(PROMPTS.agentUnavailable)));
    expect(rig.session.state).to.equal('closing');
    const line = rig.engine.control.requests.find((r) => r.startsWith('play ') && r.includes(PROMPTS.agentUnavailable)) as string;
    rig.session.onEvent(finished(playbackIdOf(line)));
    await until('caller hung up', () => rig.engine.control.requests.includes(`hangup ${CALLER}`));
    rig.session.onEvent(stasisEnd(CALLER));
    await settle();
    expect(rig.records.at(-1)).to.include({ outcome: 'no_answer', reason: 'ended_after_message' });
    nothingOutlives(rig);
  });

  it('a refused offer play does not end the offers: the next offer still comes at the interval', async () => {
    const rig = await directCall({ overflow: true });
    const control = rig.engine.control;
    const play = control.play;
    let refused = 0;
    control.play = (id, media, playbackId) => {
      if (refused === 0 && media.includes(PROMPTS.directOffer)) {
        refused += 1;
        control.requests.push(`play-refused ${id} ${playbackId}`);
        return Promise.reject(new AriRequestError('Internal Server Error', 'server', 'play'));
      }
      return play(id, media, playbackId);
    };
    await offering(rig);
    await settle();
    expect(refused).to.equal(1);
    expect(rig.engine.clock.live.size, 'the next offer is scheduled').to.equal(1);
    rig.engine.clock.advance(rig.engine.config.direct.offerIntervalSec * 1000);
    await until('the second offer played', () => offersPlayed(rig).length === 1);
    expect(rig.session.state).to.equal('offering');
  });

  it('press 1 → booked → confirmation after the offer really ended → the plugin hangs up', async () => {
    const rig = await directCall({ overflow: true });
    await offering(rig);
    await until('offer played', () => offersPlayed(rig).length === 1);
    // The stop is answered but Asterisk still says the offer: no PlaybackFinished yet.
    const held: AriEvent[] = [];
    rig.engine.control.deliver = (e) => held.push(e);
    rig.session.onEvent(dtmf('1'));
    await settle(30);
    expect(rig.session.state).to.equal('storing');
    expect(rig.engine.control.requests.some((r) => r.startsWith('stop '))).to.equal(true);
    expect(
      rig.engine.control.played((l) => l.includes(PROMPTS.confirm)),
      'confirmed before the offer ended',
    ).to.equal(false);
    for (const e of held) rig.session.onEvent(e);
    await until('confirmation played', () => rig.engine.control.played((l) => l.includes(PROMPTS.confirm)));
    expect(rig.session.state).to.equal('closing');
    expect(rig.engine.milestones.map((m) => m.name)).to.include.members(['callback_stored', 'confirmation_started']);
    const confirmation = rig.engine.control.requests.find((r) => r.startsWith('play ') && r.includes(PROMPTS.confirm)) as string;
    expect(rig.engine.control.requests).to.not.include(`hangup ${CALLER}`);
    rig.session.onEvent(finished(playbackIdOf(confirmation)));
    await until('caller hung up', () => rig.engine.control.requests.includes(`hangup ${CALLER}`));
    rig.session.onEvent(stasisEnd(CALLER));
    await settle();
    expect(rig.records.at(-1)).to.include({ outcome: 'callback_requested', reason: 'ended_after_confirmation' });
    nothingOutlives(rig);
  });

  it('a booking that fails is never confirmed: the offers go on', async () => {
    const rig = await directCall({ overflow: true, booking: 'failed' });
    await offering(rig);
    await until('offer played', () => offersPlayed(rig).length === 1);
    rig.session.onEvent(dtmf('1'));
    await until('store-failed played', () => rig.engine.control.played((l) => l.includes(PROMPTS.storeFailed)));
    expect(rig.session.state).to.equal('offering');
    expect(rig.engine.control.played((l) => l.includes(PROMPTS.confirm))).to.equal(false);
  });

  it('the caller hangs up during the booking: nothing is played after, nothing is left', async () => {
    const rig = await directCall({ overflow: true });
    await offering(rig);
    await until('offer played', () => offersPlayed(rig).length === 1);
    rig.engine.control.deliver = () => undefined; // the offer's end never comes: the caller is gone
    rig.session.onEvent(dtmf('1'));
    rig.session.onEvent(stasisEnd(CALLER));
    await settle(30);
    expect(rig.engine.control.played((l) => l.includes(PROMPTS.confirm))).to.equal(false);
    nothingOutlives(rig);
  });

  it('offered enough times: the message, then the end, with no timer left', async () => {
    const rig = await directCall({ overflow: true });
    await offering(rig);
    const { maxOffers, offerIntervalSec } = rig.engine.config.direct;
    for (let n = 1; n <= maxOffers; n++) {
      await until(`offer ${n} played`, () => offersPlayed(rig).length === n);
      rig.session.onEvent(finished(playbackIdOf(offersPlayed(rig)[n - 1])));
      await settle();
      rig.engine.clock.advance(offerIntervalSec * 1000);
      await settle();
    }
    await until('message played', () => rig.engine.control.played((l) => l.includes(PROMPTS.agentUnavailable)));
    expect(rig.session.state).to.equal('closing');
    rig.session.onEvent(stasisEnd(CALLER));
    await settle();
    expect(rig.records.at(-1)).to.include({ reason: 'offer_not_taken' });
    nothingOutlives(rig);
  });

  it('an agent known to be logged out is not rung', async () => {
    const rig = await directCall({ agent: { loggedIn: false } });
    expect(rig.engine.control.requests.some((r) => r.startsWith('originate'))).to.equal(false);
    expect(rig.busy).to.deep.equal([]);
    expect(rig.session.state).to.equal('closing');
  });
});

/**
 * The agent answers but is not connected: the caller must be told, or offered a callback, as when
 * the agent does not answer (fuzzer seed 18 --no-chaos, scenarios 8, 79, 106, 206: the caller was
 * hung up in silence).
 */
describe('unit: a direct call whose agent answers but is not connected', () => {
  it('the agent answers and hangs up before the bridge: the caller hears the message, the agent is released', async () => {
    const rig = await directCall();
    const agent = rig.agentChannel();
    rig.engine.control.gone.add(agent);
    rig.session.onEvent(agentAnswered(agent));
    rig.session.onEvent(destroyed(agent, HANGUP_CAUSE.NORMAL_CLEARING));
    await until('message played', () => rig.engine.control.played((l) => l.includes(PROMPTS.agentUnavailable)));
    expect(rig.engine.control.requests, 'caller hung up in silence').to.not.include(`hangup ${CALLER}`);
    expect(rig.released).to.deep.equal([{ talked: false }]);
    expect(rig.engine.milestones.map((m) => m.name)).to.not.include('caller_connected');
    const line = rig.engine.control.requests.find((r) => r.startsWith('play ') && r.includes(PROMPTS.agentUnavailable)) as string;
    rig.session.onEvent(finished(playbackIdOf(line)));
    await until('caller hung up', () => rig.engine.control.requests.includes(`hangup ${CALLER}`));
    rig.session.onEvent(stasisEnd(CALLER));
    await settle();
    expect(rig.records.at(-1)).to.include({ outcome: 'no_answer', reason: 'ended_after_message' });
    nothingOutlives(rig);
  });

  it('with direct overflow: the caller is offered a callback owed by the agent', async () => {
    const rig = await directCall({ overflow: true });
    const agent = rig.agentChannel();
    rig.engine.control.gone.add(agent);
    rig.session.onEvent(agentAnswered(agent));
    rig.session.onEvent(destroyed(agent, HANGUP_CAUSE.NORMAL_CLEARING));
    await until('offered', () => offersPlayed(rig).length > 0);
    expect(rig.session.state).to.equal('offering');
    rig.session.onEvent(stasisEnd(CALLER));
    await settle();
    nothingOutlives(rig);
  });

  it('a bridge Asterisk refuses twice: the agent leg is hung up, the bridge destroyed, the caller told', async () => {
    const rig = await directCall();
    const agent = rig.agentChannel();
    const add = (l: string): boolean => l.startsWith('addToBridge direct-bridge-');
    rig.engine.control.failOnce.push(add, add);
    rig.session.onEvent(agentAnswered(agent));
    await until('message played', () => rig.engine.control.played((l) => l.includes(PROMPTS.agentUnavailable)));
    const reqs = rig.engine.control.requests;
    expect(reqs.filter(add)).to.have.length(2);
    expect(reqs).to.include(`hangup ${agent}`);
    expect(reqs.some((r) => r.startsWith('destroyBridge direct-bridge-'))).to.equal(true);
    expect(rig.released).to.deep.equal([{ talked: false }]);
    rig.session.onEvent(stasisEnd(CALLER));
    await settle();
    expect(rig.records.at(-1)).to.include({ outcome: 'failed', reason: 'caller_hung_up' });
    nothingOutlives(rig);
  });

  it('a bridge refused once is tried again: bridged', async () => {
    const rig = await directCall();
    rig.engine.control.failOnce.push((l) => l.startsWith('createBridge direct-bridge-'));
    rig.session.onEvent(agentAnswered(rig.agentChannel()));
    await until('bridged', () => rig.session.state === 'bridged');
    expect(rig.records.at(-1)?.outcome).to.equal('answered');
  });
});
