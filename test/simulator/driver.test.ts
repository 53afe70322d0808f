/** Scenario driver behaviour not covered by the trace replays: device/endpoint states, subscriptions, failures. */
import { expect } from 'chai';
import { AriSimulator } from '../../tools/simulator/ari-simulator';
import { connectAri, rawRequest, sleep, type ConnectedAri } from '../helpers/simulator-ari';

const APP = 'direct-callback';

describe('simulator scenario driver', function () {
  this.timeout(10000);
  let sim: AriSimulator;
  let c: ConnectedAri | null = null;

  beforeEach(async () => {
    sim = await AriSimulator.start({
      user: 'u',
      password: 'p',
      timing: { defaultSoundMs: 50, perDigitMs: 10, ringMs: 2, answerMs: 30, rejectMs: 10, secondsToMs: 20 },
    });
  });
  afterEach(async () => {
    c?.close();
    c = null;
    const problems = [...sim.eventViolations, ...sim.internalErrors];
    await sim.stop();
    expect(problems).to.deep.equal([]);
  });

  it('declines an inbound call with 603 when no app is connected', async () => {
    const call = sim.call({ from: '+15551234567', to: 'queue:support' });
    expect(call.declined).to.equal(true);
    expect(call.state).to.equal('declined');
    let msg = '';
    await call.entered(100).catch((e: Error) => {
      msg = e.message;
    });
    expect(msg).to.match(/declined with SIP 603/);
  });

  it('explicit args, bridge/moh/playback bookkeeping, and timeout messages that say what happened', async () => {
    c = await connectAri(sim, APP);
    const call = sim.call({ from: '+15551234567', name: 'Alice', to: 'queue:support', args: ['queue', 'support', 'route=vip'] });
    await call.entered();
    expect(call.channel.caller).to.deep.equal({ name: 'Alice', number: '+15551234567' });
    expect(call.channel.dialplan.app_data).to.equal('direct-callback,queue,support,route=vip');
    expect(call.channel.state).to.equal('Ring');
    let msg = '';
    await call.waitFor('Up', 50).catch((e: Error) => {
      msg = e.message;
    });
    expect(msg).to.match(/timed out after 50 ms waiting for call .* to be 'Up'; instead: .*state=Ring.*events=\[StasisStart\]/);
    await c.ari.channels.answer({ channelId: call.id });
    await c.ari.bridges.create({ type: 'mixing', bridgeId: 'b1' });
    await c.ari.bridges.addChannel({ bridgeId: 'b1', channel: call.id });
    await c.ari.bridges.startMoh({ bridgeId: 'b1' });
    await call.waitFor('mohOn');
    expect(call.bridge).to.deep.equal({ id: 'b1', type: 'mixing' });
    await c.ari.bridges.play({ bridgeId: 'b1', media: 'sound:hello' });
    const pb = await call.waitForPlayback((m) => m === 'sound:hello', 1000, { until: 'finished' });
    expect(pb).to.include({ state: 'done', target: 'bridge:b1' });
    await c.ari.bridges.removeChannel({ bridgeId: 'b1', channel: call.id });
    await call.waitFor('notInBridge');
    expect(call.mohActive).to.equal(false);
    await c.ari.channels.hangup({ channelId: call.id });
    await call.waitFor('hungup');
    expect(call.hungUpBy).to.equal('app');
    sim.assertNoViolations();
  });

  it("a caller's channel language: in StasisStart, and the default of a playback's language unless the play names one", async () => {
    c = await connectAri(sim, APP);
    const call = sim.call({ from: '+15551234567', to: 'queue:support', language: 'es' });
    await call.entered();
    const start = await sim.waitForEvent((r) => r.event.type === 'StasisStart', 1000);
    expect((start.event as { channel?: { language?: string } }).channel?.language).to.equal('es');
    await c.ari.channels.answer({ channelId: call.id });
    await c.ari.channels.play({ channelId: call.id, media: 'sound:hello', playbackId: 'p-channel' });
    await c.ari.channels.play({ channelId: call.id, media: 'digits:12', playbackId: 'p-named', lang: 'en' });
    expect((await call.waitForPlayback((m) => m === 'sound:hello', 1000, { until: 'finished' })).language).to.equal('es');
    expect((await call.waitForPlayback((m) => m === 'digits:12', 1000, { until: 'finished' })).language).to.equal('en');
    await sleep(20);
    const started = c.received.filter((e) => e.type === 'PlaybackStarted').map((e) => e.playback as { id: string; language: string });
    expect(started.map((p) => [p.id, p.language])).to.deep.equal([
      ['p-channel', 'es'],
      ['p-named', 'en'],
    ]);
    expect(sim.call({ from: '+15551234568', to: 'queue:support' }).channel.language, 'default').to.equal('en');
  });

  it('keepHistory: false keeps no requests or events, and the listeners still see every one (benchmark)', async () => {
    await sim.stop();
    sim = await AriSimulator.start({ user: 'u', password: 'p', timing: { defaultSoundMs: 50 }, keepHistory: false });
    const seen: string[] = [];
    sim.onRequest((r) => seen.push(`${r.method} ${r.path}`));
    sim.onEvent((e) => seen.push(String(e.event.type)));
    c = await connectAri(sim, APP);
    const call = sim.call({ from: '+15551234567', to: 'queue:support' });
    await call.entered();
    await c.ari.channels.answer({ channelId: call.id });
    await call.waitFor('Up');
    expect(seen).to.include.members(['StasisStart', `POST /ari/channels/${call.id}/answer`, 'ChannelStateChange']);
    expect([sim.requests.length, sim.events.length]).to.deep.equal([0, 0]);
  });

  it('device states, endpoint states and application subscriptions', async () => {
    c = await connectAri(sim, APP);
    const phone = sim.endpoint('PJSIP/1001').manual();
    await c.ari.applications.subscribe({ applicationName: APP, eventSource: 'endpoint:PJSIP/1001,deviceState:PJSIP/1001' });
    const app = (await c.ari.applications.get({ applicationName: APP })) as { endpoint_ids: string[]; device_names: string[] };
    expect(app.endpoint_ids).to.deep.equal(['PJSIP/1001']);
    expect(app.device_names).to.deep.equal(['PJSIP/1001']);
    expect(await rawRequest(sim, 'GET', '/ari/deviceStates/PJSIP%2F1001')).to.deep.equal({
      status: 200,
      body: { name: 'PJSIP/1001', state: 'NOT_INUSE' },
    });
    await c.ari.channels.originate({ endpoint: 'PJSIP/1001', app: APP, appArgs: 'agent', channelId: 'a1' });
    const leg = await phone.nextLeg(500);
    await leg.waitFor('Ringing');
    expect(phone.deviceState).to.equal('RINGING');
    leg.answer();
    await leg.entered();
    expect(phone.deviceState).to.equal('INUSE');
    leg.hangup();
    await leg.waitFor('hungup');
    phone.setOnline(false);
    await sleep(20);
    const states = c.received.filter((e) => e.type === 'DeviceStateChanged').map((e) => (e.device_state as { state: string }).state);
    expect(states).to.deep.equal(['RINGING', 'INUSE', 'NOT_INUSE', 'UNAVAILABLE']);
    const ep = c.received.filter((e) => e.type === 'EndpointStateChange').map((e) => (e.endpoint as { state: string }).state);
    expect(ep).to.deep.equal(['offline']);
    expect(await rawRequest(sim, 'GET', '/ari/endpoints/PJSIP/9999')).to.deep.equal({
      status: 404,
      body: { message: 'Endpoint not found' },
    });
    expect(await rawRequest(sim, 'PUT', '/ari/deviceStates/PJSIP%2F1001?deviceState=BUSY')).to.deep.equal({
      status: 409,
      body: { message: 'Uncontrolled device specified' },
    });
    expect((await rawRequest(sim, 'PUT', '/ari/deviceStates/Stasis:agent-1001?deviceState=NOT_INUSE')).status).to.equal(204);
    expect((await rawRequest(sim, 'GET', '/ari/deviceStates')).body).to.deep.equal([{ name: 'Stasis:agent-1001', state: 'NOT_INUSE' }]);
    phone.unregistered();
    expect(await rawRequest(sim, 'POST', '/ari/channels?endpoint=PJSIP/1001&app=direct-callback')).to.deep.equal({
      status: 500,
      body: { error: 'Allocation failed' },
    });
  });

  it('congestion, and a manual leg rejected busy by the test', async () => {
    c = await connectAri(sim, APP);
    sim.endpoint('PJSIP/2001').congestion();
    await c.ari.channels.originate({ endpoint: 'PJSIP/2001', app: APP, timeout: 5 });
    const leg = await sim.endpoint('PJSIP/2001').nextLeg(500);
    await leg.waitFor('hungup');
    expect(leg.destroyedCause).to.equal(34);
    sim.endpoint('PJSIP/2002').manual();
    await c.ari.channels.create({ endpoint: 'PJSIP/2002', app: APP, channelId: 'm1' });
    await c.ari.channels.dial({ channelId: 'm1' });
    const m = await sim.endpoint('PJSIP/2002').nextLeg(500);
    await m.waitFor('Ringing');
    m.reject('busy');
    await m.waitFor('hungup');
    expect(m.destroyedCause).to.equal(17);
  });

  it('outage: the server goes away and comes back on the same port; ari-client reconnects', async () => {
    c = await connectAri(sim, APP);
    const port = sim.port;
    const down = sim.outage(150);
    await sleep(30);
    let failed = false;
    await fetch(`${sim.url}/ari/asterisk/info`).catch(() => {
      failed = true;
    });
    expect(failed).to.equal(true);
    await down;
    expect(sim.port).to.equal(port);
    await sim.waitForApp(APP, 3000);
    const req = sim.waitForRequest((r) => r.path === '/ari/asterisk/info' && r.status === 200, 1000);
    await c.ari.asterisk.getInfo();
    await req;
  });

  it('refuseWebSocketFor: events in the gap are lost, then the client gets back in', async () => {
    c = await connectAri(sim, APP);
    const call = sim.call({ from: '1', to: 'queue:support' });
    await call.entered();
    await sim.refuseWebSocketFor(300);
    await call.pressDtmf('5', { durationMs: 10 });
    const lost = sim.events.find((e) => e.event.type === 'ChannelDtmfReceived');
    expect(lost?.delivered).to.equal(false);
    expect(sim.call({ from: '2', to: 'queue:support', app: APP }).declined).to.equal(true);
    await sim.waitForApp(APP, 3000);
    expect(c.received.some((e) => e.type === 'ChannelDtmfReceived')).to.equal(false);
  });
});
