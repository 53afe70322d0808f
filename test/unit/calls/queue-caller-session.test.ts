import { expect } from 'chai';
import { AriEvent } from '../../../src/ari/ari-events';
import { PROMPTS } from '../../../src/calls/prompts';
import { QueueCallerSession } from '../../../src/calls/queue-caller-session';
import { callerChannel, FakeEngine, settle } from './fake-call-context';

/**
 * QueueCallerSession by itself, against a fake engine and a fake ARI (fake-call-context.ts): the
 * verbs it runs, how many calls a press 1 makes up into the engine, and that nothing (timer,
 * prompt, outside leg, routing entry) outlives the call.
 */

const CALLER = 'caller-1';
const dtmf = (digit: string): AriEvent => ({ type: 'ChannelDtmfReceived', channel: callerChannel(CALLER), digit, duration_ms: 100 });
const stasisEnd = (id: string): AriEvent => ({ type: 'StasisEnd', channel: callerChannel(id) });
const legUp = (id: string): AriEvent => ({ type: 'ChannelStateChange', channel: { ...callerChannel(id), state: 'Up' } });

async function queuedCaller(engine: FakeEngine): Promise<QueueCallerSession> {
  const session = new QueueCallerSession(engine.ctx, callerChannel(CALLER), engine.queue, undefined, 1);
  engine.control.deliver = (e) => session.onEvent(e);
  await session.start();
  expect(session.state).to.be.oneOf(['waiting', 'overflowing']);
  return session;
}

/** Moves the clock on until the offer is played (its schedule: initialDelaySec). */
async function offerPlayed(engine: FakeEngine): Promise<void> {
  for (let i = 0; i < 20 && !engine.control.played((l) => l.includes(PROMPTS.offer)); i++) {
    engine.clock.advance(100);
    await settle();
  }
  expect(
    engine.control.played((l) => l.includes(PROMPTS.offer)),
    engine.control.requests.join('\n'),
  ).to.equal(true);
}

async function until(what: string, pred: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !pred(); i++) await settle();
  expect(pred(), what).to.equal(true);
}

describe('unit: QueueCallerSession against a fake engine', () => {
  it('press 1 makes at most 3 calls up into the engine between the digit and the confirmation', async () => {
    const engine = new FakeEngine();
    const session = await queuedCaller(engine);
    await offerPlayed(engine);
    engine.portCalls.length = 0;
    session.onEvent(dtmf('1'));
    await until('confirmation played', () => engine.control.played((l) => l.includes(PROMPTS.confirm)));
    // Today: the number guard, the stored place closed, the caller's item made a callback.
    expect(engine.portCalls, engine.portCalls.join(', ')).to.have.length.at.most(3);
    expect(engine.portCalls).to.have.members(['policy.checkCallbackNumber', 'places.close', 'queues.convertToCallback']);
    expect(session.state).to.equal('confirming');
    expect(engine.milestones.find((m) => m.name === 'callback_stored')?.data.position).to.equal(1);
  });

  it("the confirmation is played only after the offer has really ended (its PlaybackFinished), not on the stop's answer", async () => {
    const engine = new FakeEngine();
    const session = await queuedCaller(engine);
    await offerPlayed(engine);
    // The stop is answered but Asterisk is still saying the offer: no PlaybackFinished yet.
    const deliver = engine.control.deliver;
    const held: AriEvent[] = [];
    engine.control.deliver = (e) => held.push(e);
    session.onEvent(dtmf('1'));
    await settle(30);
    expect(engine.control.requests.some((r) => r.startsWith('stop '))).to.equal(true);
    expect(
      engine.control.played((l) => l.includes(PROMPTS.confirm)),
      'confirmed before the offer ended',
    ).to.equal(false);
    for (const e of held) deliver(e);
    await until('confirmation played', () => engine.control.played((l) => l.includes(PROMPTS.confirm)));
  });

  it('a booking that fails is never confirmed: the caller waits on at its place', async () => {
    const engine = new FakeEngine({ booking: 'failed' });
    const session = await queuedCaller(engine);
    await offerPlayed(engine);
    session.onEvent(dtmf('1'));
    await until('told the booking failed', () => engine.control.played((l) => l.includes(PROMPTS.storeFailed)));
    expect(engine.control.played((l) => l.includes(PROMPTS.confirm))).to.equal(false);
    expect(session.state).to.equal('waiting');
  });

  it('the caller hanging up ends every verb: no timer, no routing entry, not queued', async () => {
    const engine = new FakeEngine();
    const session = await queuedCaller(engine);
    await offerPlayed(engine);
    session.onEvent(stasisEnd(CALLER));
    await settle(30);
    expect(session.state).to.equal('ended');
    expect(engine.clock.live.size, 'timers left').to.equal(0);
    expect([...engine.bound.keys()]).to.deep.equal([]);
    expect(engine.queued.size).to.equal(0);
    // The channel is gone: its playbacks end with it, no stop is sent after the call.
    expect(engine.control.requests.filter((r) => r.startsWith('stop '))).to.deep.equal([]);
  });

  it('press 2 then a hang-up while typing: the silence timer goes with the call', async () => {
    const engine = new FakeEngine();
    const session = await queuedCaller(engine);
    await offerPlayed(engine);
    session.onEvent(dtmf('2'));
    await until('asked for the number', () => engine.control.played((l) => l.includes(PROMPTS.enterNumber)));
    expect(session.state).to.equal('entering_number');
    expect(engine.clock.live.size).to.be.greaterThan(0);
    session.onEvent(stasisEnd(CALLER));
    await settle(30);
    expect(engine.clock.live.size, 'timers left').to.equal(0);
  });

  describe('overflow verb external: an outside number for the caller', () => {
    const external = { index: 0, action: { kind: 'external' as const, number: '+12125550123' }, reasons: [] };

    it('the caller hanging up while the outside number rings hangs the outside leg up', async () => {
      const engine = new FakeEngine({ overflow: external });
      const session = await queuedCaller(engine);
      await until('outside number dialled', () => engine.control.requests.some((r) => r.startsWith('dial external-')));
      expect(session.state).to.equal('overflowing');
      const legId = engine.control.requests.find((r) => r.startsWith('dial external-'))!.split(' ')[1];
      expect(engine.bound.has(legId)).to.equal(true);
      session.onEvent(stasisEnd(CALLER));
      await settle(30);
      expect(engine.control.requests, 'outside leg hung up').to.include(`hangup ${legId}`);
      expect([...engine.bound.keys()], 'routing entries left').to.deep.equal([]);
      expect(engine.clock.live.size, 'timers left').to.equal(0);
      // Answering later finds no caller: nothing is bridged.
      session.onEvent(legUp(legId));
      await settle(10);
      expect(engine.control.requests.filter((r) => r.startsWith('addToBridge call-'))).to.deep.equal([]);
    });

    it('answered: caller and outside number share one mixing bridge, and the end hangs the leg up once', async () => {
      const engine = new FakeEngine({ overflow: external });
      const session = await queuedCaller(engine);
      await until('outside number dialled', () => engine.control.requests.some((r) => r.startsWith('dial external-')));
      const legId = engine.control.requests.find((r) => r.startsWith('dial external-'))!.split(' ')[1];
      session.onEvent(legUp(legId));
      await until('bridged', () => engine.control.requests.some((r) => r.startsWith('addToBridge call-')));
      expect(session.state).to.equal('transferred');
      expect(engine.control.requests, engine.control.requests.join('\n')).to.include(`addToBridge call-${CALLER} ${CALLER},${legId}`);
      session.onEvent(stasisEnd(CALLER));
      await settle(30);
      expect(engine.control.requests.filter((r) => r === `hangup ${legId}`)).to.have.length(1);
      expect([...engine.bound.keys()]).to.deep.equal([]);
    });
  });
});
