/**
 * `npm run bench -- [--json] [--callers N] [--window S] [--pending N]`: performance on the simulator.
 *
 * Part A (ARI latency and memory): the plugin runs as a child process against the simulator (in
 * this process). N callers (default 10,000) are brought into one overflowing queue with offer
 * loops; then for a measuring window, 50 callers/s arrive (StasisStart -> POST answer is timed)
 * and 50 callers/s press 5 during an offer (ChannelDtmfReceived -> DELETE /playbacks is timed).
 * Times are taken on the simulator's clock: the event sent, the resulting request received. The
 * floor is a bare ari-client app (child process) answering 50 calls/s the same way, same run.
 * rss_per_call_kb is the plugin child's RSS growth over the N callers, divided by N.
 *
 * Part B (dispatch and queries): M pending callbacks (default 100,000) in PostgreSQL; the plugin
 * child loads them; an agent's phone becomes free (DeviceStateChanged NOT_INUSE) -> the agent leg
 * is originated (POST /channels) is timed, 200 times. Position + estimated wait are timed in-process
 * on a CallbackApp holding 1,000 and then 100,000 queued callbacks.
 */
import path from 'node:path';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { Knex } from 'knex';
import { AriSimulator, SimCall } from '../simulator/ari-simulator';
import { PROMPTS } from '../calls/prompts';
import { createDatabase, migrate } from '../store/database';
import { createScratchDatabase, findPostgresServer, PostgresServer } from '../store/postgres-server';
import { PluginChild } from '../faults/child';
import { parseConfig } from '../config/config';
import { storyConfig } from '../config/story-config';
import { CallbackApp } from '../engine/callback-app';
import { CallbackStore } from '../store/callback-store';
import { createLogger } from '../logging/logger';
import { systemClock } from '../domain';
import { CallControl } from '../ari/call-control';
import { numberOption, parseCommandLine } from '../cli/options';

const COMMAND = {
  usage: 'npm run bench --',
  summary: 'Latency, memory and dispatch figures of the plugin on the ARI simulator (see README "Performance").',
  options: {
    json: { type: 'boolean', description: 'print one JSON line with every figure' },
    callers: { type: 'string', valueName: 'n', description: 'waiting callers with offer loops (default 10000)' },
    window: { type: 'string', valueName: 's', description: 'seconds of measured arrivals and DTMF (default 20)' },
    pending: { type: 'string', valueName: 'n', description: 'pending callbacks for the dispatch figures (default 100000)' },
  },
} as const;

const PASSWORD = 'bench-pa55word';
const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}
const r2 = (x: number): number => Math.round(x * 100) / 100;

function benchConfig(agents: string[]): Record<string, unknown> {
  return storyConfig({
    logLevel: 'warn',
    queueId: 'bench',
    agents: agents.map((e, i) => [`b${i}`, `Agent ${i}`, e] as const),
    queue: { offer: { initialDelaySec: 1, intervalSec: 20, thresholdPosition: 0 }, outboundCallerId: { name: 'Bench', number: '5550100' } },
    callback: { agentRingTimeoutSec: 5, customerRingTimeoutSec: 5, declineWindowSec: 0, previewDecisionSec: 5, leaseSec: 120, syncIntervalSec: 5 },
  });
}

interface PartA {
  waiting_callers: number;
  event_to_command_p50_ms: number;
  event_to_command_p99_ms: number;
  answer_p99_ms: number;
  dtmf_stop_p99_ms: number;
  floor_p50_ms: number;
  floor_p99_ms: number;
  ratio_p99_to_floor: number;
  rss_per_call_kb: number;
  samples: number;
}

async function partA(server: PostgresServer, callers: number, windowSec: number): Promise<PartA> {
  const sim = await AriSimulator.start({ user: 'direct-callback', password: PASSWORD, timing: { defaultSoundMs: 3000, perDigitMs: 10 } });
  const scratch = await createScratchDatabase(server, 'adc_bench');
  const agents = ['PJSIP/1001', 'PJSIP/1002'];
  for (const a of agents) sim.endpoint(a).setDeviceState('INUSE');
  const env = { ARI_URL: sim.url, ARI_PASSWORD: PASSWORD, DATABASE_URL: scratch.url, INSTANCE_ID: 'bench', LOG_LEVEL: 'warn' };
  const plugin = PluginChild.start({ config: benchConfig(agents), env });
  const floor = PluginChild.start({ config: {}, env: { ARI_URL: sim.url, ARI_USER: 'direct-callback', ARI_PASSWORD: PASSWORD, FLOOR_APP: 'bench-floor' }, entry: path.resolve(__dirname, 'floor-app.ts') });
  try {
    await plugin.ready(60000);
    await floor.ready(30000);
    await sim.waitForApp('direct-callback', 5000);
    await sim.waitForApp('bench-floor', 5000);
    // Timing hooks on the simulator's clock.
    const eventAt = new Map<string, number>(); // key -> ms
    const answerLat: number[] = [];
    const floorLat: number[] = [];
    const dtmfLat: number[] = [];
    const floorIds = new Set<string>();
    let measuring = false;
    const dtmfPending = new Map<string, number>(); // channel id -> dtmf event time
    sim.onEvent((rec) => {
      if (!measuring || !rec.delivered) return;
      const ev = rec.event as { type?: string; channel?: { id?: string } };
      const id = ev.channel?.id;
      if (!id) return;
      if (ev.type === 'StasisStart') eventAt.set(id, rec.atMs);
      else if (ev.type === 'ChannelDtmfReceived' && dtmfPending.get(id) === -1) dtmfPending.set(id, rec.atMs);
    });
    sim.onRequest((req) => {
      if (!measuring) return;
      let m = /^\/ari\/channels\/([^/]+)\/answer$/.exec(req.path);
      if (m?.[1] && req.method === 'POST') {
        const t = eventAt.get(m[1]);
        if (t !== undefined) {
          (floorIds.has(m[1]) ? floorLat : answerLat).push(req.atMs - t);
          eventAt.delete(m[1]);
        }
        return;
      }
      m = /^\/ari\/playbacks\/([^/]+)$/.exec(req.path);
      if (m?.[1] && req.method === 'DELETE') {
        for (const [ch, t] of dtmfPending) {
          if (t >= 0 && m[1].startsWith(ch)) {
            dtmfLat.push(req.atMs - t);
            dtmfPending.delete(ch);
            break;
          }
        }
      }
    });
    // Ramp: N callers into the queue.
    const rssBefore = plugin.rssKb() ?? 0;
    const calls: SimCall[] = [];
    let n = 0;
    const t0 = performance.now();
    while (n < callers) {
      for (let i = 0; i < 20 && n < callers; i++, n++) calls.push(sim.call({ from: `+1444${String(n).padStart(7, '0')}`, to: 'queue:bench', app: 'direct-callback' }));
      await sleep(40);
    }
    const answered = (): number => calls.filter((c) => c.bridge !== null).length;
    const deadline = Date.now() + 120000;
    while (answered() < callers && Date.now() < deadline) await sleep(250);
    say(`ramp: ${answered()} of ${callers} callers held in ${Math.round(performance.now() - t0)} ms`);
    await sleep(3000);
    const rssAfter = plugin.rssKb() ?? 0;
    // Measuring window: 50 arrivals/s, 50 DTMF 5 during offers/s, 50 floor calls/s.
    measuring = true;
    let k = 0;
    const tick = setInterval(() => {
      for (let i = 0; i < 5; i++) {
        k += 1;
        calls.push(sim.call({ from: `+1445${String(k).padStart(7, '0')}`, to: 'queue:bench', app: 'direct-callback' }));
        const f = sim.call({ from: `+1446${String(k).padStart(7, '0')}`, to: 'queue:bench', app: 'bench-floor' });
        floorIds.add(f.id);
        for (let tries = 0; tries < 30; tries++) {
          const c = calls[Math.floor(Math.random() * callers)];
          if (!c || dtmfPending.has(c.id)) continue;
          const pb = c.playbacks;
          const last = pb[pb.length - 1];
          if (last && last.state === 'playing' && last.media.includes(PROMPTS.offer)) {
            dtmfPending.set(c.id, -1);
            void c.pressDtmf('5', { durationMs: 20 }).catch(() => undefined);
            break;
          }
        }
      }
    }, 100);
    await sleep(windowSec * 1000);
    clearInterval(tick);
    await sleep(1000);
    measuring = false;
    const all = [...answerLat, ...dtmfLat];
    const p99 = pct(all, 99);
    const floorP99 = pct(floorLat, 99);
    say(`samples: answer ${answerLat.length}, dtmf->stop ${dtmfLat.length}, floor ${floorLat.length}`);
    return {
      waiting_callers: callers,
      event_to_command_p50_ms: r2(pct(all, 50)),
      event_to_command_p99_ms: r2(p99),
      answer_p99_ms: r2(pct(answerLat, 99)),
      dtmf_stop_p99_ms: r2(pct(dtmfLat, 99)),
      floor_p50_ms: r2(pct(floorLat, 50)),
      floor_p99_ms: r2(floorP99),
      ratio_p99_to_floor: r2(p99 / floorP99),
      rss_per_call_kb: r2((rssAfter - rssBefore) / callers),
      samples: all.length,
    };
  } finally {
    await plugin.stop();
    await floor.stop();
    await sim.stop();
    await scratch.drop().catch(() => undefined);
  }
}

async function insertPending(db: Knex, count: number): Promise<void> {
  const t0 = Date.now();
  const batch = 5000;
  for (let i = 0; i < count; i += batch) {
    const rows = Array.from({ length: Math.min(batch, count - i) }, (_, j) => ({
      id: randomUUID(),
      queue_id: 'bench',
      customer_number: `+1333${String(i + j).padStart(7, '0')}`,
      language: 'en',
      priority: 0,
      arrived_at: new Date(t0 - count + i + j),
      max_attempts: 3,
    }));
    await db('callback_requests').insert(rows);
  }
}

interface PartB {
  pending_callbacks: number;
  dispatch_p50_ms: number;
  dispatch_p99_ms: number;
  position_query_1k_us: number;
  position_query_100k_us: number;
  position_query_ratio_100k_1k: number;
  dispatch_samples: number;
}

function noControl(): CallControl {
  const no = (): Promise<never> => Promise.reject(new Error('bench: no ARI'));
  return {
    answer: no, hangup: no, play: no, stopPlayback: no, ring: no, ringStop: no, startMoh: no, stopMoh: no, createBridge: no, addToBridge: no, destroyBridge: no,
    startBridgeMoh: no, stopBridgeMoh: no, originate: no, createChannel: no, dial: no, getDeviceState: no, subscribe: no, applicationChannelIds: no, listChannels: no, listBridges: no, asteriskInfo: no, continueInDialplan: no,
  };
}

/** Median time of position + estimated wait for the last item of a queue of `count` callbacks, in µs. */
async function positionQueryUs(server: PostgresServer, url: string | undefined, count: number): Promise<number> {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
  if (!url) {
    scratch = await createScratchDatabase(server, 'adc_bench');
    url = scratch.url;
  }
  const db = createDatabase(url, { poolMax: 2 });
  try {
    if (scratch) {
      await migrate(db);
      await insertPending(db, count);
    }
    const config = parseConfig(benchConfig(['PJSIP/1001']), { ARI_PASSWORD: PASSWORD, DATABASE_URL: url });
    const app = new CallbackApp({ config, control: noControl(), store: new CallbackStore(db), clock: systemClock, logger: createLogger({ silent: true }) });
    await app.start();
    app.stop();
    const items = app.queueSnapshot('bench')?.items ?? [];
    const last = items[items.length - 1];
    if (!last || items.length !== count) throw new Error(`expected ${count} queued callbacks, found ${items.length}`);
    const times: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      const position = app.position(last) ?? 0;
      app.estimatedWaitSec('bench', position);
      times.push((performance.now() - t) * 1000);
    }
    return pct(times.slice(200), 50);
  } finally {
    await db.destroy();
    await scratch?.drop().catch(() => undefined);
  }
}

async function partB(server: PostgresServer, pending: number): Promise<PartB> {
  const scratch = await createScratchDatabase(server, 'adc_bench');
  const db = createDatabase(scratch.url, { poolMax: 4 });
  await migrate(db);
  const t0 = Date.now();
  await insertPending(db, pending);
  say(`inserted ${pending} pending callbacks in ${Date.now() - t0} ms`);
  const sim = await AriSimulator.start({ user: 'direct-callback', password: PASSWORD, timing: { defaultSoundMs: 200, perDigitMs: 10 } });
  const agents = Array.from({ length: 10 }, (_, i) => `PJSIP/${2001 + i}`);
  for (const a of agents) {
    sim.endpoint(a).setDeviceState('INUSE');
    sim.endpoint(a).busy(50);
  }
  const env = { ARI_URL: sim.url, ARI_PASSWORD: PASSWORD, DATABASE_URL: scratch.url, INSTANCE_ID: 'bench-dispatch', LOG_LEVEL: 'warn' };
  const plugin = PluginChild.start({ config: benchConfig(agents), env });
  const lat: number[] = [];
  try {
    await plugin.ready(120000);
    await sim.waitForApp('direct-callback', 5000);
    await sleep(2000);
    const freedAt = new Map<string, number>();
    sim.onEvent((rec) => {
      const ev = rec.event as { type?: string; device_state?: { name?: string; state?: string } };
      if (rec.delivered && ev.type === 'DeviceStateChanged' && ev.device_state?.state === 'NOT_INUSE' && ev.device_state.name) freedAt.set(ev.device_state.name, rec.atMs);
    });
    sim.onRequest((req) => {
      if (req.method !== 'POST' || req.path !== '/ari/channels') return;
      const endpoint = req.query.endpoint;
      const t = endpoint ? freedAt.get(endpoint) : undefined;
      if (endpoint && t !== undefined) {
        lat.push(req.atMs - t);
        freedAt.delete(endpoint);
      }
    });
    for (let s = 0; s < 200; s++) {
      const a = agents[s % agents.length] as string;
      const before = sim.requests.length;
      sim.endpoint(a).setDeviceState(null);
      await sim.waitForRequest((r) => r.method === 'POST' && r.path === '/ari/channels' && r.query.endpoint === a && r.seq > before, 5000).catch(() => undefined);
      sim.endpoint(a).setDeviceState('INUSE');
      await sleep(60);
    }
    const position1k = await positionQueryUs(server, undefined, 1000);
    const position100k = await positionQueryUs(server, scratch.url, pending);
    return {
      pending_callbacks: pending,
      dispatch_p50_ms: r2(pct(lat, 50)),
      dispatch_p99_ms: r2(pct(lat, 99)),
      position_query_1k_us: r2(position1k),
      position_query_100k_us: r2(position100k),
      position_query_ratio_100k_1k: r2(position100k / position1k),
      dispatch_samples: lat.length,
    };
  } finally {
    await plugin.stop();
    await sim.stop();
    await db.destroy();
    await scratch.drop().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const opts = parseCommandLine('bench', COMMAND, (o) => ({
    json: o.json === true,
    callers: numberOption('callers', o.callers, { integer: true, min: 1 }) ?? 10000,
    windowSec: numberOption('window', o.window, { min: 1 }) ?? 20,
    pending: numberOption('pending', o.pending, { integer: true, min: 1 }) ?? 100000,
  }));
  const server = await findPostgresServer();
  try {
    const a = await partA(server, opts.callers, opts.windowSec);
    say(`part A: ${JSON.stringify(a)}`);
    const b = await partB(server, opts.pending);
    say(`part B: ${JSON.stringify(b)}`);
    const cpu = /model name\s*:\s*(.+)/.exec(await import('node:fs').then((fs) => fs.readFileSync('/proc/cpuinfo', 'utf8')).catch(() => ''))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
    const out = { ...a, ...b, machine: { nproc: os.cpus().length, cpu, node: process.version } };
    if (opts.json) process.stdout.write(`${JSON.stringify(out)}\n`);
    else say(JSON.stringify(out, null, 2));
    await server.stop();
    process.exit(0);
  } catch (e) {
    say(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    await server.stop().catch(() => undefined);
    process.exit(1);
  }
}

void main();
