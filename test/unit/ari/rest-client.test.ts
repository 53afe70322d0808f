import http from 'node:http';
import { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { AriClient } from 'ari-client';
import { AriClientCallControl } from '../../../src/ari/ari-client-adapter';
import { AriRequestError } from '../../../src/ari/call-control';
import { AriHttpError, AriRestClient, ariQueryString, ariRestTarget } from '../../../src/ari/rest-client';

/**
 * Our own ARI REST client (src/ari/rest-client.ts) and the adapter's requests over it, against a
 * tiny local HTTP server that records what it received and answers from a script: method, path,
 * query, basic auth, the `variables` body, and how failures are classified (404 → not_found,
 * 409 → conflict, 422 Allocation failed → rejected, 500 → server, no answer → transport).
 */
interface Received {
  method: string;
  path: string;
  query: Record<string, string[]>;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}
type Answer = { status: number; body?: unknown } | 'hang';

const USER = 'direct-callback';
const PASSWORD = 'rest-pa55:word';

describe('AriRestClient and the adapter over it (src/ari/rest-client.ts)', function () {
  this.timeout(10_000);
  let server: http.Server;
  let port: number;
  let received: Received[];
  let answers: Answer[];

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const query: Record<string, string[]> = {};
        for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
        received.push({
          method: req.method ?? '',
          path: url.pathname,
          query,
          authorization: req.headers.authorization,
          contentType: req.headers['content-type'],
          body,
        });
        const answer = answers.shift() ?? { status: 204 };
        if (answer === 'hang') return; // never answers
        res.statusCode = answer.status;
        if (answer.body === undefined) return res.end();
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    received = [];
    answers = [];
  });

  const target = (): { protocol: string; host: string; user: string; password: string } => ({
    protocol: 'http:',
    host: `127.0.0.1:${port}`,
    user: USER,
    password: PASSWORD,
  });
  /** The adapter over a stand-in for the ARI connection: connected, with the test server as its REST target. */
  const adapter = (mayAct: () => boolean = () => true): AriClientCallControl =>
    new AriClientCallControl({ current: () => ({}) as AriClient, restTarget: target() }, 'dcb', mayAct);
  const failure = (p: Promise<unknown>): Promise<unknown> =>
    p.then(
      () => 'resolved',
      (e: unknown) => e,
    );

  it('sends basic auth, the path below /ari and the query, and parses the JSON answer', async () => {
    answers.push({ status: 200, body: { state: 'INUSE' } });
    const r = await new AriRestClient(target()).request({
      method: 'GET',
      path: '/deviceStates/PJSIP%2F1001',
      query: { a: 1, b: undefined },
    });
    expect(r).to.deep.equal({ state: 'INUSE' });
    expect(received).to.have.length(1);
    expect(received[0]?.method).to.equal('GET');
    expect(received[0]?.path).to.equal('/ari/deviceStates/PJSIP%2F1001');
    expect(received[0]?.query).to.deep.equal({ a: ['1'] });
    expect(received[0]?.authorization).to.equal(`Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`);
  });

  it('builds the query as swagger-client did: lists comma-joined, undefined left out, values encoded', () => {
    expect(ariQueryString({ media: ['sound:a', 'sound:b b'], lang: undefined, n: 5, ok: true })).to.equal(
      '?media=sound%3Aa%2Csound%3Ab%20b&n=5&ok=true',
    );
    expect(ariQueryString({})).to.equal('');
    expect(ariQueryString(undefined)).to.equal('');
  });

  it('the adapter: play, hangup, addToBridge, createBridge, dial as ARI expects them', async () => {
    const c = adapter();
    await c.play('ch/1', ['sound:offer', 'sound:beep'], 'pb-1', 'fr');
    await c.play('ch-2', ['sound:x'], 'pb-2');
    await c.hangup('ch-3', 'busy');
    await c.addToBridge('br-1', ['a', 'b']);
    await c.createBridge('br-2', 'holding', 'hold');
    await c.dial('ch-4', 30);
    await c.stopPlayback('pb-1');
    await c.continueInDialplan('ch-5');
    await c.setChannelVariable('ch-5', 'DIRECT_CALLBACK_STATUS', 'FULL');
    expect(received.map((r) => [r.method, r.path, r.query])).to.deep.equal([
      ['POST', '/ari/channels/ch%2F1/play', { media: ['sound:offer,sound:beep'], lang: ['fr'], playbackId: ['pb-1'] }],
      ['POST', '/ari/channels/ch-2/play', { media: ['sound:x'], playbackId: ['pb-2'] }],
      ['DELETE', '/ari/channels/ch-3', { reason: ['busy'] }],
      ['POST', '/ari/bridges/br-1/addChannel', { channel: ['a,b'] }],
      ['POST', '/ari/bridges', { type: ['holding'], bridgeId: ['br-2'], name: ['hold'] }],
      ['POST', '/ari/channels/ch-4/dial', { timeout: ['30'] }],
      ['DELETE', '/ari/playbacks/pb-1', {}],
      ['POST', '/ari/channels/ch-5/continue', {}],
      ['POST', '/ari/channels/ch-5/variable', { variable: ['DIRECT_CALLBACK_STATUS'], value: ['FULL'] }],
    ]);
    expect(received.every((r) => r.body === '')).to.equal(true);
  });

  it("the adapter: originate's and create's variables go in the body as { variables }", async () => {
    const c = adapter();
    await c.originate({ channelId: 'o-1', endpoint: 'PJSIP/1001', appArgs: ['agent', 'x'], timeoutSec: 20, variables: { A: '1' } });
    await c.createChannel({ channelId: 'c-1', endpoint: 'PJSIP/1002', appArgs: ['customer'], originator: 'o-1' });
    expect(received[0]?.query).to.deep.equal({
      endpoint: ['PJSIP/1001'],
      app: ['dcb'],
      appArgs: ['agent,x'],
      timeout: ['20'],
      channelId: ['o-1'],
    });
    expect(received[0]?.contentType).to.equal('application/json');
    expect(JSON.parse(received[0]?.body ?? '')).to.deep.equal({ variables: { A: '1' } });
    expect(received[1]?.path).to.equal('/ari/channels/create');
    expect(received[1]?.query).to.deep.equal({
      endpoint: ['PJSIP/1002'],
      app: ['dcb'],
      appArgs: ['customer'],
      channelId: ['c-1'],
      originator: ['o-1'],
    });
    expect(received[1]?.body).to.equal('');
  });

  it('the adapter: reads lists and objects from the JSON answers', async () => {
    answers.push({ status: 200, body: [{ id: 'b1', channels: ['x', 7] }, { nope: 1 }] });
    answers.push({ status: 200, body: [{ id: 'c1', name: 'PJSIP/1' }, 'junk'] });
    answers.push({ status: 200, body: { channel_ids: ['c1', 2] } });
    answers.push({ status: 200, body: { system: { entity_id: 'e:1', version: '22.10.1' } } });
    const c = adapter();
    expect(await c.listBridges()).to.deep.equal([{ id: 'b1', channels: ['x'] }]);
    expect((await c.listChannels()).map((ch) => ch.id)).to.deep.equal(['c1']);
    expect(await c.applicationChannelIds()).to.deep.equal(['c1']);
    expect(await c.asteriskInfo()).to.deep.equal({ entityId: 'e:1', version: '22.10.1' });
    expect(received.map((r) => `${r.method} ${r.path}`)).to.deep.equal([
      'GET /ari/bridges',
      'GET /ari/channels',
      'GET /ari/applications/dcb',
      'GET /ari/asterisk/info',
    ]);
  });

  it('classifies failures as before: 404 not_found, 409 conflict, 422 rejected, 500 server, with the status', async () => {
    const cases: [Answer, string][] = [
      [{ status: 404, body: { message: 'Channel not found' } }, 'not_found'],
      [{ status: 409, body: { message: "Bridge with id 'b' already exists" } }, 'conflict'],
      [{ status: 409, body: { message: 'Channel not in Stasis application' } }, 'conflict'],
      [{ status: 422, body: { error: 'Allocation failed' } }, 'rejected'],
      [{ status: 500, body: { message: 'Internal Server Error' } }, 'server'],
    ];
    for (const [answer, kind] of cases) {
      answers.push(answer);
      const err = await failure(adapter().answer('ch-x'));
      expect(err, JSON.stringify(answer)).to.be.instanceOf(AriRequestError);
      expect((err as AriRequestError).kind, JSON.stringify(answer)).to.equal(kind);
      expect((err as AriRequestError).operation).to.equal('answer');
      expect((err as AriRequestError).status).to.equal(answer === 'hang' ? undefined : answer.status);
    }
    answers.push({ status: 404, body: { message: 'Playback not found' } });
    const raw = await failure(new AriRestClient(target()).request({ method: 'DELETE', path: '/playbacks/p' }));
    expect(raw).to.be.instanceOf(AriHttpError);
    expect((raw as AriHttpError).status).to.equal(404);
    expect((raw as AriHttpError).message).to.equal('{"message":"Playback not found"}');
  });

  it('no server, and no answer within the bound: transport failures', async () => {
    const closed = new AriRestClient({ ...target(), host: '127.0.0.1:1' });
    const refused = await failure(closed.request({ method: 'POST', path: '/channels/x/answer' }));
    expect((refused as AriHttpError).status).to.equal(undefined);
    expect((refused as Error).message).to.match(/ECONNREFUSED/);
    answers.push('hang');
    const t0 = performance.now();
    const hung = await failure(new AriRestClient(target()).request({ method: 'POST', path: '/channels/x/answer', timeoutMs: 200 }));
    expect((hung as Error).message).to.match(/^ETIMEDOUT/);
    expect(performance.now() - t0).to.be.at.least(190);
  });

  it('sends nothing while the ARI connection is down: a transport failure', async () => {
    const down = new AriClientCallControl(
      {
        current: () => {
          throw new Error('ECONNREFUSED: ARI is not connected');
        },
        restTarget: target(),
      },
      'dcb',
    );
    const err = await failure(down.answer('ch-z'));
    expect((err as AriRequestError).kind).to.equal('transport');
    expect(received).to.have.length(0);
  });

  it('takes the REST target from the configured ARI URL as ari-client reads it: protocol and host[:port], no path', () => {
    expect(ariRestTarget('http://127.0.0.1:8088', 'u', 'p')).to.deep.equal({
      protocol: 'http:',
      host: '127.0.0.1:8088',
      user: 'u',
      password: 'p',
    });
    expect(ariRestTarget('https://pbx.example:8089/asterisk/', 'u', 'p')).to.deep.include({ protocol: 'https:', host: 'pbx.example:8089' });
    expect(() => ariRestTarget('not a url', 'u', 'p')).to.throw();
  });

  it('sends nothing once this process may no longer act', async () => {
    const err = await failure(adapter(() => false).answer('ch-y'));
    expect((err as AriRequestError).kind).to.equal('transport');
    expect(received).to.have.length(0);
  });
});
