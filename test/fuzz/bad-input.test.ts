import { expect } from 'chai';
import { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import { PROMPTS } from '../../src/calls/prompts';
import { AriEvent } from '../../src/ari/ari-events';
import { ConfigError, parseConfig } from '../../src/config/config';
import { startRig, Rig, testConfigInput, TEST_ARI_PASSWORD } from '../helpers/plugin-harness';
import { testPostgresServer } from '../helpers/database';
import { splitRig, SplitRig, sleep, until } from '../resilience/in-process-rig';

/**
 * Bad input: nothing may crash the plugin, every refusal is clear, nothing stored is lost.
 * A seeded generator makes every failure reproducible (FUZZ_SEED=<n>).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20240607);
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const WEIRD: readonly Json[] = [
  null,
  -1,
  0,
  1.5,
  1e308,
  '',
  'x',
  'ünïcødé ☎',
  "'; DROP TABLE callback_requests; --",
  'a'.repeat(10000),
  true,
  false,
  [],
  {},
  [1, 'two'],
  { unexpected: 1 },
];

function paths(v: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function mutate(base: Json, r: () => number): Json {
  const copy = JSON.parse(JSON.stringify(base)) as Json;
  const all = paths(copy).filter((p) => p.length > 0);
  const path = pick(r, all);
  let parent: Json = copy;
  for (const k of path.slice(0, -1)) parent = (parent as Record<string, Json>)[k as string];
  const last = path[path.length - 1];
  const container = parent as Record<string | number, Json>;
  const op = r();
  if (op < 0.3 && !Array.isArray(parent)) delete container[last];
  else if (op < 0.4 && !Array.isArray(parent)) container[`unknown_${Math.floor(r() * 100)}`] = pick(r, WEIRD);
  else container[last] = pick(r, WEIRD);
  return copy;
}

/**
 * A password login to `db` on the server `admin` is connected to: the admin URL's own host and
 * port when it is TCP (an embedded server, DATABASE_URL), else 127.0.0.1 on the port the server
 * itself reports (a local cluster found through its socket). Undefined when that server takes no
 * password login over TCP. Never another server: a fixed 127.0.0.1:5432 once pointed at whatever
 * listened there, and the fallback then sent this password as another user's.
 */
async function passwordUrlOnServer(
  admin: Client,
  adminUrl: string,
  role: string,
  password: string,
  db: string,
): Promise<string | undefined> {
  const u = new URL(adminUrl);
  if (decodeURIComponent(u.hostname).startsWith('/')) {
    const { rows } = await admin.query<{ port: string }>('SHOW port');
    u.hostname = '127.0.0.1';
    u.port = rows[0]?.port ?? '5432';
  }
  u.username = role;
  u.password = password;
  u.pathname = `/${db}`;
  u.search = '';
  const probe = new Client({ connectionString: u.toString(), connectionTimeoutMillis: 2000 });
  try {
    await probe.connect();
    return u.toString();
  } catch (e) {
    if (decodeURIComponent(new URL(adminUrl).hostname).startsWith('/')) return undefined;
    throw e;
  } finally {
    await probe.end().catch(() => undefined);
  }
}

describe('fuzz: bad input', function () {
  this.timeout(60000);

  it('config: 1,000 random mutations give a ConfigError naming the field, or a valid config; never a crash', () => {
    const r = prng(SEED);
    const base = testConfigInput() as Json;
    let refused = 0;
    for (let i = 0; i < 1000; i++) {
      const input = mutate(base, r);
      try {
        parseConfig(input, { ARI_PASSWORD: 'p4ss', DATABASE_URL: 'postgres://x@y/z' });
      } catch (e) {
        refused += 1;
        if (!(e instanceof ConfigError))
          throw new Error(`mutation ${i} threw ${String(e)} for ${JSON.stringify(input).slice(0, 300)}`, { cause: e });
        expect(e.message, `mutation ${i}`).to.match(/(\(root\)|[A-Za-z_]+(\[\d+\])?(\.[A-Za-z_0-9]+|\[\d+\])*): \S/);
      }
    }
    expect(refused).to.be.greaterThan(300);
  });

  describe('with the plugin running', () => {
    let rig: Rig | undefined;
    const rejections: unknown[] = [];
    const onRejection = (e: unknown): void => {
      rejections.push(e);
    };
    before(() => process.on('unhandledRejection', onRejection));
    after(() => process.off('unhandledRejection', onRejection));
    afterEach(async () => {
      await rig?.stop();
      rig = undefined;
    });

    it('ARI events with fields missing or of the wrong type: handleEvent never throws, nothing rejects unhandled', async () => {
      rig = await startRig();
      const r = prng(SEED + 1);
      const live = rig.sim.call({ from: '+15556660001', to: 'queue:support' });
      await live.entered();
      await live.waitFor('inBridge', 3000);
      const ch = {
        id: live.id,
        name: 'PJSIP/trunk-1',
        state: 'Up',
        caller: { name: 'A', number: '+15556660001' },
        connected: { name: '', number: '' },
        dialplan: { context: 'from-trunk', exten: '5552000', priority: 2, app_name: 'Stasis', app_data: 'direct-callback,queue,support' },
        language: 'en',
      };
      const bases: Json[] = [
        { type: 'StasisStart', channel: { ...ch, id: 'fuzz-new-1' }, args: ['queue', 'support'] },
        { type: 'ChannelDtmfReceived', channel: ch, digit: '5', duration_ms: 100 },
        { type: 'PlaybackFinished', playback: { id: 'p1', media_uri: 'sound:x', target_uri: `channel:${live.id}`, state: 'done' } },
        { type: 'PlaybackStarted', playback: { id: 'p1', media_uri: 'sound:x', target_uri: `channel:${live.id}`, state: 'playing' } },
        { type: 'ChannelHangupRequest', channel: { ...ch, id: 'fuzz-gone' }, cause: 16 },
        { type: 'ChannelDestroyed', channel: { ...ch, id: 'fuzz-gone' }, cause: 16, cause_txt: 'Normal Clearing' },
        { type: 'StasisEnd', channel: { ...ch, id: 'fuzz-gone' } },
        { type: 'Dial', peer: ch, dialstatus: 'RINGING' },
        { type: 'DeviceStateChanged', device_state: { name: 'PJSIP/1001', state: 'INUSE' } },
        { type: 'ChannelStateChange', channel: ch },
        { type: 'ChannelEnteredBridge', bridge: { id: 'b' }, channel: ch },
      ];
      for (let i = 0; i < 2000; i++) {
        const base = pick(r, bases);
        const ev = r() < 0.8 ? mutate(base, r) : base;
        if (
          ev &&
          typeof ev === 'object' &&
          !Array.isArray(ev) &&
          (ev.type === 'ChannelDestroyed' || ev.type === 'StasisEnd' || ev.type === 'ChannelHangupRequest') &&
          JSON.stringify(ev).includes(live.id)
        )
          continue; // keep the witness call alive
        try {
          rig.plugin.app.handleEvent(ev as unknown as AriEvent);
        } catch (e) {
          throw new Error(`event ${i} threw: ${String(e)} for ${JSON.stringify(ev).slice(0, 300)}`, { cause: e });
        }
      }
      // Bare junk too.
      for (const junk of [
        null,
        undefined,
        42,
        'StasisStart',
        [],
        {},
        { type: 'StasisStart' },
        { type: 'StasisStart', channel: null, args: null },
      ])
        rig.plugin.app.handleEvent(junk as unknown as AriEvent);
      await sleep(1500);
      expect(rejections.map(String)).to.deep.equal([]);
      // Still working: the witness call is queued and a new call is held and offered.
      const after = rig.sim.call({ from: '+15556660002', to: 'queue:support' });
      await after.entered();
      await after.waitForPlayback((m) => m === PROMPTS.offer, 5000);
    });

    it('DTMF: random sequences (digits but 1 and 2, *, #, A-D; 2 starts number entry, tested by its own stories) and impossible digits never crash; only 1 after an offer books, once', async () => {
      rig = await startRig();
      const r = prng(SEED + 2);
      const call = rig.sim.call({ from: '+15556660003', to: 'queue:support' });
      await call.entered();
      await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
      const ch = {
        id: call.id,
        name: 'PJSIP/trunk-1',
        state: 'Up',
        caller: { name: '', number: '+15556660003' },
        connected: { name: '', number: '' },
      };
      for (const digit of ['', 'x', '11', '１', '\u0000', 'a'.repeat(10000), '😀'])
        rig.plugin.app.handleEvent({ type: 'ChannelDtmfReceived', channel: ch, digit, duration_ms: 100 } as unknown as AriEvent);
      for (let i = 0; i < 15; i++) {
        const seq = Array.from({ length: 1 + Math.floor(r() * 4) }, () =>
          pick(r, ['0', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D']),
        ).join('');
        await call.pressDtmf(seq, { durationMs: 20, gapMs: 5 });
      }
      expect(call.alive).to.equal(true);
      expect(await rig.store.listOpen()).to.have.length(0);
      const heard = call.playbacks.filter((p) => p.media.includes(PROMPTS.offer)).length;
      await until('another offer', () => call.playbacks.filter((p) => p.media.includes(PROMPTS.offer)).length > heard, 5000);
      await call.pressDtmf('1');
      await call.pressDtmf('1');
      try {
        await call.waitFor('hungup', 5000);
      } catch (e) {
        process.stderr.write(
          rig.logLines
            .filter((l) => !l.includes('"debug"'))
            .slice(-30)
            .join(''),
        );
        throw e;
      }
      expect((await rig.store.listOpen()).map((c) => c.customerNumber)).to.deep.equal(['+15556660003']);
      expect(rejections.map(String)).to.deep.equal([]);
    });

    it('caller ids: unicode, quotes, SQL, 10,000 characters, empty, anonymous: held, booked only when callable, stored verbatim (name capped at 200)', async () => {
      rig = await startRig({
        config: {
          ...testConfigInput(),
          queues: [{ ...(testConfigInput().queues as Record<string, unknown>[])[0], overflow: { maxWaiting: 1 } }],
        },
      });
      const cases: { from: string; name: string; callable: boolean }[] = [
        { from: '+15556661001', name: 'Zoë Ünïcødé ☎ 电话', callable: true },
        { from: '+15556661002', name: '"Quoted" <evil> \'single\'', callable: true },
        { from: '+15556661003', name: "Robert'); DROP TABLE callback_requests;--", callable: true },
        { from: '+15556661004', name: 'N'.repeat(10000), callable: true },
        { from: '+15556661005', name: '', callable: true },
        { from: 'anonymous', name: 'Anonymous', callable: false },
        { from: '', name: '', callable: false },
        { from: "1' OR '1'='1", name: 'sql number', callable: false },
        { from: '9'.repeat(10000), name: 'long number', callable: false },
        { from: '+1555☎6661006', name: 'unicode number', callable: false },
      ];
      for (const c of cases) {
        const call = rig.sim.call({ from: c.from, name: c.name, to: 'queue:support' });
        await call.entered();
        await call.waitFor('inBridge', 3000);
        if (c.callable) {
          await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
          await call.pressDtmf('1');
          await call.waitFor('hungup', 5000);
        } else {
          await sleep(700);
          expect(call.alive).to.equal(true);
          call.hangup();
        }
      }
      const open = await rig.store.listOpen();
      const expected = cases.filter((c) => c.callable).map((c) => [c.from, c.name === '' ? null : c.name.slice(0, 200)]);
      expect(open.map((o) => [o.customerNumber, o.customerName]).sort()).to.deep.equal(expected.sort());
      expect(await rig.database.db.schema.hasTable('callback_requests')).to.equal(true);
      expect(rejections.map(String)).to.deep.equal([]);
    });
  });

  describe('secrets', () => {
    let rig: SplitRig | undefined;
    let role: string | undefined;
    let ownDb: string | undefined;
    after(async () => {
      await rig?.stop();
      if (role) {
        const server = await testPostgresServer();
        const c = new Client({ connectionString: server.adminUrl });
        await c.connect();
        if (ownDb) await c.query(`DROP DATABASE IF EXISTS ${ownDb} WITH (FORCE)`).catch(() => undefined);
        await c.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
        await c.end();
      }
    });

    it('a full story with the ARI and database passwords known: no log line contains either', async () => {
      const dbPassword = `db-Secret-${randomBytes(6).toString('hex')}`;
      rig = await splitRig(
        {},
        {
          // The plugin logs in as a role with a password, on the same server the tests found.
          databaseUrl: async (scratchUrl, name) => {
            const server = await testPostgresServer();
            const c = new Client({ connectionString: server.adminUrl });
            await c.connect();
            try {
              role = `adc_fuzz_${randomBytes(3).toString('hex')}`;
              ownDb = `${name}_pw`;
              await c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${dbPassword}'`);
              await c.query(`CREATE DATABASE ${ownDb} OWNER ${role}`);
              const withPassword = await passwordUrlOnServer(c, server.adminUrl, role, dbPassword, ownDb);
              if (withPassword) return withPassword;
              // A socket-only cluster with peer authentication: the password cannot be used, so it
              // rides along in the socket URL (ignored by the server) and the logs are still scanned for it.
              const u = new URL(scratchUrl);
              u.password = dbPassword;
              return u.toString();
            } finally {
              await c.end();
            }
          },
        },
      );
      const r = rig;
      const plugin = await r.start();
      // The story: book a callback, the agent takes it, the customer answers; plus a failed store.
      const call = r.sim.call({ from: '+15556662001', name: 'Secret Test', to: 'queue:support' });
      await call.entered();
      await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
      await call.pressDtmf('1');
      await call.waitFor('hungup', 5000);
      r.sim.endpoint('PJSIP/1001').answersAfter(100);
      r.sim.endpoint('PJSIP/15556662001@trunk').answersAfter(100);
      r.sim.endpoint('PJSIP/1001').setDeviceState(null);
      const leg = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
      await leg.waitForPlayback((m) => m === PROMPTS.whisperIntro, 3000);
      await leg.pressDtmf('1');
      const customer = await r.sim.endpoint('PJSIP/15556662001@trunk').nextLeg(5000);
      await customer.waitFor('Up', 3000);
      const guard = (PROMPTS as Record<string, string>).guard;
      if (guard !== undefined) {
        await customer.waitForPlayback((m) => m === guard, 3000);
        await customer.pressDtmf('1');
      }
      await until('the bridge', () => r.sim.bridges().some((b) => b.bridge_type === 'mixing' && b.channels.length === 2), 5000);
      leg.hangup();
      await customer.waitFor('hungup', 5000);
      await r.sim.dropWebSocket();
      await r.sim.waitForApp('direct-callback', 5000);
      await sleep(500);
      expect(plugin.app.liveSessions).to.be.lessThan(3);
      const lines = r.logLines;
      expect(lines.length).to.be.greaterThan(10);
      const leaks = lines.filter((l) => l.includes(TEST_ARI_PASSWORD) || l.includes(dbPassword));
      expect(leaks, 'log lines with a password').to.deep.equal([]);
    });
  });
});
