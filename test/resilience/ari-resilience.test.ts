import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { splitRig, SplitRig, sleep, until } from './in-process-rig';

/**
 * ARI connection failures against the simulator, with the real plugin and ari-client:
 * api-docs answering 503/401 while Asterisk boots, a WebSocket gap with events lost (trace e2)
 * followed by reconciliation, and an outage that outlasts ari-client's own ~43 s of retries.
 */
describe('resilience: ARI connection', function () {
  this.timeout(60000);
  let rig: SplitRig | undefined;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && rig)
      process.stderr.write(
        rig.logLines
          .filter((l) => !l.includes('"debug"'))
          .slice(-40)
          .join(''),
      );
    await rig?.stop();
    rig = undefined;
  });

  for (const status of [503, 401] as const) {
    it(`boot: api-docs answer ${status} first, then 200; the plugin connects and serves a call`, async () => {
      rig = await splitRig();
      const r = rig;
      r.sim.setApiDocsStatus(status);
      const started = r.start();
      await sleep(1500);
      expect(r.sim.activeApps()).to.deep.equal([]);
      r.sim.setApiDocsStatus(200);
      await started;
      await r.sim.waitForApp('direct-callback', 10000);
      const call = r.sim.call({ from: '+15557770001', to: 'queue:support' });
      await call.entered();
      await call.waitFor('inBridge', 3000);
      expect(r.logLines.some((l) => l.includes('api-docs load failed') || l.includes('ari connect failed'))).to.equal(true);
    });
  }

  it('WebSocket gap: a DTMF 1 and a hang-up in the gap are lost; after reconnect the state is consistent', async () => {
    rig = await splitRig();
    const r = rig;
    const plugin = await r.start();
    const stay = r.sim.call({ from: '+15557770002', to: 'queue:support' });
    await stay.entered();
    await stay.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    const leave = r.sim.call({ from: '+15557770003', to: 'queue:support' });
    await leave.entered();
    await leave.waitFor('inBridge', 3000);
    await until('both callers queued', () => plugin.app.queueSnapshot('support')?.callers === 2, 3000);
    await r.sim.refuseWebSocketFor(2500);
    await stay.pressDtmf('1'); // lost (trace e2)
    leave.hangup(); // its ChannelHangupRequest/StasisEnd are lost too
    await sleep(300);
    expect(r.sim.events.filter((e) => !e.delivered).length).to.be.greaterThan(0);
    await r.sim.waitForApp('direct-callback', 10000);
    // Reconciled: the vanished caller is closed out, the other one is still queued and offered.
    await until('the vanished caller to leave the queue', () => plugin.app.queueSnapshot('support')?.callers === 1, 5000);
    expect(plugin.app.liveSessions).to.equal(1);
    expect(
      await r.database
        .db('callback_requests')
        .count<{ n: string }[]>({ n: '*' })
        .then((x) => Number(x[0]?.n)),
    ).to.equal(0);
    const heard = stay.playbacks.filter((p) => p.media.includes(PROMPTS.offer)).length;
    await until('a new offer after the gap', () => stay.playbacks.filter((p) => p.media.includes(PROMPTS.offer)).length > heard, 5000);
    await stay.pressDtmf('1');
    await stay.waitFor('hungup', 5000);
    expect((await plugin.app.store.listOpen()).map((c) => c.customerNumber)).to.deep.equal(['+15557770002']);
    r.sim.assertNoViolations();
  });

  it("SLOW (~45 s): an ARI outage outlives ari-client's 10 retries; the plugin reconnects and a new call works", async function () {
    this.timeout(120000);
    rig = await splitRig();
    const r = rig;
    const plugin = await r.start();
    const waiting = r.sim.call({ from: '+15557770004', to: 'queue:support' });
    await waiting.entered();
    await waiting.waitFor('inBridge', 3000);
    // ari-client retries 10 times, 100 ms doubling to 10 s (43 s in all), then gives up: the
    // outage lasts until it has (at most 60 s), and only the plugin's own reconnection is left.
    const outageStart = Date.now();
    await r.sim.outage(60000, () => r.logLines.some((l) => l.includes('WebSocketMaxRetries')));
    expect(Date.now() - outageStart, "the outage outlasted ari-client's retries").to.be.above(40000);
    await r.sim.waitForApp('direct-callback', 15000);
    expect(
      r.logLines.some((l) => l.includes('WebSocketMaxRetries')),
      'ari-client gave up during the outage',
    ).to.equal(true);
    // The caller who waited through the outage is still served by its session.
    // Its offer loop had a play request out when the connection came back: that request times out
    // (8 s) and the next offer follows.
    await until(
      'the waiting caller to be offered again',
      () => waiting.playbacks.some((p) => p.media.includes(PROMPTS.offer) && (p.startedAt ?? 0) > 0),
      15000,
    );
    expect(plugin.app.queueSnapshot('support')?.callers).to.equal(1);
    const fresh = r.sim.call({ from: '+15557770005', to: 'queue:support' });
    await fresh.entered(3000);
    await fresh.waitFor('inBridge', 3000);
    await fresh.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    await fresh.pressDtmf('1');
    await fresh.waitFor('hungup', 5000);
    expect((await plugin.app.store.listOpen()).map((c) => c.customerNumber)).to.deep.equal(['+15557770005']);
  });
});
