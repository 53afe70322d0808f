import { expect } from 'chai';
import http from 'node:http';
import { AriSimulator } from '../../tools/simulator/ari-simulator';
import { capAriHttpConnections } from '../../src/ari/http-connections';
import { connectAri, ConnectedAri } from '../helpers/simulator-ari';
import { burst } from '../helpers/request-burst';

/**
 * Asterisk's HTTP session limit, as the simulator models it from the real one
 * (test/asterisk/http-sessions.asterisk.test.ts), and why the plugin caps its connections
 * (src/ari/http-connections.ts). The real ari-client 2.2.0 throughout.
 */
describe('simulator: HTTP session limit, and ari-client behind a connection cap', function () {
  this.timeout(30000);
  const LIMIT = 30;
  let sim: AriSimulator;
  let client: ConnectedAri | undefined;
  const originalAgent = http.globalAgent;

  beforeEach(async () => {
    sim = await AriSimulator.start({ user: 'u', password: 'p', httpSessionLimit: LIMIT });
  });

  afterEach(async () => {
    client?.close();
    client = undefined;
    http.globalAgent = originalAgent;
    await sim.stop();
  });

  const getInfoBurst = (n: number, withinMs: number) => {
    const ari = (client as ConnectedAri).ari;
    return burst(() => ari.asterisk.getInfo?.() ?? Promise.reject(new Error('no asterisk.getInfo')), n, withinMs);
  };

  it('closes connections over the limit unanswered; ari-client never settles those requests', async () => {
    // Node 20's own default: kept alive, no cap.
    http.globalAgent = new http.Agent({ keepAlive: true });
    client = await connectAri(sim);
    const { settled } = await getInfoBurst(120, 2000);
    const sessions = sim.httpSessions;
    expect(sessions.refused, 'connections refused over the limit').to.be.greaterThan(0);
    expect(sessions.peak).to.equal(LIMIT);
    // The requests whose connection was refused are still pending: no answer, no error.
    expect(settled, 'settled within 2 s').to.be.lessThan(120);
  });

  it('capped below the limit, a burst of 300 requests all answer and never exceed the cap', async () => {
    const cap = 5;
    capAriHttpConnections(cap);
    client = await connectAri(sim);
    const { settled, failed } = await getInfoBurst(300, 10000);
    expect(settled).to.equal(300);
    expect(failed).to.equal(0);
    const sessions = sim.httpSessions;
    expect(sessions.refused).to.equal(0);
    // The cap, plus the WebSocket (which does not go through the agent).
    expect(sessions.peak).to.be.at.most(cap + 1);
  });

  it('rejects a cap that is not a whole number of at least 1', () => {
    expect(() => capAriHttpConnections(0)).to.throw(/whole number >= 1/);
    expect(() => capAriHttpConnections(2.5)).to.throw(/whole number >= 1/);
  });
});
