import http from 'node:http';

/**
 * What the doctor rig's Asterisk loaded from pjsip.conf, answered as ARI's dynamic configuration
 * (GET /ari/asterisk/config/dynamic/res_pjsip/{endpoint|auth}/{id}: a list of {attribute, value};
 * an unknown id 404; measured on Asterisk 22.10.1, see src/doctor/pjsip-config.ts). The simulator
 * has no such resource (it answers 501), so the rig puts this HTTP front before it: these GETs
 * are answered from `RigPjsip`, after the same Basic credentials check; every other request goes
 * on to the simulator unchanged. A front rather than a wrapper of the doctor's AriHttp, so the
 * `direct-callback doctor` command run as a child process sees the same Asterisk.
 */
export interface RigPjsip {
  endpoints: Map<string, { context: string; auth: string }>;
  /** auth name → password. */
  passwords: Map<string, string>;
}

/** The phones' passwords of the rig's working install (none is a placeholder). */
export const SIP_SECRETS = { '1001': 'rig-sip-1001-6c1f0a9e', '1002': 'rig-sip-1002-93b7d2c4' };

/** The sample's: phones 1001 and 1002 in from-agents with passwords of their own, the trunk in from-trunk without auth. */
export function samplePjsip(): RigPjsip {
  return {
    endpoints: new Map([
      ['trunk', { context: 'from-trunk', auth: '' }],
      ['1001', { context: 'from-agents', auth: '1001' }],
      ['1002', { context: 'from-agents', auth: '1002' }],
    ]),
    passwords: new Map(Object.entries(SIP_SECRETS)),
  };
}

export interface PjsipConfigProxy {
  url: string;
  stop(): Promise<void>;
}

export async function startPjsipConfigProxy(
  target: string,
  credentials: { user: string; password: string },
  pjsip: RigPjsip,
): Promise<PjsipConfigProxy> {
  const expected = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const m = /^\/ari\/asterisk\/config\/dynamic\/res_pjsip\/(endpoint|auth)\/([^/?]+)$/.exec(new URL(req.url ?? '/', target).pathname);
    if (m && req.method === 'GET') {
      if (req.headers.authorization !== expected) return send(401, { message: 'Authentication required' });
      const id = decodeURIComponent(m[2] ?? '');
      const tuples = (entries: [string, string][]) => entries.map(([attribute, value]) => ({ attribute, value }));
      if (m[1] === 'endpoint') {
        const e = pjsip.endpoints.get(id);
        if (!e) return send(404, { message: `Object with id '${id}' not found` });
        return send(
          200,
          tuples([
            ['transport', 'transport-udp'],
            ['context', e.context],
            ['auth', e.auth],
            ['outbound_auth', ''],
          ]),
        );
      }
      const password = pjsip.passwords.get(id);
      if (password === undefined) return send(404, { message: `Object with id '${id}' not found` });
      return send(
        200,
        tuples([
          ['username', id],
          ['auth_type', 'userpass'],
          ['password', password],
        ]),
      );
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => send(502, { message: 'simulator not reachable' }));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
