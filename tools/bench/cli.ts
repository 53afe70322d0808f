/**
 * `npm run bench -- [--json] [--runs N] [--callers N] [--pending N] [--window S] [--warmup S]`:
 * the plugin's latency, memory and dispatch figures on the ARI simulator (this process), each the
 * median over N fresh runs with its spread. Part A: StasisStart -> answer and DTMF -> stop of the
 * offer for a plugin child holding N waiting callers, beside a bare ari-client floor app; Part B:
 * an agent freed -> the agent leg originated with M pending callbacks, and position queries.
 * `--asterisk` measures on the real Asterisk instead (asterisk-bench.ts), `--wait-accuracy` replays
 * a day of calls (wait-accuracy.ts). docs/benchmarks.md describes the method and the figures.
 * For a closer look at Part A's plugin: BENCH_PLUGIN_NODE_OPTIONS (e.g. `--max-old-space-size=256`,
 * or `--require` of a preload: Node refuses `--trace-gc` in NODE_OPTIONS) and BENCH_PLUGIN_OUTPUT
 * (a file that gets everything it prints).
 */
import path from 'node:path';
import os from 'node:os';
import fs from 'node:fs';
import net from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { Knex } from 'knex';
import { AriSimulator, SimCall } from '../simulator/ari-simulator';
import { PROMPTS } from '../../src/calls/prompts';
import { createDatabase, migrate } from '../../src/store/database';
import { createScratchDatabase, findPostgresServer, PostgresServer, ScratchDatabase } from '../support/postgres-server';
import { PluginProcess } from '../support/plugin-process';
import { parseConfig } from '../../src/config/config';
import { storyConfig } from '../support/story-config';
import { CallbackApp } from '../../src/engine/callback-app';
import { QueueBook } from '../../src/engine/queue-book';
import { CallbackStore } from '../../src/store/callback-store';
import { createLogger } from '../../src/logging/logger';
import { systemClock } from '../../src/domain';
import { CallControl } from '../../src/ari/call-control';
import { Figures, figuresTable, numericFigures, percentile, round2, summarise } from './figures';
import { numberOption, parseCommandLine, UsageError } from '../../src/cli/options';
import { findAsteriskRuntime } from '../asterisk-lab/runtime';
import { AsteriskBench } from './asterisk-bench';
import { cpuMs, waitForQuietMachine } from './proc-stat';
import { pluginLoopLag } from './plugin-loop-lag';
import { OFFICE_DAY, replayDay } from './wait-accuracy';

const COMMAND = {
  usage: 'npm run bench --',
  summary: 'Latency, memory and dispatch figures of the plugin on the ARI simulator (see docs/benchmarks.md).',
  options: {
    json: { type: 'boolean', description: 'print one JSON line with every figure' },
    runs: {
      type: 'string',
      valueName: 'n',
      description: 'runs of each part (with --asterisk: of the whole lab); figures are medians with their spread (default 3)',
    },
    callers: {
      type: 'string',
      valueName: 'n',
      description: 'waiting callers with offer loops (default 10000); with --asterisk, callers pressing 1 at once (default 100)',
    },
    window: { type: 'string', valueName: 's', description: 'seconds of measured arrivals and DTMF (default 20)' },
    warmup: { type: 'string', valueName: 's', description: 'seconds of unmeasured load before the window (default 5)' },
    pending: { type: 'string', valueName: 'n', description: 'pending callbacks for the dispatch figures (default 100000)' },
    'cpu-prof': {
      type: 'string',
      valueName: 'dir',
      description: "a CPU profile of Part A's plugin over the warm-up and window of each run, written to dir (figures are then slower)",
    },
    'wait-accuracy': {
      type: 'boolean',
      description: 'only the announced wait against the actual wait, on a replayed day of calls (no simulator)',
    },
    asterisk: {
      type: 'boolean',
      description: 'on the real Asterisk of the lab with SIPp instead of the simulator (tools/bench/asterisk-bench.ts)',
    },
    'held-step': { type: 'string', valueName: 'n', description: '--asterisk: held callers added at each step (default 100)' },
    'held-max': { type: 'string', valueName: 'n', description: '--asterisk: the last step of held callers (default 800)' },
    'hold-window': {
      type: 'string',
      valueName: 's',
      description: '--asterisk: seconds of CPU measured at each step with callers only held (default 20)',
    },
    'sample-callers': {
      type: 'string',
      valueName: 'n',
      description: '--asterisk: callers pressing 1 at each step, and as many floor callers (default 20)',
    },
    'agent-samples': {
      type: 'string',
      valueName: 'n',
      description: "--asterisk: callbacks dialled through the agents' phones (default 30)",
    },
  },
} as const;

/** Options of one mode only: given in the other, they would be ignored, so they are refused. */
const SIMULATOR_ONLY = ['window', 'warmup', 'pending', 'cpu-prof'] as const;
const ASTERISK_ONLY = ['held-step', 'held-max', 'hold-window', 'sample-callers', 'agent-samples'] as const;

const PASSWORD = 'bench-pa55word';
const FLOOR_ENTRY = path.resolve(__dirname, 'floor-app.ts');
const CPU_PROFILE_PRELOAD = path.resolve(__dirname, 'cpu-profile-preload.cjs');
const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function benchConfig(agents: string[]): Record<string, unknown> {
  return storyConfig({
    logLevel: 'warn',
    queueId: 'bench',
    agents: agents.map((e, i) => [`b${i}`, `Agent ${i}`, e] as const),
    queue: { offer: { initialDelaySec: 1, intervalSec: 20, thresholdPosition: 0 }, outboundCallerId: { name: 'Bench', number: '5550100' } },
    callback: {
      agentRingTimeoutSec: 5,
      customerRingTimeoutSec: 5,
      declineWindowSec: 0,
      previewDecisionSec: 5,
      leaseSec: 120,
      syncIntervalSec: 5,
    },
  });
}

interface PartAOptions {
  callers: number;
  windowSec: number;
  warmupSec: number;
  /** Where to write the plugin's CPU profile of the warm-up and window (cpu-profile-preload.cjs). */
  cpuProfDir?: string;
}

async function partA(server: PostgresServer, o: PartAOptions): Promise<Figures> {
  const sim = await AriSimulator.start({
    user: 'direct-callback',
    password: PASSWORD,
    timing: { defaultSoundMs: 3000, perDigitMs: 10 },
    keepHistory: false,
  });
  const scratch = await createScratchDatabase(server, 'adc_bench');
  const agents = ['PJSIP/1001', 'PJSIP/1002'];
  for (const a of agents) sim.endpoint(a).setDeviceState('INUSE');
  const env: Record<string, string> = {
    ARI_URL: sim.url,
    ARI_PASSWORD: PASSWORD,
    DATABASE_URL: scratch.url,
    INSTANCE_ID: 'bench',
    LOG_LEVEL: 'warn',
    ...(o.cpuProfDir !== undefined ? { BENCH_CPU_PROF_DIR: o.cpuProfDir } : {}),
  };
  // The plugin's NODE_OPTIONS: the caller's, with the CPU profile's preload when one is asked for.
  const nodeOptions = [
    process.env.BENCH_PLUGIN_NODE_OPTIONS ?? (o.cpuProfDir !== undefined ? process.env.NODE_OPTIONS : undefined),
    o.cpuProfDir !== undefined ? `--require ${CPU_PROFILE_PRELOAD}` : undefined,
  ]
    .filter((x) => x !== undefined && x.trim() !== '')
    .join(' ');
  if (nodeOptions !== '') env.NODE_OPTIONS = nodeOptions;
  // The plugin's /metrics, for its own event-loop lag (the simulator's is this process's).
  const httpPort = await freePort();
  const plugin = PluginProcess.start({
    config: { ...benchConfig(agents), http: { enabled: true, host: '127.0.0.1', port: httpPort } },
    env,
    ...(process.env.BENCH_PLUGIN_OUTPUT ? { logFile: process.env.BENCH_PLUGIN_OUTPUT } : {}),
  });
  const floor = PluginProcess.start({
    entry: FLOOR_ENTRY,
    env: { ARI_URL: sim.url, ARI_USER: 'direct-callback', ARI_PASSWORD: PASSWORD, FLOOR_APP: 'bench-floor' },
  });
  try {
    await plugin.ready(60000);
    await floor.ready(30000);
    await sim.waitForApp('direct-callback', 5000);
    await sim.waitForApp('bench-floor', 5000);
    // Timing hooks on the simulator's clock.
    const eventAt = new Map<string, number>(); // channel id -> StasisStart sent (ms)
    const answerLat: number[] = [];
    const floorLat: number[] = [];
    const dtmfLat: number[] = [];
    const floorIds = new Set<string>();
    let measuring = false;
    const dtmfPending = new Map<string, number>(); // channel id -> dtmf event time (-1: pressed, not yet sent)
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
    // Ramp: N callers into the queue, 20 every 40 ms, but never more than RAMP_AHEAD not yet
    // held: the measured load is the N callers waiting, not how fast they came, and a ramp that
    // outruns a busy machine only builds queues that the window would then measure.
    const RAMP_AHEAD = 400;
    const rssBefore = plugin.rssKb() ?? 0;
    const calls: SimCall[] = [];
    let n = 0;
    const t0 = performance.now();
    const held = (): number => calls.filter((c) => c.bridge !== null).length;
    const inFlight = (): number => calls.filter((c) => c.bridge === null && c.alive).length;
    const deadline = Date.now() + 300000;
    while (n < o.callers && Date.now() < deadline) {
      for (let i = 0; i < 20 && n < o.callers; i++, n++)
        calls.push(sim.call({ from: `+1444${String(n).padStart(7, '0')}`, to: 'queue:bench', app: 'direct-callback' }));
      await sleep(40);
      while (inFlight() > RAMP_AHEAD && Date.now() < deadline) await sleep(100);
    }
    while (inFlight() > 0 && Date.now() < deadline) await sleep(250);
    const callersHeld = held();
    say(`  ramp: ${callersHeld} of ${o.callers} callers held in ${Math.round(performance.now() - t0)} ms`);
    if (callersHeld < o.callers) {
      const states = new Map<string, number>();
      for (const c of calls)
        states.set(`${c.state}${c.bridge ? ' held' : ''}`, (states.get(`${c.state}${c.bridge ? ' held' : ''}`) ?? 0) + 1);
      say(
        `  warning: not every caller was held; this run measured less than the load it describes. Callers: ${JSON.stringify(Object.fromEntries(states))}`,
      );
      say(`  plugin's last log lines: ${plugin.tail(5) || 'none'}`);
    }
    await sleep(3000);
    const rssAfter = plugin.rssKb() ?? 0;
    // The load: 50 arrivals/s, 50 DTMF 5 during offers/s, 50 floor calls/s; warm-up, then window.
    let k = 0;
    const tick = setInterval(() => {
      for (let i = 0; i < 5; i++) {
        k += 1;
        calls.push(sim.call({ from: `+1445${String(k).padStart(7, '0')}`, to: 'queue:bench', app: 'direct-callback' }));
        const f = sim.call({ from: `+1446${String(k).padStart(7, '0')}`, to: 'queue:bench', app: 'bench-floor' });
        floorIds.add(f.id);
        for (let tries = 0; tries < 30; tries++) {
          const c = calls[Math.floor(Math.random() * o.callers)];
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
    if (o.cpuProfDir !== undefined && plugin.pid !== undefined) process.kill(plugin.pid, 'SIGUSR2');
    await sleep(o.warmupSec * 1000);
    dtmfPending.clear();
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const cpuAt = { plugin: cpuMs(plugin.pid), floor: cpuMs(floor.pid), sim: cpuMs(process.pid), wall: performance.now() };
    await pluginLoopLag(httpPort); // read, so that the next read covers the window only
    measuring = true;
    await sleep(o.windowSec * 1000);
    const pluginLag = await pluginLoopLag(httpPort);
    const wall = performance.now() - cpuAt.wall;
    const cpuPercent = (now: number, then: number): number => round2(((now - then) / wall) * 100);
    const cpu = {
      plugin: cpuPercent(cpuMs(plugin.pid), cpuAt.plugin),
      floor: cpuPercent(cpuMs(floor.pid), cpuAt.floor),
      sim: cpuPercent(cpuMs(process.pid), cpuAt.sim),
    };
    clearInterval(tick);
    await sleep(1000);
    measuring = false;
    loopDelay.disable();
    const all = [...answerLat, ...dtmfLat];
    const p99 = percentile(all, 99);
    const floorP99 = percentile(floorLat, 99);
    say(`  samples: answer ${answerLat.length}, dtmf->stop ${dtmfLat.length}, floor ${floorLat.length}`);
    return {
      event_to_command_p50_ms: round2(percentile(all, 50)),
      event_to_command_p99_ms: round2(p99),
      answer_p99_ms: round2(percentile(answerLat, 99)),
      dtmf_stop_p99_ms: round2(percentile(dtmfLat, 99)),
      floor_p50_ms: round2(percentile(floorLat, 50)),
      floor_p99_ms: round2(floorP99),
      ratio_p99_to_floor: round2(p99 / floorP99),
      rss_per_call_kb: round2((rssAfter - rssBefore) / o.callers),
      callers_held: callersHeld,
      sim_loop_delay_p99_ms: round2(loopDelay.percentile(99) / 1e6),
      plugin_loop_lag_p99_ms: pluginLag.p99,
      plugin_loop_lag_max_ms: pluginLag.max,
      // Where the two cores went during the window (percent of one core each).
      plugin_cpu_percent: cpu.plugin,
      simulator_cpu_percent: cpu.sim,
      floor_cpu_percent: cpu.floor,
      samples: all.length,
    };
  } finally {
    await plugin.stop();
    await floor.stop();
    await sim.stop();
    await scratch.drop().catch(() => undefined);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The k-th callback's number, a valid NANP number (NPA 333, exchange 200-999 and never N11): the
 * number gate (issue 19) refuses `+1333000…` (exchange 0XX), which failed every callback and left
 * Part B waiting out each dispatch.
 */
function benchNumber(k: number): string {
  let nxx = 200 + (Math.floor(k / 10000) % 800);
  if (nxx % 100 === 11) nxx += 1;
  return `+1333${nxx}${String(k % 10000).padStart(4, '0')}`;
}

async function insertPending(db: Knex, count: number): Promise<void> {
  const t0 = Date.now();
  const batch = 5000;
  for (let i = 0; i < count; i += batch) {
    const rows = Array.from({ length: Math.min(batch, count - i) }, (_, j) => ({
      id: randomUUID(),
      queue_id: 'bench',
      customer_number: benchNumber(i + j),
      language: 'en',
      priority: 0,
      arrived_at: new Date(t0 - count + i + j),
      max_attempts: 3,
    }));
    await db('callback_requests').insert(rows);
  }
}

function noControl(): CallControl {
  const no = (): Promise<never> => Promise.reject(new Error('bench: no ARI'));
  return {
    answer: no,
    hangup: no,
    play: no,
    stopPlayback: no,
    playbackExists: no,
    ring: no,
    ringStop: no,
    startMoh: no,
    stopMoh: no,
    createBridge: no,
    addToBridge: no,
    destroyBridge: no,
    startBridgeMoh: no,
    stopBridgeMoh: no,
    originate: no,
    createChannel: no,
    dial: no,
    getDeviceState: no,
    subscribe: no,
    applicationChannelIds: no,
    listChannels: no,
    listBridges: no,
    asteriskInfo: no,
    continueInDialplan: no,
    setChannelVariable: no,
  };
}

/** A CallbackApp (no ARI) holding every open callback of a database: for timing position queries. */
async function loadedApp(
  db: Knex,
  url: string,
  count: number,
): Promise<{ app: CallbackApp; last: NonNullable<ReturnType<CallbackApp['queueSnapshot']>>['items'][number] }> {
  const config = parseConfig(benchConfig(['PJSIP/1001']), { ARI_PASSWORD: PASSWORD, DATABASE_URL: url });
  const app = new CallbackApp({
    config,
    control: noControl(),
    store: new CallbackStore(db),
    clock: systemClock,
    logger: createLogger({ silent: true }),
  });
  await app.start();
  app.stop();
  const items = app.queueSnapshot('bench')?.items ?? [];
  const last = items[items.length - 1];
  if (!last || items.length !== count) throw new Error(`expected ${count} queued callbacks, found ${items.length}`);
  return { app, last };
}

/**
 * Median time of position + estimated wait for the last item, in µs, for each app: measured in
 * alternating rounds, so that neither size is always measured first (colder, or during the
 * other's garbage).
 */
function positionQueryUs(apps: { app: CallbackApp; last: Parameters<QueueBook['position']>[0] }[]): number[] {
  const times: number[][] = apps.map(() => []);
  for (let round = 0; round < 12; round++) {
    apps.forEach(({ app, last }, i) => {
      for (let j = 0; j < 250; j++) {
        const t = performance.now();
        const position = app.book.position(last) ?? 0;
        app.book.estimatedWaitSec('bench', position);
        if (round > 1) times[i]?.push((performance.now() - t) * 1000); // two rounds of warm-up
      }
    });
  }
  return times.map((t) => percentile(t, 50));
}

interface PartBSetup {
  pending: number;
  scratch: ScratchDatabase;
  db: Knex;
  small: { scratch: ScratchDatabase; db: Knex };
  apps: { app: CallbackApp; last: Parameters<QueueBook['position']>[0] }[];
}

/** The databases for Part B, filled once for every run: 100,000 pending (default), and 1,000. */
async function partBSetup(server: PostgresServer, pending: number): Promise<PartBSetup> {
  const scratch = await createScratchDatabase(server, 'adc_bench');
  const db = createDatabase(scratch.url, { poolMax: 4 });
  await migrate(db);
  const t0 = Date.now();
  await insertPending(db, pending);
  say(`inserted ${pending} pending callbacks in ${Date.now() - t0} ms`);
  const smallScratch = await createScratchDatabase(server, 'adc_bench');
  const smallDb = createDatabase(smallScratch.url, { poolMax: 2 });
  await migrate(smallDb);
  await insertPending(smallDb, 1000);
  const apps = [await loadedApp(smallDb, smallScratch.url, 1000), await loadedApp(db, scratch.url, pending)];
  return { pending, scratch, db, small: { scratch: smallScratch, db: smallDb }, apps };
}

async function partBTeardown(s: PartBSetup): Promise<void> {
  await s.db.destroy();
  await s.small.db.destroy();
  await s.scratch.drop().catch(() => undefined);
  await s.small.scratch.drop().catch(() => undefined);
}

async function partB(s: PartBSetup): Promise<Figures> {
  const sim = await AriSimulator.start({ user: 'direct-callback', password: PASSWORD, timing: { defaultSoundMs: 200, perDigitMs: 10 } });
  const agents = Array.from({ length: 10 }, (_, i) => `PJSIP/${2001 + i}`);
  for (const a of agents) {
    sim.endpoint(a).setDeviceState('INUSE');
    sim.endpoint(a).busy(50);
  }
  const env = { ARI_URL: sim.url, ARI_PASSWORD: PASSWORD, DATABASE_URL: s.scratch.url, INSTANCE_ID: 'bench-dispatch', LOG_LEVEL: 'warn' };
  const plugin = PluginProcess.start({ config: benchConfig(agents), env });
  const lat: number[] = [];
  try {
    await plugin.ready(120000);
    await sim.waitForApp('direct-callback', 5000);
    await sleep(2000);
    const freedAt = new Map<string, number>();
    let measuring = false;
    sim.onEvent((rec) => {
      const ev = rec.event as { type?: string; device_state?: { name?: string; state?: string } };
      if (rec.delivered && ev.type === 'DeviceStateChanged' && ev.device_state?.state === 'NOT_INUSE' && ev.device_state.name)
        freedAt.set(ev.device_state.name, rec.atMs);
    });
    sim.onRequest((req) => {
      if (req.method !== 'POST' || req.path !== '/ari/channels') return;
      const endpoint = req.query.endpoint;
      const t = endpoint ? freedAt.get(endpoint) : undefined;
      if (endpoint && t !== undefined) {
        if (measuring) lat.push(req.atMs - t);
        freedAt.delete(endpoint);
      }
    });
    const WARMUP = 20;
    for (let i = 0; i < WARMUP + 200; i++) {
      measuring = i >= WARMUP;
      const a = agents[i % agents.length];
      const before = sim.requests.length;
      sim.endpoint(a).setDeviceState(null);
      await sim
        .waitForRequest((r) => r.method === 'POST' && r.path === '/ari/channels' && r.query.endpoint === a && r.seq > before, 5000)
        .catch(() => undefined);
      sim.endpoint(a).setDeviceState('INUSE');
      await sleep(60);
    }
    const [position1k, position100k] = positionQueryUs(s.apps) as [number, number];
    return {
      dispatch_p50_ms: round2(percentile(lat, 50)),
      dispatch_p99_ms: round2(percentile(lat, 99)),
      position_query_1k_us: round2(position1k),
      position_query_100k_us: round2(position100k),
      position_query_ratio_100k_1k: round2(position100k / position1k),
      dispatch_samples: lat.length,
    };
  } finally {
    await plugin.stop();
    await sim.stop();
  }
}

function machine(): Record<string, unknown> {
  const cpuinfo = (() => {
    try {
      return fs.readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return '';
    }
  })();
  const cpu = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return { nproc: os.cpus().length, cpu, memory_gb: round2(os.totalmem() / 2 ** 30), node: process.version };
}

async function main(): Promise<void> {
  const o = parseCommandLine('bench', COMMAND, (v) => {
    const asterisk = v.asterisk === true;
    const wrongMode = (asterisk ? SIMULATOR_ONLY : ASTERISK_ONLY).find((k) => v[k] !== undefined);
    if (wrongMode)
      throw new UsageError(
        `--${wrongMode} ${asterisk ? 'applies to the simulator benchmark, not --asterisk' : 'applies only with --asterisk'}`,
      );
    const options = {
      json: v.json === true,
      asterisk,
      runs: numberOption('runs', v.runs, { integer: true, min: 1 }) ?? 3,
      callers: numberOption('callers', v.callers, { integer: true, min: 1 }) ?? (asterisk ? 100 : 10000),
      windowSec: numberOption('window', v.window, { min: 1 }) ?? 20,
      warmupSec: numberOption('warmup', v.warmup, { min: 0 }) ?? 5,
      pending: numberOption('pending', v.pending, { integer: true, min: 1 }) ?? 100000,
      cpuProfDir: typeof v['cpu-prof'] === 'string' ? path.resolve(v['cpu-prof']) : undefined,
      heldStep: numberOption('held-step', v['held-step'], { integer: true, min: 1 }) ?? 100,
      heldMax: numberOption('held-max', v['held-max'], { integer: true, min: 1 }) ?? 800,
      holdWindowSec: numberOption('hold-window', v['hold-window'], { min: 1 }) ?? 20,
      sampleCallers: numberOption('sample-callers', v['sample-callers'], { integer: true, min: 1 }) ?? 20,
      agentSamples: numberOption('agent-samples', v['agent-samples'], { integer: true, min: 1 }) ?? 30,
      waitAccuracy: v['wait-accuracy'] === true,
    };
    if (options.heldMax < options.heldStep)
      throw new UsageError(`--held-max ${options.heldMax} is below --held-step ${options.heldStep}: the ramp would have no step`);
    return options;
  });
  if (o.waitAccuracy) {
    // Pure and seeded: one run is the figure (nothing here depends on the machine).
    const figures = replayDay(OFFICE_DAY);
    const out = { ...figures, day: OFFICE_DAY };
    process.stdout.write(
      o.json
        ? `${JSON.stringify(out)}\n`
        : `${Object.entries(figures)
            .map(([k, v]) => `${k.padEnd(30)} ${v}`)
            .join('\n')}\n`,
    );
    process.exit(0);
  }
  if (o.asterisk) {
    await asteriskMain(o);
    return;
  }
  let server: PostgresServer | undefined;
  try {
    if (o.runs < 3) say(`${o.runs} run(s): fine for a try, but the figures to report are the medians of at least 3`);
    server = await findPostgresServer();
    const runsA: Figures[] = [];
    const loadA: number[] = [];
    for (let r = 1; r <= o.runs; r++) {
      const settled = await waitForQuietMachine();
      loadA.push(round2(os.loadavg()[0] ?? NaN));
      say(`part A, run ${r} of ${o.runs} (load average ${loadA[loadA.length - 1]}; machine ${settled.busyPercent} % busy)`);
      if (o.cpuProfDir !== undefined) fs.mkdirSync(o.cpuProfDir, { recursive: true });
      const a = await partA(server, { callers: o.callers, windowSec: o.windowSec, warmupSec: o.warmupSec, cpuProfDir: o.cpuProfDir });
      say(`  ${JSON.stringify(a)}`);
      runsA.push(a);
    }
    const setup = await partBSetup(server, o.pending);
    const runsB: Figures[] = [];
    const loadB: number[] = [];
    try {
      for (let r = 1; r <= o.runs; r++) {
        const settled = await waitForQuietMachine();
        loadB.push(round2(os.loadavg()[0] ?? NaN));
        say(`part B, run ${r} of ${o.runs} (load average ${loadB[loadB.length - 1]}; machine ${settled.busyPercent} % busy)`);
        const b = await partB(setup);
        say(`  ${JSON.stringify(b)}`);
        runsB.push(b);
      }
    } finally {
      await partBTeardown(setup);
    }
    const figures = { ...summarise(runsA), ...summarise(runsB) };
    const out = {
      runs: o.runs,
      waiting_callers: o.callers,
      pending_callbacks: o.pending,
      ...figures,
      machine: { ...machine(), load_average_1m_at_runs: { part_a: loadA, part_b: loadB } },
      per_run: { part_a: runsA, part_b: runsB },
    };
    if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
    else {
      process.stdout.write(`${figuresTable(figures)}\n`);
      process.stdout.write(
        `${o.runs} runs; ${o.callers} waiting callers, ${o.pending} pending callbacks; ${JSON.stringify(out.machine)}\n`,
      );
    }
    await server.stop();
    process.exit(0);
  } catch (e) {
    say(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    await server?.stop().catch(() => undefined);
    process.exit(1);
  }
}

/**
 * `--asterisk`: `runs` runs on the real Asterisk, each a fresh lab; every figure is the median of
 * the runs with its spread, beside the load average at each run's start (a figure taken on a busy
 * machine says so). Without the runtime, the lab's reason and exit 1.
 */
async function asteriskMain(o: {
  json: boolean;
  runs: number;
  callers: number;
  heldStep: number;
  heldMax: number;
  holdWindowSec: number;
  sampleCallers: number;
  agentSamples: number;
}): Promise<void> {
  const found = findAsteriskRuntime();
  if (!found.ok) {
    say(`bench --asterisk: cannot run: ${found.reason}`);
    process.exit(1);
  }
  let server: PostgresServer | undefined;
  try {
    if (o.runs < 3) say(`${o.runs} run(s): fine for a try, but the figures to report are the medians of at least 3`);
    server = await findPostgresServer();
    const runs: Record<string, unknown>[] = [];
    const loads: number[] = [];
    const settles: { waited_s: number; busy_percent: number; quiet: boolean }[] = [];
    for (let r = 1; r <= o.runs; r++) {
      // Each run starts on a quiet machine, not under the previous run's tail (300 SIPp calls ending).
      const settled = await waitForQuietMachine();
      settles.push({ waited_s: round2(settled.waitedMs / 1000), busy_percent: settled.busyPercent, quiet: settled.quiet });
      loads.push(round2(os.loadavg()[0] ?? NaN));
      say(
        `--asterisk run ${r} of ${o.runs} (load average ${loads[loads.length - 1]}; machine ${settled.busyPercent} % busy after ${Math.round(settled.waitedMs / 1000)} s${settled.quiet ? '' : ', never quiet'})`,
      );
      runs.push(
        await AsteriskBench.run(found.runtime, server, {
          callers: o.callers,
          rate: 20,
          heldStep: o.heldStep,
          heldMax: o.heldMax,
          holdWindowSec: o.holdWindowSec,
          sampleCallers: o.sampleCallers,
          agentSamples: o.agentSamples,
          say,
        }),
      );
    }
    const last = runs[runs.length - 1] ?? {};
    const figures = summarise(runs.map(numericFigures));
    // What a median cannot carry: the version, and each run's reasons for its bounds.
    const words = (key: string): unknown[] => runs.map((f) => f[key]);
    const out = {
      runs: o.runs,
      asterisk: last.asterisk,
      ...figures,
      held_callers_bound: words('held_callers_bound'),
      held_callers_no_failures_bound: words('held_callers_no_failures_bound'),
      app_queue_held_callers_no_failures_bound: words('app_queue_held_callers_no_failures_bound'),
      machine: { ...machine(), load_average_1m_at_runs: loads, settled_before_runs: settles },
      per_run: runs,
    };
    if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
    else {
      process.stdout.write(`${figuresTable(figures)}\n`);
      process.stdout.write(
        `${o.runs} run(s) on Asterisk ${String(last.asterisk)}; load average at each run ${loads.join(', ')}; held callers bounded by: ${out.held_callers_bound.map(String).join(' | ')}\n`,
      );
      for (const [i, f] of runs.entries())
        for (const step of (f.held_steps as unknown[] | undefined) ?? []) process.stdout.write(`  run ${i + 1}: ${JSON.stringify(step)}\n`);
    }
    await server.stop();
    process.exit(0);
  } catch (e) {
    say(`bench --asterisk: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    await server?.stop().catch(() => undefined);
    process.exit(1);
  }
}

void main();
