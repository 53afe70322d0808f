import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { clientKey, FailedAuthGuard, isLoopbackHost, StreamCap } from '../../src/http/abuse-guards';
import { hashToken } from '../../src/http/auth';
import { DB_READ_TIMEOUT_MS, MetricsSource, PluginMetrics } from '../../src/metrics/metrics';
import { freshDatabase, TestDatabase } from '../helpers/database';
import { lockTable } from '../helpers/database-faults';
import { sleep } from '../helpers/plugin-harness';
import { startSurfaceRig, SurfaceRig, TOKENS } from './surface-rig';

/** Issue 19, the HTTP surface: token guessing, stream hoarding, caching, /metrics, the panel's paths, the bind warning. */

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A GET through node:http so that the source address (a second loopback address) can be chosen. */
function rawGet(
  base: string,
  path: string,
  o: { token?: string; from?: string; agent?: http.Agent; headers?: Record<string, string> },
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
    const req = http.get(`${base}${path}`, { headers, agent: o.agent, ...(o.from && !o.agent ? { localAddress: o.from } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

function errorLines(lines: string[]): string[] {
  return lines.filter((l) => /"level":"error"/.test(l) || /API request failed|\n\s+at /.test(l));
}

const METRICS_TOKEN = 'prm-7c1d93e0aa-test';

describe('surfaces: hardening (issue 19)', function () {
  this.timeout(60000);

  describe('pure guards', () => {
    it('wrong tokens: the 11th in a minute is refused with the seconds to wait; the window slides; other clients are untouched', () => {
      let now = 1_000_000;
      const g = new FailedAuthGuard(10, () => now);
      for (let i = 0; i < 10; i++) {
        expect(g.retryAfterSec('198.51.100.7'), `before failure ${i + 1}`).to.equal(0);
        g.failed('198.51.100.7');
        now += 1000;
      }
      expect(g.retryAfterSec('198.51.100.7')).to.equal(50); // the first failure leaves at +60 s
      expect(g.retryAfterSec('198.51.100.8')).to.equal(0);
      now += 49_500;
      expect(g.retryAfterSec('198.51.100.7')).to.equal(1);
      now += 500;
      expect(g.retryAfterSec('198.51.100.7'), 'one failure has left the window').to.equal(0);
    });

    it('IPv6 clients count per /64; IPv4-mapped addresses count as IPv4', () => {
      expect(clientKey('2001:db8:1:2::5')).to.equal('2001:db8:1:2::/64');
      expect(clientKey('2001:0db8:0001:0002:ffff:1:2:3')).to.equal('2001:db8:1:2::/64');
      expect(clientKey('2001:db8::1')).to.equal('2001:db8:0:0::/64');
      expect(clientKey('2001:db8:1:3::5')).not.to.equal(clientKey('2001:db8:1:2::5'));
      expect(clientKey('::ffff:203.0.113.9')).to.equal('203.0.113.9');
      expect(clientKey('::1')).to.equal('0:0:0:0::/64');
      expect(clientKey('203.0.113.9')).to.equal('203.0.113.9');
      let now = 0;
      const g = new FailedAuthGuard(2, () => now);
      g.failed('2001:db8:1:2::a');
      g.failed('2001:db8:1:2::b');
      expect(g.retryAfterSec('2001:db8:1:2::c')).to.equal(60);
      now += 60_000;
      expect(g.retryAfterSec('2001:db8:1:2::c')).to.equal(0);
    });

    it('stream cap: per holder, released once however often release is called', () => {
      const cap = new StreamCap<object>(2);
      const a = {};
      const b = {};
      const r1 = cap.tryOpen(a);
      const r2 = cap.tryOpen(a);
      expect(r1 && r2).to.be.a('function');
      expect(cap.tryOpen(a)).to.equal(undefined);
      expect(cap.tryOpen(b)).to.be.a('function');
      r1?.();
      r1?.();
      expect(cap.count(a)).to.equal(1);
      expect(cap.tryOpen(a)).to.be.a('function');
      expect(cap.tryOpen(a)).to.equal(undefined);
    });

    it('loopback hosts', () => {
      for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1'])
        expect(isLoopbackHost(h), h).to.equal(true);
      for (const h of ['0.0.0.0', '::', '192.168.1.10', 'pbx.example.com', '10.127.0.1']) expect(isLoopbackHost(h), h).to.equal(false);
    });
  });

  describe('default configuration (loopback, /metrics open)', () => {
    let r: SurfaceRig;
    before(async () => {
      r = await startSurfaceRig();
    });
    after(async () => {
      await r?.stop();
    });

    it('every API answer says no-store and nosniff: 200, 400, 401, 404, the OpenAPI document, /metrics', async () => {
      const answers = {
        queues: await r.api('GET', '/queues'),
        callbacks: await r.api('GET', '/callbacks'),
        me: await r.api('GET', '/me', { token: TOKENS.a1001 }),
        bad: await r.api('POST', '/callbacks', { body: { queueId: 'support', number: 'x' } }),
        anonymous: await r.api('GET', '/queues', { token: null }),
        unknownRoute: await r.api('GET', '/nothing-here'),
      };
      expect(Object.values(answers).map((a) => a.status)).to.deep.equal([200, 200, 200, 400, 401, 404]);
      for (const [what, a] of Object.entries(answers)) {
        expect(a.headers.get('cache-control'), what).to.equal('no-store');
        expect(a.headers.get('x-content-type-options'), what).to.equal('nosniff');
      }
      for (const path of ['/api/v1/openapi.json', '/metrics']) {
        const res = await fetch(`${r.base}${path}`);
        expect(res.status, path).to.equal(200);
        expect(res.headers.get('cache-control'), path).to.equal('no-store');
        expect(res.headers.get('x-content-type-options'), path).to.equal('nosniff');
      }
      const panel = await fetch(`${r.base}/panel/panel.js`);
      expect(panel.headers.get('cache-control'), 'static panel files revalidate').to.equal('no-cache');
      expect(panel.headers.get('x-content-type-options')).to.equal('nosniff');
    });

    it('/panel/__proto__, /panel/constructor and other prototype names answer 404 and log nothing', async () => {
      const before = r.logLines.length;
      for (const name of ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf', '__defineGetter__']) {
        const res = await fetch(`${r.base}/panel/${name}`);
        expect(res.status, name).to.equal(404);
        expect(await res.json(), name).to.deep.equal({ error: 'not found' });
      }
      expect((await fetch(`${r.base}/panel/index.html`)).status).to.equal(200);
      expect(errorLines(r.logLines.slice(before))).to.deep.equal([]);
    });

    it('at most 5 event streams per token: the 6th answers 429; other tokens are not counted; a closed stream frees its place', async () => {
      const aborts: AbortController[] = [];
      const open = async (token: string, query = '') => {
        const abort = new AbortController();
        aborts.push(abort);
        const res = await fetch(`${r.base}/api/v1/me/events${query}`, {
          headers: { authorization: `Bearer ${token}` },
          signal: abort.signal,
        });
        return { res, abort };
      };
      try {
        const five = [];
        for (let i = 0; i < 5; i++) five.push(await open(TOKENS.a1001));
        expect(five.map((s) => s.res.status)).to.deep.equal([200, 200, 200, 200, 200]);
        expect(five[0]?.res.headers.get('x-content-type-options')).to.equal('nosniff');
        const sixth = await open(TOKENS.a1001);
        expect(sixth.res.status).to.equal(429);
        expect(((await sixth.res.json()) as { error: string }).error).to.match(/5 event streams/);
        // The admin token acting for a1001 is another token, and so is agent B's.
        expect((await open(TOKENS.admin, '?agentId=a1001')).res.status).to.equal(200);
        expect((await open(TOKENS.a1002)).res.status).to.equal(200);
        five[0]?.abort.abort();
        const deadline = Date.now() + 3000;
        let again = await open(TOKENS.a1001);
        while (again.res.status === 429 && Date.now() < deadline) {
          await sleep(50);
          again = await open(TOKENS.a1001);
        }
        expect(again.res.status, 'a place is free once a stream closed').to.equal(200);
        expect((await open(TOKENS.a1001)).res.status).to.equal(429);
      } finally {
        for (const a of aborts) a.abort();
      }
    });

    it('2,000 wrong tokens from one address: 10 answer 401, the rest 429 with retry-after; a good token from another address still works', async () => {
      const attacker = new http.Agent({ keepAlive: true, maxSockets: 20, localAddress: '127.0.0.3' });
      try {
        const statuses = new Map<number, number>();
        const retryAfter = new Set<string>();
        for (let batch = 0; batch < 100; batch++) {
          const answers = await Promise.all(
            Array.from({ length: 20 }, (_x, i) => rawGet(r.base, '/api/v1/queues', { token: `guess-${batch}-${i}`, agent: attacker })),
          );
          for (const a of answers) {
            statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
            if (a.status === 429) retryAfter.add(String(a.headers['retry-after']));
          }
        }
        expect(Object.fromEntries(statuses)).to.deep.equal({ 401: 10, 429: 1990 });
        for (const s of retryAfter) expect(Number(s), `retry-after ${s}`).to.be.within(1, 60);
        // Blocked means blocked: the attacker's address cannot try even a right token (it would learn it is right).
        const right = await rawGet(r.base, '/api/v1/queues', { token: TOKENS.admin, agent: attacker });
        expect(right.status).to.equal(429);
        expect(right.headers['retry-after']).to.match(/^\d+$/);
        expect(JSON.parse(right.body)).to.deep.equal({ error: 'too many wrong tokens from this address; try again later' });
        // Everyone else is served as before, without delay.
        const t0 = Date.now();
        const other = await rawGet(r.base, '/api/v1/queues', { token: TOKENS.admin, from: '127.0.0.2' });
        expect(other.status).to.equal(200);
        expect((await r.api('GET', '/queues')).status, 'the default 127.0.0.1').to.equal(200);
        expect(Date.now() - t0).to.be.below(1000);
        expect(r.logLines.join('')).not.to.include('guess-');
      } finally {
        attacker.destroy();
      }
    });

    it('no warning about the bind address on loopback; /metrics needs no token', async () => {
      expect(r.logLines.join('')).not.to.include('beyond loopback');
      expect((await fetch(`${r.base}/metrics`)).status).to.equal(200);
    });
  });

  describe('http.host 0.0.0.0, http.metricsAccess token, behind a trusted proxy', () => {
    let r: SurfaceRig;
    before(async () => {
      r = await startSurfaceRig({
        over: {
          http: { enabled: true, host: '0.0.0.0', port: 0, metricsAccess: 'token', trustedProxies: ['127.0.0.1'] },
          api: {
            tokens: [
              { name: 'ops', sha256: hashToken(TOKENS.admin), scope: 'admin' },
              { name: 'ann', sha256: hashToken(TOKENS.a1001), scope: 'agent:a1001' },
              { name: 'prometheus', sha256: hashToken(METRICS_TOKEN), scope: 'metrics' },
            ],
            failedAuthPerMinute: 3,
          },
        },
      });
    });
    after(async () => {
      await r?.stop();
    });

    it('warns once at start that it listens beyond loopback without TLS', () => {
      const warnings = r.logLines.filter((l) => l.includes('beyond loopback'));
      expect(warnings).to.have.length(1);
      const w = JSON.parse(warnings[0] ?? '{}') as Record<string, unknown>;
      expect(w.level).to.equal('warn');
      expect(String(w.message)).to.match(/no TLS/);
      expect(w.host).to.equal('0.0.0.0');
      expect(w.metrics).to.equal('token');
    });

    it('/metrics: 401 without a token, 403 for an agent token, 200 for the metrics and the admin token', async () => {
      const none = await fetch(`${r.base}/metrics`);
      expect(none.status).to.equal(401);
      expect(none.headers.get('www-authenticate')).to.match(/^Bearer/);
      const agent = await fetch(`${r.base}/metrics`, { headers: { authorization: `Bearer ${TOKENS.a1001}` } });
      expect(agent.status).to.equal(403);
      for (const token of [METRICS_TOKEN, TOKENS.admin]) {
        const res = await fetch(`${r.base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).to.equal(200);
        expect(await res.text()).to.include('direct_callback_ari_connected 1');
      }
    });

    it('a metrics token reaches no API route', async () => {
      for (const path of ['/queues', '/me', '/me/preview', '/me/events']) {
        const res = await r.api('GET', path, { token: METRICS_TOKEN });
        expect(res.status, path).to.equal(403);
        expect(res.json.error, path).to.match(/metrics/);
      }
    });

    it('behind the trusted proxy, wrong tokens count per forwarded client, and /metrics is guarded too', async () => {
      const from = (client: string, token: string, path = '/api/v1/queues') =>
        rawGet(r.base, path, { token, headers: { 'x-forwarded-for': client } });
      const first = [];
      for (let i = 0; i < 4; i++) first.push((await from('203.0.113.5', `wrong-${i}`)).status);
      expect(first).to.deep.equal([401, 401, 401, 429]);
      expect((await from('203.0.113.5', METRICS_TOKEN, '/metrics')).status).to.equal(429);
      expect((await from('203.0.113.6', TOKENS.admin)).status, 'another client behind the same proxy').to.equal(200);
      expect((await from('203.0.113.6', METRICS_TOKEN, '/metrics')).status).to.equal(200);
    });
  });

  describe('/metrics never waits on the database', () => {
    let t: TestDatabase;
    let now = 1_700_000_000_000;
    let metrics: PluginMetrics;
    let numbers = 0;
    const source: MetricsSource = {
      now: () => now,
      queueIds: () => [],
      queueFigures: () => undefined,
      estimatedWaitSec: () => 0,
      onMilestone: () => () => undefined,
    };
    const addCallback = (status: string) =>
      t
        .db('callback_requests')
        .insert({ id: randomUUID(), queue_id: 'support', customer_number: `+1555000${1000 + ++numbers}`, arrived_at: new Date(), status });
    const value = (text: string, series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.split(' ').pop());
    };
    const waitingForLock = async () =>
      Number(
        (
          await t.db.raw<{
            rows: { n: string }[];
          }>(`SELECT count(*) AS n FROM pg_locks WHERE NOT granted AND relation = 'callback_requests'::regclass
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
        ).rows[0]?.n,
      );

    before(async () => {
      t = await freshDatabase();
      metrics = new PluginMetrics({ app: { admin: source }, db: t.db, isAriConnected: () => true });
    });
    after(async () => {
      metrics?.stop();
      await t?.close();
    });

    it('with the table locked, a scrape answers at once with the last figures and their age; one read waits, and it is cancelled', async () => {
      await addCallback('pending');
      await addCallback('pending');
      await addCallback('completed');
      const fresh = await metrics.text();
      expect(value(fresh, 'direct_callback_callbacks{status="pending"}')).to.equal(2);
      expect(value(fresh, 'direct_callback_db_figures_age_seconds')).to.equal(0);

      const lock = await lockTable(t.db, 'callback_requests');
      try {
        for (let scrape = 1; scrape <= 3; scrape++) {
          now += 6000;
          const t0 = Date.now();
          const text = await metrics.text();
          expect(Date.now() - t0, `scrape ${scrape} took`).to.be.below(1000);
          expect(value(text, 'direct_callback_callbacks{status="pending"}')).to.equal(2);
          expect(value(text, 'direct_callback_callbacks{status="completed"}')).to.equal(1);
          expect(value(text, 'direct_callback_db_figures_age_seconds')).to.equal(6 * scrape);
        }
        expect(await waitingForLock(), 'one read in flight, not one per scrape').to.equal(1);
        const deadline = Date.now() + DB_READ_TIMEOUT_MS + 2000;
        while ((await waitingForLock()) > 0 && Date.now() < deadline) await sleep(100);
        expect(await waitingForLock(), 'the stalled read was cancelled').to.equal(0);
      } finally {
        await lock.release();
      }
      await addCallback('pending');
      now += 6000;
      const after = await metrics.text();
      expect(value(after, 'direct_callback_callbacks{status="pending"}'), 'fresh again once the lock is gone').to.equal(3);
      expect(value(after, 'direct_callback_db_figures_age_seconds')).to.equal(0);
    });
  });
});
