import { expect } from 'chai';
import { AriEvent } from '../../../src/ari/ari-events';
import { PROMPTS } from '../../../src/calls/prompts';
import { QueueCallerSession } from '../../../src/calls/queue-caller-session';
import { callerChannel, FAKE_AGENT, FakeEngine, settle } from './fake-call-context';

/**
 * A live caller's connection to an agent (agent-connection.ts), against a fake engine and a fake
 * ARI: the caller is the agent's only once both are in the mixing bridge. An agent who answers
 * and leaves before that, or a bridge Asterisk refuses, must not cost the caller its call or its
 * place (fuzzer seed 18, --no-chaos, scenarios 10, 45, 74, 94 and 192: the caller was hung up in
 * silence).
 */

const CALLER = 'caller-1';
const stasisStart = (id: string): AriEvent => ({ type: 'StasisStart', channel: { ...callerChannel(id), state: 'Up' }, args: [] });
const hangupRequest = (id: string): AriEvent => ({ type: 'ChannelHangupRequest', channel: callerChannel(id) });
const stasisEnd = (id: string): AriEvent => ({ type: 'StasisEnd', channel: callerChannel(id) });

async function until(what: string, pred: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !pred(); i++) await settle();
  expect(pred(), what).to.equal(true);
}

/** A queued caller whose turn has come: the agent's phone rings. Returns the agent's leg id. */
async function agentRinging(engine: FakeEngine): Promise<{ session: QueueCallerSession; legId: string }> {
  const session = new QueueCallerSession(engine.ctx, callerChannel(CALLER), engine.queue, undefined, 1);
  engine.control.deliver = (e) => session.onEvent(e);
  await session.start();
  await session.connectToAgent(FAKE_AGENT.id);
  expect(session.state).to.equal('connecting');
  const legId = engine.control.requests.find((r) => r.startsWith('originate '))!.split(' ')[1];
  expect(engine.bound.has(legId)).to.equal(true);
  return { session, legId };
}

function callerHungUp(engine: FakeEngine): boolean {
  return engine.control.requests.includes(`hangup ${CALLER}`);
}

describe('unit: a queue caller connected to an agent', () => {
  it('answered: one mixing bridge for both, the place closed as connected; the agent hanging up ends the call', async () => {
    const engine = new FakeEngine({ agent: true });
    const { session, legId } = await agentRinging(engine);
    session.onEvent(stasisStart(legId));
    await until('bridged', () => session.state === 'bridged');
    const requests = engine.control.requests;
    expect(requests).to.include(`addToBridge call-${CALLER} ${CALLER},${legId}`);
    expect(engine.closedPlaces).to.deep.equal([`entry-${CALLER} connected`]);
    expect(engine.queued.size).to.equal(0);
    // The caller leaves its holding bridge only once the mixing bridge has it.
    const added = requests.indexOf(`addToBridge call-${CALLER} ${CALLER},${legId}`);
    const holdLeft = requests.findIndex((r, i) => i > 0 && r.startsWith('destroyBridge ') && !r.includes('call-'));
    if (holdLeft >= 0) expect(holdLeft, requests.join('\n')).to.be.greaterThan(added);
    session.onEvent(hangupRequest(legId));
    await until('ended', () => session.state === 'ended');
    expect(engine.agentsReleased).to.deep.equal([`${FAKE_AGENT.id} talked=true`]);
  });

  it('the agent answers and hangs up before the bridge: the caller is not hung up and waits on at its place', async () => {
    const engine = new FakeEngine({ agent: true });
    const { session, legId } = await agentRinging(engine);
    // Asterisk already has no such channel when the bridge request comes.
    engine.control.gone.add(legId);
    session.onEvent(stasisStart(legId));
    session.onEvent(hangupRequest(legId));
    await until('back to waiting', () => session.state === 'waiting');
    expect(callerHungUp(engine), 'caller hung up').to.equal(false);
    expect(engine.queued.has(CALLER), 'still queued').to.equal(true);
    expect(engine.closedPlaces, 'place kept').to.deep.equal([]);
    expect(engine.agentsReleased).to.deep.equal([`${FAKE_AGENT.id} talked=false`]);
    expect(engine.declined).to.deep.equal([`${CALLER} ${FAKE_AGENT.id}`]);
    expect(engine.bound.has(legId), 'agent leg still routed').to.equal(false);
    expect(engine.milestones.some((m) => m.name === 'caller_connected')).to.equal(false);
    // The wait goes on: the offer is played again.
    const offersBefore = engine.control.requests.filter((r) => r.startsWith('play ') && r.includes(PROMPTS.offer)).length;
    for (let i = 0; i < 20; i++) {
      engine.clock.advance(200);
      await settle();
    }
    const offersAfter = engine.control.requests.filter((r) => r.startsWith('play ') && r.includes(PROMPTS.offer)).length;
    expect(offersAfter, engine.control.requests.join('\n')).to.be.greaterThan(offersBefore);
    // The caller can still be connected to the next agent.
    await session.connectToAgent(FAKE_AGENT.id);
    expect(session.state).to.equal('connecting');
    session.onEvent(stasisEnd(CALLER));
    await until('ended', () => session.state === 'ended');
    expect(engine.clock.live.size, 'timers left').to.equal(0);
    expect([...engine.bound.keys()]).to.deep.equal([]);
  });

  it('a bridge refused with "channel not found" is not tried again (its hang-up lost in an event gap): the caller waits on at once', async () => {
    const engine = new FakeEngine({ agent: true });
    const { session, legId } = await agentRinging(engine);
    engine.control.gone.add(legId);
    session.onEvent(stasisStart(legId));
    await until('back to waiting', () => session.state === 'waiting');
    const tries = engine.control.requests.filter((r) => r.startsWith('addToBridge call-'));
    expect(tries, 'one bridge request').to.have.length(1);
    expect(engine.agentsReleased).to.deep.equal([`${FAKE_AGENT.id} talked=false`]);
    session.onEvent(stasisEnd(CALLER));
    await until('ended', () => session.state === 'ended');
  });

  it('the agent hangs up once in the bridge, before the bridge request is answered: served, then ended as agent_hung_up', async () => {
    const engine = new FakeEngine({ agent: true });
    const { session, legId } = await agentRinging(engine);
    const add = engine.control.addToBridge;
    engine.control.addToBridge = async (id, channels) => {
      await add(id, channels);
      session.onEvent(hangupRequest(legId));
    };
    session.onEvent(stasisStart(legId));
    await until('ended', () => session.state === 'ended');
    expect(engine.closedPlaces).to.deep.equal([`entry-${CALLER} connected`]);
    expect(engine.agentsReleased).to.deep.equal([`${FAKE_AGENT.id} talked=true`]);
    expect([...engine.bound.keys()]).to.deep.equal([]);
  });

  it('a bridge Asterisk refuses once is tried again while the agent waits on the line', async () => {
    const engine = new FakeEngine({ agent: true });
    const { session, legId } = await agentRinging(engine);
    engine.control.failOnce.push((l) => l.startsWith(`createBridge call-${CALLER}`));
    session.onEvent(stasisStart(legId));
    await until('bridged', () => session.state === 'bridged');
    expect(engine.control.requests.filter((r) => r.startsWith(`createBridge call-${CALLER}`))).to.have.length(2);
  });

  it('a bridge Asterisk refuses twice: the agent is let go, the caller waits on at its place, nothing left behind', async () => {
    const engine = new FakeEngine({ agent: true });
    const { session, legId } = await agentRinging(engine);
    const add = (l: string): boolean => l.startsWith(`addToBridge call-${CALLER}`);
    engine.control.failOnce.push(add, add);
    session.onEvent(stasisStart(legId));
    await until('back to waiting', () => session.state === 'waiting');
    await settle(10);
    expect(callerHungUp(engine), 'caller hung up').to.equal(false);
    expect(engine.control.requests).to.include(`hangup ${legId}`);
    expect(engine.control.requests).to.include(`destroyBridge call-${CALLER}`);
    expect(engine.queued.has(CALLER)).to.equal(true);
    expect(engine.closedPlaces).to.deep.equal([]);
    expect(engine.agentsReleased).to.deep.equal([`${FAKE_AGENT.id} talked=false`]);
    expect(engine.bound.has(legId)).to.equal(false);
  });

  it('the caller hangs up while the bridge is being made: the agent leg goes, nothing is left routed', async () => {
    const engine = new FakeEngine({ agent: true });
    const { session, legId } = await agentRinging(engine);
    const deliver = engine.control.deliver;
    // The offer's stop is slow: the caller hangs up meanwhile.
    const held: AriEvent[] = [];
    engine.control.deliver = (e) => held.push(e);
    session.onEvent(stasisStart(legId));
    session.onEvent(stasisEnd(CALLER));
    for (const e of held) deliver(e);
    await until('ended', () => session.state === 'ended');
    await settle(20);
    expect(engine.control.requests).to.include(`hangup ${legId}`);
    expect(engine.agentsReleased).to.deep.equal([`${FAKE_AGENT.id} talked=false`]);
    expect([...engine.bound.keys()]).to.deep.equal([]);
    expect(engine.milestones.some((m) => m.name === 'caller_connected')).to.equal(false);
  });
});

describe('unit: a queue caller hanging up while the agent is being rung', () => {
  it("the caller's end comes before the originate's answer: the agent's phone is hung up once it exists", async () => {
    const engine = new FakeEngine({ agent: true });
    const session = new QueueCallerSession(engine.ctx, callerChannel(CALLER), engine.queue, undefined, 1);
    engine.control.deliver = (e) => session.onEvent(e);
    await session.start();
    let created = false;
    let answerOriginate: () => void = () => undefined;
    engine.control.originate = (req) => {
      engine.control.requests.push(`originate ${req.channelId}`);
      return new Promise<void>((r) => (answerOriginate = () => ((created = true), r())));
    };
    // Asterisk has no such channel until the originate is answered: the end's hang-up is a 404.
    const hangup = engine.control.hangup;
    engine.control.hangup = (id) => (id.startsWith('agent-') && !created ? Promise.reject(new Error('Channel not found')) : hangup(id));
    const ringing = session.connectToAgent(FAKE_AGENT.id);
    await settle();
    const legId = engine.control.requests.find((r) => r.startsWith('originate '))!.split(' ')[1];
    session.onEvent(stasisEnd(CALLER));
    await until('ended', () => session.state === 'ended');
    answerOriginate();
    await ringing;
    await settle();
    expect(engine.control.requests, engine.control.requests.join('\n')).to.include(`hangup ${legId}`);
    expect([...engine.bound.keys()]).to.deep.equal([]);
    expect(engine.agentsReleased).to.deep.equal([`${FAKE_AGENT.id} talked=false`]);
  });
});
