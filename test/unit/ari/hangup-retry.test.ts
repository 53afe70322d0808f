import http from 'node:http';
import { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { AriClient } from 'ari-client';
import { AriClientCallControl } from '../../../src/ari/ari-client-adapter';
import { AriRequestError } from '../../../src/ari/call-control';

/**
 * AriClientCallControl.hangup sends a hangup Asterisk refused (5xx) again after 250, 500 and
 * 1000 ms, and stops at a success or a 404 (the channel is gone). Asterisk is a local HTTP
 * server answering DELETE /ari/channels/{id} from a script, with the bodies Asterisk sends.
 */
type Answer = 'ok' | '500' | '404';
const bodyOf: Record<Exclude<Answer, 'ok'>, string> = {
  '500': JSON.stringify({ message: 'Internal Server Error' }),
  '404': JSON.stringify({ message: 'Channel not found' }),
};

let server: http.Server | undefined;
let onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void = () => undefined;

function adapter(script: Answer[], mayAct: () => boolean = () => true): { control: AriClientCallControl; sentAt: number[] } {
  const sentAt: number[] = [];
  const t0 = performance.now();
  onRequest = (req, res) => {
    if (req.method !== 'DELETE' || !req.url?.startsWith('/ari/channels/')) {
      res.statusCode = 400;
      return res.end();
    }
    sentAt.push(performance.now() - t0);
    const answer = script.shift() ?? 'ok';
    res.statusCode = answer === 'ok' ? 204 : Number(answer);
    res.end(answer === 'ok' ? undefined : bodyOf[answer]);
  };
  const port = (server?.address() as AddressInfo).port;
  const link = { current: () => ({}) as AriClient, restTarget: { protocol: 'http:', host: `127.0.0.1:${port}`, user: 'u', password: 'p' } };
  return { control: new AriClientCallControl(link, 'dcb', mayAct), sentAt };
}

const outcome = (p: Promise<void>): Promise<unknown> =>
  p.then(
    () => 'ok',
    (e: unknown) => e,
  );

describe('AriClientCallControl.hangup: a refused hangup is sent again (ari/ari-client-adapter.ts)', function () {
  this.timeout(10_000);

  before(async () => {
    server = http.createServer((req, res) => onRequest(req, res));
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  it('retries a 500 twice, after 250 and 500 ms, and succeeds', async () => {
    const { control, sentAt } = adapter(['500', '500', 'ok']);
    expect(await outcome(control.hangup('ch-1'))).to.equal('ok');
    expect(sentAt).to.have.length(3);
    // Lower bounds only: a loaded machine makes the waits longer, never shorter.
    expect(sentAt[1] - sentAt[0]).to.be.at.least(240);
    expect(sentAt[2] - sentAt[1]).to.be.at.least(490);
  });

  it('stops at a 404 after a 500 (the channel is gone: nothing left to hang up)', async () => {
    const { control, sentAt } = adapter(['500', '404', '500']);
    const err = await outcome(control.hangup('ch-2'));
    expect(err).to.be.instanceOf(AriRequestError);
    expect((err as AriRequestError).kind).to.equal('not_found');
    expect(sentAt).to.have.length(2);
  });

  it('gives up after three retries (four requests) and throws the server error', async () => {
    const { control, sentAt } = adapter(['500', '500', '500', '500', 'ok']);
    const err = await outcome(control.hangup('ch-3'));
    expect((err as AriRequestError).kind).to.equal('server');
    expect(sentAt).to.have.length(4);
    expect(sentAt[3] - sentAt[2]).to.be.at.least(990);
  });

  it('does not retry a not_found', async () => {
    for (const first of ['404'] as const) {
      const { control, sentAt } = adapter([first, 'ok']);
      const err = await outcome(control.hangup('ch-4'));
      expect(err, first).to.be.instanceOf(AriRequestError);
      expect(sentAt, first).to.have.length(1);
    }
  });

  it('does not retry once this process may no longer act (standby demoted)', async () => {
    let leading = true;
    const { control, sentAt } = adapter(['500', 'ok'], () => {
      // Demoted right after the first request went out.
      const now = leading;
      leading = false;
      return now;
    });
    const err = await outcome(control.hangup('ch-5'));
    expect((err as AriRequestError).kind).to.equal('server');
    expect(sentAt).to.have.length(1);
  });
});
