import { expect } from 'chai';
import { AriSimulator, EventRecord } from '../../../tools/simulator/ari-simulator';
import { AriConnection } from '../../../src/ari/ari-connection';
import { AriEvent } from '../../../src/ari/ari-events';
import { silentLogger } from '../../../src/logging/logger';

const APP = 'direct-callback';
const PASSWORD = 'conn-pa55word';

/**
 * AriConnection decodes the event stream itself (decodeAriEvent) on ari-client's socket: the
 * simulator behind it speaks ARI as the real Asterisk does (ari-client connects to it as it does
 * to Asterisk), so these check what the plugin receives, not how.
 */
describe('AriConnection event stream', function () {
  this.timeout(20000);
  let sim: AriSimulator;
  let conn: AriConnection;
  let received: AriEvent[];
  let connected: { reconnect: boolean }[];

  beforeEach(async () => {
    sim = await AriSimulator.start({ user: APP, password: PASSWORD });
    conn = new AriConnection({ url: sim.url, user: APP, password: PASSWORD, app: APP, logger: silentLogger(), minDelayMs: 50 });
    received = [];
    connected = [];
    conn.on('event', (e) => received.push(e));
    conn.on('connected', (c) => connected.push(c));
    await conn.start();
    await sim.waitForApp(APP, 5000);
  });

  afterEach(async () => {
    await conn.stop();
    await sim.stop();
  });

  const delivered = (type: string, channelId: string): Record<string, unknown>[] =>
    sim.events
      .filter(
        (r: EventRecord) => r.delivered && r.event.type === type && (r.event.channel as { id?: string } | undefined)?.id === channelId,
      )
      .map((r) => r.event);
  const got = (type: string, channelId: string): AriEvent[] =>
    received.filter((e) => e.type === type && 'channel' in e && e.channel.id === channelId);

  async function until(cond: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`not within 5 s: ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('emits each event once, as the object Asterisk sent, and none through ari-client', async () => {
    let ariClientEmitted = 0;
    conn.current().on('StasisStart', () => (ariClientEmitted += 1));
    const call = sim.call({ from: '+15551230001', to: '100', app: APP });
    await until(() => got('StasisStart', call.id).length > 0, 'StasisStart');
    call.hangup();
    await until(() => got('StasisEnd', call.id).length > 0, 'StasisEnd');
    for (const type of ['StasisStart', 'ChannelHangupRequest', 'StasisEnd']) {
      expect(got(type, call.id), type).to.deep.equal(delivered(type, call.id));
      expect(got(type, call.id), type).to.have.length(1);
    }
    expect(ariClientEmitted, "ari-client's own decoding").to.equal(0);
  });

  it('decodes the events of the socket ari-client reopens after a drop, and says it reconnected', async () => {
    await sim.dropWebSocket();
    await until(() => connected.some((c) => c.reconnect), 'reconnected');
    await sim.waitForApp(APP, 5000);
    let ariClientEmitted = 0;
    conn.current().on('StasisStart', () => (ariClientEmitted += 1));
    const call = sim.call({ from: '+15551230002', to: '100', app: APP });
    await until(() => got('StasisStart', call.id).length > 0, 'StasisStart after the reconnect');
    expect(got('StasisStart', call.id)).to.deep.equal(delivered('StasisStart', call.id));
    expect(got('StasisStart', call.id)).to.have.length(1);
    expect(ariClientEmitted, "ari-client's own decoding").to.equal(0);
  });
});
