/**
 * Replays every recorded real-Asterisk trace (test/fixtures/asterisk-22.10.1/traces) against the simulator with the
 * real ari-client and the scenario driver, and checks the same events arrive in the same order with
 * the same key fields (see test/helpers/simulator-traces.ts for what is compared and filtered).
 */
import { expect } from 'chai';
import WebSocket from 'ws';
import { AriSimulator } from '../../tools/simulator/ari-simulator';
import { connectAri, rawRequest, sleep, ariError, type ConnectedAri } from '../helpers/simulator-ari';
import { actualSignatures, expectedSignatures, loadTrace, requestsWithResponses, segment } from '../helpers/simulator-traces';

const APP = 'direct-callback';
const TIMING = { defaultSoundMs: 80, perDigitMs: 15, ringMs: 2, answerMs: 40, rejectMs: 15, secondsToMs: 20, playbackStopMs: 3 };

type Ev = Record<string, unknown>;
const chanId = (e: Ev): string | undefined => {
  for (const k of ['channel', 'peer']) {
    const c = e[k];
    if (typeof c === 'object' && c !== null && 'id' in c) return String(c.id);
  }
  return undefined;
};
const pbOf = (e: Ev): Record<string, unknown> =>
  typeof e.playback === 'object' && e.playback !== null ? (e.playback as Record<string, unknown>) : {};

/** Events the client received from index `from`, optionally only those about some channel ids (+ bridge/playback events). */
function received(c: ConnectedAri, from = 0, ids?: string[]): Ev[] {
  return c.received.slice(from).filter((e) => {
    if (!ids) return true;
    const id = chanId(e);
    return id === undefined || ids.includes(id);
  });
}

async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('trace replay against the recorded Asterisk 22.10.1 traces', function () {
  this.timeout(15000);
  let sim: AriSimulator;
  let c: ConnectedAri;

  beforeEach(async () => {
    sim = await AriSimulator.start({ user: 'asterisk', password: 'secret', timing: TIMING });
    sim.endpoint('PJSIP/1001').setCallerId({ name: 'Agent 1001', number: '1001' });
    sim.endpoint('PJSIP/1002').setCallerId({ name: 'Agent 1002', number: '1002' });
    c = await connectAri(sim, APP);
  });

  afterEach(async () => {
    c.close();
    const problems = [...sim.eventViolations, ...sim.internalErrors];
    await sim.stop();
    expect(problems, 'invalid events / internal errors').to.deep.equal([]);
  });

  it('a: queue call, holding bridge + MOH, prompt, DTMF 1, confirm, app hangup (no ChannelDestroyed)', async () => {
    const trace = loadTrace('a-queue-press1-confirm-hangup.jsonl');
    const { ari } = c;
    let bridgeId = '';
    ari.on('StasisStart', (e) => {
      void (async () => {
        const id = chanId(e) as string;
        await ari.channels.answer({ channelId: id });
        const b = (await ari.bridges.create({ type: 'holding', bridgeId: 'hold-1', name: 'queue-support-hold' })) as { id: string };
        bridgeId = b.id;
        await ari.bridges.addChannel({ bridgeId, channel: id });
        await ari.bridges.startMoh({ bridgeId, mohClass: 'default' });
        await ari.channels.play({ channelId: id, media: 'sound:queue-callswaiting', lang: 'en', playbackId: 'pb-prompt' });
      })();
    });
    ari.on('ChannelDtmfReceived', (e) => {
      void (async () => {
        await ari.bridges.stopMoh({ bridgeId });
        await ari.channels.play({ channelId: chanId(e), media: 'sound:queue-thankyou', playbackId: 'pb-confirm' });
      })();
    });
    ari.on('PlaybackFinished', (e) => {
      if (pbOf(e).id === 'pb-confirm') void ari.channels.hangup({ channelId: String(pbOf(e).target_uri).slice(8), reason: 'normal' });
    });
    ari.on('StasisEnd', () => {
      void sleep(20).then(() => ari.bridges.destroy({ bridgeId }));
    });
    const call = sim.call({ from: '5559876', name: 'Customer', to: 'queue:support' });
    await call.entered();
    expect(call.channel.dialplan).to.include({ app_name: 'Stasis', app_data: 'direct-callback,queue,support', exten: '5552000' });
    await call.waitForPlayback((m) => m === 'sound:queue-callswaiting', 2000, { until: 'finished' });
    expect(call.mohActive).to.equal(true);
    await call.pressDtmf('1', { durationMs: 280 });
    await call.waitFor('hungup', 2000);
    expect(call.hungUpBy).to.equal('app');
    await waitUntil(() => c.received.some((e) => e.type === 'BridgeDestroyed'), 2000, 'BridgeDestroyed');
    await sleep(30);
    expect(actualSignatures(received(c))).to.deep.equal(expectedSignatures(trace));
    expect(c.received.some((e) => e.type === 'ChannelDestroyed')).to.equal(false);
  });

  it('b: caller BYE during a prompt; REST on the dead channel answers the recorded codes and bodies', async () => {
    const trace = loadTrace('b-caller-bye-during-prompt.jsonl');
    const { ari } = c;
    sim.setMediaDuration('sound:queue-periodic-announce', 5000);
    let racePlay: Promise<string> | null = null;
    ari.on('StasisStart', (e) => {
      void (async () => {
        await ari.channels.answer({ channelId: chanId(e) });
        await ari.channels.play({ channelId: chanId(e), media: 'sound:queue-periodic-announce', playbackId: 'pb-prompt' });
      })();
    });
    ari.on('ChannelHangupRequest', (e) => {
      racePlay = ariError(ari.channels.play({ channelId: chanId(e), media: 'sound:beep', playbackId: 'pb-race' }));
    });
    const call = sim.call({ from: '5559876', name: 'Customer', to: 'queue:support' });
    await call.entered();
    await call.waitForPlayback((m) => m === 'sound:queue-periodic-announce', 2000);
    await sleep(30);
    call.hangup();
    await call.waitFor('hungup');
    await waitUntil(() => c.received.some((e) => e.type === 'StasisEnd'), 2000, 'StasisEnd');
    await sleep(50);
    expect(actualSignatures(received(c))).to.deep.equal(expectedSignatures(segment(trace, 'trace start', ['b: REST calls'])));
    // Assigned in the handler above, which TypeScript does not follow: it would narrow racePlay to null.
    expect(await (racePlay as Promise<string> | null)).to.equal('{"message":"Channel not found"}');
    // the recorded REST calls on the dead channel / finished playback, replayed with our ids
    const deadId = trace.find((l) => l.type === 'StasisStart')?.raw as Ev;
    const traceChan = chanId(deadId) as string;
    const recorded = requestsWithResponses(segment(trace, 'b: REST calls', ['b: same dead-channel']));
    expect(recorded.length).to.be.greaterThan(8);
    for (const r of recorded) {
      const path = r.path.split(traceChan).join(call.id).replace('pb-prompt-mwv2qpte1i0', 'pb-prompt');
      const got = await rawRequest(sim, r.method, path);
      expect(got.status, `${r.method} ${path}`).to.equal(r.status);
      if (r.status >= 400) expect(got.body, `${r.method} ${path}`).to.deep.equal(r.body);
    }
    // ari-client surfaces the raw body text as Error.message
    expect(await ariError(ari.channels.hangup({ channelId: call.id }))).to.equal('{"message":"Channel not found"}');
    expect(await ariError(ari.channels.get({ channelId: call.id }))).to.equal('{"message":"Channel not found"}');
    expect(c.received.some((e) => e.type === 'ChannelDestroyed')).to.equal(false);
  });

  it('c: agent-first preview: originate, preview prompt, DTMF, create+dial customer, mixing bridge, customer BYE', async () => {
    const trace = loadTrace('c-agent-first-preview-bridge.jsonl');
    const { ari } = c;
    sim.setMediaDuration('sound:queue-callswaiting', 100);
    sim.setMediaDuration('digits:5559876', 700);
    sim.endpoint('PJSIP/1001').answersAfter(60);
    sim.endpoint('PJSIP/5559876@trunk').answersAfter(60);
    const agentId = 'agent-1';
    const custId = 'cust-1';
    let addChannelMs = 0;
    ari.on('StasisStart', (e) => {
      if (chanId(e) !== agentId) return;
      void ari.channels.play({ channelId: agentId, media: 'sound:queue-callswaiting,digits:5559876', playbackId: 'pb-preview' });
    });
    ari.on('ChannelDtmfReceived', () => {
      void (async () => {
        await ari.playbacks.stop({ playbackId: 'pb-preview' });
        await ari.channels.startMoh({ channelId: agentId, mohClass: 'default' });
        await ari.channels.create({
          endpoint: 'PJSIP/5559876@trunk',
          app: APP,
          appArgs: 'customer,cb-42',
          channelId: custId,
          originator: agentId,
        });
        await ari.channels.dial({ channelId: custId, caller: agentId, timeout: 30 });
      })();
    });
    ari.on('ChannelStateChange', (e) => {
      const ch = e.channel as { id: string; state: string };
      if (ch.id !== custId || ch.state !== 'Up') return;
      void (async () => {
        await ari.channels.stopMoh({ channelId: agentId });
        await ari.bridges.create({ type: 'mixing', bridgeId: 'call-1', name: 'callback-cb-42' });
        const t0 = Date.now();
        await ari.bridges.addChannel({ bridgeId: 'call-1', channel: `${agentId},${custId}` });
        addChannelMs = Date.now() - t0;
      })();
    });
    ari.on('StasisEnd', (e) => {
      if (chanId(e) !== custId) return;
      void (async () => {
        await ari.channels.hangup({ channelId: agentId, reason: 'normal' });
        await ari.bridges.destroy({ bridgeId: 'call-1' });
      })();
    });
    await ari.channels.originate({
      endpoint: 'PJSIP/1001',
      app: APP,
      appArgs: 'agent,cb-42',
      callerId: '"Callback 5559876" <5559876>',
      timeout: 30,
      channelId: agentId,
      variables: { CALLBACK_ID: 'cb-42' },
    });
    const agent = await sim.endpoint('PJSIP/1001').nextLeg(1000);
    expect(agent.displayedCaller).to.deep.equal({ name: 'Callback 5559876', number: '5559876' });
    await agent.entered(1000);
    expect(agent.variables.get('CALLBACK_ID')).to.equal('cb-42');
    await agent.waitForPlayback((m) => m.startsWith('digits:'), 1000);
    await waitUntil(
      () => c.received.some((e) => e.type === 'PlaybackStarted' && pbOf(e).media_uri === 'digits:5559876'),
      1000,
      'digits started',
    );
    await agent.pressDtmf('1', { durationMs: 280 });
    const cust = await sim.endpoint('PJSIP/5559876@trunk').nextLeg(1000);
    expect(cust.displayedCaller).to.deep.equal({ name: 'Callback 5559876', number: '5559876' });
    await cust.waitFor('inBridge', 2000);
    await waitUntil(() => addChannelMs > 0, 1000, 'addChannel response');
    expect(addChannelMs, 'addChannel held until the digits playback finished').to.be.greaterThan(10);
    expect(sim.bridges()[0].channels).to.have.members([agentId, custId]);
    await sleep(30);
    cust.hangup();
    await agent.waitFor('hungup', 2000);
    await waitUntil(() => c.received.some((e) => e.type === 'BridgeDestroyed'), 2000, 'BridgeDestroyed');
    await sleep(30);
    expect(actualSignatures(received(c))).to.deep.equal(expectedSignatures(trace));
  });

  describe('d: originate failures', () => {
    const trace = loadTrace('d-originate-failures.jsonl');
    const seg = (name: string, next: string[] = []): string[] => expectedSignatures(segment(trace, name, next));

    it('d1: originate, rings, no answer at timeout → only ChannelDestroyed(19/480)', async () => {
      sim.endpoint('PJSIP/1002').ringsForever();
      await c.ari.channels.originate({
        endpoint: 'PJSIP/1002',
        app: APP,
        appArgs: 'agent,cb-d1',
        callerId: '"Callback" <5559876>',
        timeout: 5,
        channelId: 'd1',
      });
      const leg = await sim.endpoint('PJSIP/1002').nextLeg(500);
      await leg.waitFor('hungup', 1000);
      await sleep(20);
      expect(actualSignatures(received(c))).to.deep.equal(seg('d1:', ['d2:']));
      expect(leg.displayedCaller).to.deep.equal({ name: 'Callback', number: '5559876' });
      const got = await rawRequest(sim, 'GET', '/ari/channels/d1');
      expect(got).to.deep.equal({ status: 404, body: { message: 'Channel not found' } });
    });

    it('d2: create + dial, no answer → HangupRequest(32 soft) → StasisEnd → ChannelDestroyed(19)', async () => {
      sim.endpoint('PJSIP/1002').ringsForever();
      await c.ari.channels.create({ endpoint: 'PJSIP/1002', app: APP, appArgs: 'agent,cb-d2', channelId: 'd2' });
      await waitUntil(() => c.received.some((e) => e.type === 'StasisStart'), 1000, 'StasisStart');
      await c.ari.channels.dial({ channelId: 'd2', timeout: 5 });
      const leg = await sim.endpoint('PJSIP/1002').nextLeg(500);
      await leg.waitFor('hungup', 1000);
      await sleep(20);
      expect(actualSignatures(received(c))).to.deep.equal(seg('d2:', ['d3:']));
      expect(leg.displayedCaller).to.deep.equal({ name: 'Anonymous', number: 'anonymous' });
    });

    it('d3: originate, 486 Busy → HangupRequest(17/486) → Dial(BUSY) → ChannelDestroyed(17)', async () => {
      sim.endpoint('PJSIP/1002').busy();
      await c.ari.channels.originate({ endpoint: 'PJSIP/1002', app: APP, appArgs: 'agent,cb-d3', timeout: 30, channelId: 'd3' });
      const leg = await sim.endpoint('PJSIP/1002').nextLeg(500);
      await leg.waitFor('hungup', 1000);
      await sleep(20);
      expect(actualSignatures(received(c))).to.deep.equal(seg('d3:', ['d4:']));
      expect(leg.displayedCaller).to.deep.equal({ name: 'Anonymous', number: 'anonymous' });
      expect(leg.sipCode).to.equal(486);
    });

    it('d4: create + dial, 486 Busy → HangupRequest(17/486) → StasisEnd → ChannelDestroyed(17)', async () => {
      sim.endpoint('PJSIP/1002').busy();
      await c.ari.channels.create({ endpoint: 'PJSIP/1002', app: APP, appArgs: 'agent,cb-d4', channelId: 'd4' });
      await waitUntil(() => c.received.some((e) => e.type === 'StasisStart'), 1000, 'StasisStart');
      await c.ari.channels.dial({ channelId: 'd4', timeout: 30 });
      await (await sim.endpoint('PJSIP/1002').nextLeg(500)).waitFor('hungup', 1000);
      await sleep(20);
      expect(actualSignatures(received(c))).to.deep.equal(seg('d4:', ['d5:']));
    });

    it('d5: phone not running, timeout 10 → Dial("") then ChannelDestroyed(19/480)', async () => {
      sim.endpoint('PJSIP/1002').unreachable();
      await c.ari.channels.originate({ endpoint: 'PJSIP/1002', app: APP, appArgs: 'agent,cb-d5', timeout: 10, channelId: 'd5' });
      await (await sim.endpoint('PJSIP/1002').nextLeg(500)).waitFor('hungup', 1000);
      await sleep(20);
      expect(actualSignatures(received(c))).to.deep.equal(seg('d5:', ['d5b:']));
    });

    it('d5b: phone not running, timeout 60 → SIP timer B: HangupRequest(18/408) → Dial(NOANSWER) → ChannelDestroyed(18)', async () => {
      sim.endpoint('PJSIP/1002').unreachable();
      await c.ari.channels.originate({ endpoint: 'PJSIP/1002', app: APP, appArgs: 'agent,cb-d5b', timeout: 60, channelId: 'd5b' });
      await (await sim.endpoint('PJSIP/1002').nextLeg(500)).waitFor('hungup', 2000);
      await sleep(20);
      expect(actualSignatures(received(c))).to.deep.equal(seg('d5b:', ['d6:']));
    });

    it('d6: unknown endpoint / technology → 500 {"error":"Allocation failed"}', async () => {
      const recorded = requestsWithResponses(segment(trace, 'd6:'));
      expect(recorded).to.have.length(2);
      for (const r of recorded) {
        const got = await rawRequest(sim, r.method, r.path);
        expect(got, r.path).to.deep.equal({ status: r.status, body: r.body });
      }
      expect(await ariError(c.ari.channels.originate({ endpoint: 'PJSIP/9999', app: APP, timeout: 5 }))).to.equal(
        '{"error":"Allocation failed"}',
      );
      expect(c.received).to.deep.equal([]);
    });
  });

  it('e: WebSocket drop/reconnect, stop gap (lost DTMF, declined call), ApplicationReplaced, forced reconnect', async () => {
    const trace = loadTrace('e-websocket-drop-reconnect.jsonl');
    const { ari } = c;
    let reconnecting = 0;
    ari.on('WebSocketReconnecting', () => reconnecting++);
    ari.on('StasisStart', (e) => {
      void (async () => {
        await ari.channels.answer({ channelId: chanId(e) });
        await ari.channels.startMoh({ channelId: chanId(e), mohClass: 'default' });
      })();
    });
    const call = sim.call({ from: '5559876', name: 'Customer', to: 'direct:1001' });
    await call.entered();
    await call.waitFor('mohOn', 1000);
    expect(call.channel.dialplan.exten).to.equal('5551000');
    // e1: abrupt drop (no close frame) → ari-client reconnects ~100 ms later, nothing replayed
    const before = c.received.length;
    await sim.dropWebSocket();
    await sleep(20);
    await sim.waitForApp(APP, 2000);
    expect(reconnecting).to.equal(1);
    const app1 = (await ari.applications.get({ applicationName: APP })) as { channel_ids: string[] };
    expect(app1.channel_ids).to.deep.equal([call.id]);
    expect(c.received.length).to.equal(before);
    // e2: clean stop; gap: DTMF lost, 2nd call declined (603), app still listed, user event lost
    ari.stop();
    await sleep(30);
    expect(sim.activeApps()).to.deep.equal([]);
    await call.pressDtmf('1', { durationMs: 20 });
    const second = sim.call({ from: '5559999', to: 'queue:support', app: APP });
    expect(second.declined).to.equal(true);
    expect(second.sipCode).to.equal(603);
    let declinedMsg = '';
    await second.entered(200).catch((e: Error) => {
      declinedMsg = e.message;
    });
    expect(declinedMsg).to.match(/603/);
    expect((await rawRequest(sim, 'GET', `/ari/applications/${APP}`)).body).to.include({ name: APP });
    expect((await rawRequest(sim, 'POST', `/ari/events/user/probe-gap?application=${APP}`)).status).to.equal(204);
    await ari.start(APP);
    await sim.waitForApp(APP);
    const afterReconnect = c.received.length;
    await ari.events.userEvent({ eventName: 'probe-after-reconnect', application: APP });
    await ari.channels.stopMoh({ channelId: call.id });
    await ari.channels.play({ channelId: call.id, media: 'sound:queue-thankyou', playbackId: 'pb-after-reconnect' });
    await waitUntil(() => c.received.some((e) => e.type === 'PlaybackStarted'), 1000, 'PlaybackStarted');
    expect(actualSignatures(received(c, afterReconnect))).to.deep.equal(expectedSignatures(segment(trace, 'e2: reconnect', ['e3:'])));
    expect(actualSignatures(received(c, 0, [call.id]))).to.not.include('ChannelDtmfReceived 1 20ms');
    // e3: a second socket takes the app: the old one gets ApplicationReplaced and then nothing
    const ws2Events: Ev[] = [];
    const ws2 = new WebSocket(`${sim.url.replace('http', 'ws')}/ari/events?app=${APP}&api_key=${sim.user}:${sim.password}`);
    ws2.on('message', (m: Buffer) => ws2Events.push(JSON.parse(String(m)) as Ev));
    await new Promise((r) => ws2.once('open', r));
    await waitUntil(() => c.received.some((e) => e.type === 'ApplicationReplaced'), 1000, 'ApplicationReplaced');
    await waitUntil(() => ws2Events.some((e) => e.type === 'PlaybackFinished'), 1000, 'PlaybackFinished on ws2');
    await ari.events.userEvent({ eventName: 'probe-after-ws2', application: APP });
    await waitUntil(() => ws2Events.some((e) => e.type === 'ChannelUserevent'), 1000, 'user event on ws2');
    const e3 = segment(trace, 'e3:', ['e4:']);
    expect(actualSignatures(received(c, afterReconnect)).slice(-1)).to.deep.equal(expectedSignatures(e3));
    expect(actualSignatures(ws2Events)).to.deep.equal(expectedSignatures(e3, { ws: 'ws2' }));
    ws2.close();
    await waitUntil(() => sim.activeApps().length === 0, 1000, 'app inactive after ws2 closed');
    // e4: force ari-client to reconnect → app active again; caller BYE → HangupRequest → StasisEnd, no ChannelDestroyed
    const beforeE4 = c.received.length;
    ari._ws?.terminate();
    await sim.waitForApp(APP, 2000);
    await ari.events.userEvent({ eventName: 'probe-after-forced-reconnect', application: APP });
    await waitUntil(() => c.received.length > beforeE4, 1000, 'user event after forced reconnect');
    call.hangup();
    await waitUntil(() => c.received.some((e) => e.type === 'StasisEnd'), 1000, 'StasisEnd');
    await sleep(30);
    expect(actualSignatures(received(c, beforeE4))).to.deep.equal(expectedSignatures(segment(trace, 'e4:')));
  });

  describe('f: playback control and caller ID on created legs', () => {
    const trace = loadTrace('f-playback-control-and-callerid.jsonl');
    const seg = (name: string, next: string[] = []): string[] => expectedSignatures(segment(trace, name, next));
    let agentId = '';

    beforeEach(async () => {
      sim.endpoint('PJSIP/1002').answersAfter(20);
      await c.ari.channels.originate({ endpoint: 'PJSIP/1002', app: APP, appArgs: 'agent,cb-f', timeout: 15, channelId: 'f-agent' });
      agentId = 'f-agent';
      await (await sim.endpoint('PJSIP/1002').nextLeg(500)).entered(1000);
      await sleep(10);
    });

    const play = (media: string, playbackId: string): Promise<unknown> => c.ari.channels.play({ channelId: agentId, media, playbackId });
    const finished = (id: string): Promise<void> =>
      waitUntil(() => c.received.some((e) => e.type === 'PlaybackFinished' && pbOf(e).id === id), 3000, `PlaybackFinished ${id}`);

    it('originated agent leg: Dial/Ringing/Up/ANSWER → STASISSTATUS → StasisStart(Up)', () => {
      expect(actualSignatures(received(c))).to.deep.equal(expectedSignatures(segment(trace, 'trace start', ['f1:'])));
    });

    it('f1: DELETE on a sound: playback → 204 and PlaybackFinished(done) within a few ms', async () => {
      sim.setMediaDuration('sound:queue-periodic-announce', 2000);
      const from = c.received.length;
      await play('sound:queue-periodic-announce', 'f1');
      await sleep(50);
      const t0 = Date.now();
      expect((await rawRequest(sim, 'DELETE', '/ari/playbacks/f1')).status).to.equal(204);
      await finished('f1');
      expect(Date.now() - t0).to.be.lessThan(100);
      expect(actualSignatures(received(c, from))).to.deep.equal(seg('f1:', ['f: f1:', 'f2:']));
    });

    it('f2: digits:-only playback cannot be stopped: 500 "Could not stop playback", runs to the end (done)', async () => {
      const from = c.received.length;
      await play('digits:5551234', 'f2');
      await sleep(20);
      const got = await rawRequest(sim, 'DELETE', '/ari/playbacks/f2');
      const recorded = requestsWithResponses(segment(trace, 'f2:', ['f: f2:'])).find((r) => r.method === 'DELETE');
      expect(got).to.deep.equal({ status: recorded?.status, body: recorded?.body });
      await finished('f2');
      expect(actualSignatures(received(c, from))).to.deep.equal(seg('f2:', ['f: f2:']));
    });

    it('f3: sound:,digits: with DELETE during the digits → 204 but it still runs to the end', async () => {
      sim.setMediaDuration('sound:queue-thankyou', 40);
      const from = c.received.length;
      await play('sound:queue-thankyou,digits:5551234', 'f3');
      await waitUntil(
        () => c.received.some((e) => e.type === 'PlaybackStarted' && pbOf(e).media_uri === 'digits:5551234'),
        1000,
        'digits part',
      );
      expect((await rawRequest(sim, 'DELETE', '/ari/playbacks/f3')).status).to.equal(204);
      const t0 = Date.now();
      await finished('f3');
      expect(Date.now() - t0).to.be.greaterThan(40);
      expect(actualSignatures(received(c, from))).to.deep.equal(seg('f3:', ['f: f3:']));
    });

    it('f4: a second play is queued; DELETE on the queued one → 204; both finish (done) when the first is stopped', async () => {
      sim.setMediaDuration('sound:queue-periodic-announce', 2000);
      const from = c.received.length;
      await play('sound:queue-periodic-announce', 'f4a');
      const second = (await play('sound:queue-thankyou', 'f4b')) as { state: string };
      expect(second.state).to.equal('queued');
      expect((await rawRequest(sim, 'GET', '/ari/playbacks/f4b')).body).to.include({ state: 'queued' });
      expect((await rawRequest(sim, 'DELETE', '/ari/playbacks/f4b')).status).to.equal(204);
      expect((await rawRequest(sim, 'DELETE', '/ari/playbacks/f4a')).status).to.equal(204);
      await finished('f4b');
      expect(actualSignatures(received(c, from))).to.deep.equal(seg('f4:', ['f5:']));
    });

    it('f5: unknown sound → 201, PlaybackStarted → PlaybackFinished(failed)', async () => {
      const from = c.received.length;
      const pb = (await play('sound:no-such-file', 'f5')) as { state: string };
      expect(pb.state).to.equal('queued');
      await finished('f5');
      expect(actualSignatures(received(c, from))).to.deep.equal(seg('f5:', ['f6:']));
    });

    it('f6: pause/unpause (unpause re-emits PlaybackStarted); control on a finished playback → 404; app hangup reason_code=16', async () => {
      sim.setMediaDuration('sound:queue-callswaiting', 150);
      const from = c.received.length;
      await play('sound:queue-callswaiting', 'f6');
      await sleep(30);
      expect((await rawRequest(sim, 'POST', '/ari/playbacks/f6/control?operation=pause')).status).to.equal(204);
      await sleep(200);
      expect(
        c.received.some((e) => e.type === 'PlaybackFinished' && pbOf(e).id === 'f6'),
        'paused playback must not finish',
      ).to.equal(false);
      expect((await rawRequest(sim, 'POST', '/ari/playbacks/f6/control?operation=unpause')).status).to.equal(204);
      await finished('f6');
      expect(await rawRequest(sim, 'POST', '/ari/playbacks/f6/control?operation=pause')).to.deep.equal({
        status: 404,
        body: { message: 'Playback not found' },
      });
      expect((await rawRequest(sim, 'DELETE', `/ari/channels/${agentId}?reason_code=16`)).status).to.equal(204);
      await waitUntil(() => c.received.some((e) => e.type === 'ChannelDestroyed'), 1000, 'ChannelDestroyed');
      expect(actualSignatures(received(c, from))).to.deep.equal(seg('f6:', ['f7:']));
    });

    it('f7: create with CALLERID() variables: ChannelCallerId events, phone still shows Anonymous; 486', async () => {
      sim.endpoint('PJSIP/1002').busy();
      const from = c.received.length;
      await c.ari.channels.create({
        endpoint: 'PJSIP/1002',
        app: APP,
        appArgs: 'agent,cb-f7',
        channelId: 'f7',
        variables: { 'CALLERID(num)': '5550100', 'CALLERID(name)': 'Support Callback' },
      });
      await c.ari.channels.dial({ channelId: 'f7', timeout: 10 });
      const leg = await sim.endpoint('PJSIP/1002').nextLeg(500);
      await leg.waitFor('hungup', 1000);
      await sleep(20);
      expect(leg.displayedCaller).to.deep.equal({ name: 'Anonymous', number: 'anonymous' });
      expect(actualSignatures(received(c, from, ['f7']))).to.deep.equal(seg('f7:', ['f7b:']));
    });

    it('f7b: create with CONNECTEDLINE() variables: the phone shows them', async () => {
      sim.endpoint('PJSIP/1002').busy();
      const from = c.received.length;
      await c.ari.channels.create({
        endpoint: 'PJSIP/1002',
        app: APP,
        appArgs: 'agent,cb-f7b',
        channelId: 'f7b',
        variables: { 'CONNECTEDLINE(num)': '5550100', 'CONNECTEDLINE(name)': 'Support Callback' },
      });
      await c.ari.channels.dial({ channelId: 'f7b', timeout: 10 });
      const leg = await sim.endpoint('PJSIP/1002').nextLeg(500);
      await leg.waitFor('hungup', 1000);
      await sleep(20);
      expect(leg.displayedCaller).to.deep.equal({ name: 'Support Callback', number: '5550100' });
      expect(actualSignatures(received(c, from, ['f7b']))).to.deep.equal(seg('f7b:'));
    });
  });
});
