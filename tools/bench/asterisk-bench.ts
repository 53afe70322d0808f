/**
 * `npm run bench -- --asterisk`: the plugin's figures on the real Asterisk of the lab
 * (tools/asterisk-lab/) with SIPp callers, agents' phones and customers, in one run: press 1 ->
 * confirmation against a bare ari-client floor app and the same app committing one INSERT
 * (floor-app.ts), at 20/s and in a burst; an agent's accept -> the customer dialled; the same
 * callers held by app_queue (app-queue-hold.ts), then by the plugin, added in steps, each plugin
 * step with a press-1 sample (held-ramp.ts judges the steps). cli.ts runs it --runs times. Every latency is read from Asterisk's own event timestamps (the lab's
 * observer app): neither the plugin's clock nor this process's is trusted. docs/benchmarks.md
 * describes the method; BENCH_PLUGIN_LOG_LEVEL and BENCH_PLUGIN_NODE_OPTIONS pass a log level and
 * NODE_OPTIONS to the plugin for a closer look.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lab, LabAgent } from '../asterisk-lab/lab';
import { AsteriskRuntime } from '../asterisk-lab/runtime';
import { PROJECT_CONFIG_DIR } from '../asterisk-lab/asterisk-server';
import { AriObserver } from '../asterisk-lab/observer';
import { CallerScript, SippProcess } from '../asterisk-lab/sipp';
import { PostgresServer } from '../support/postgres-server';
import { storyConfig } from '../support/story-config';
import { PROMPTS } from '../../src/calls/prompts';
import { PluginProcess } from '../support/plugin-process';
import { appQueueConf, appQueueExtension, appQueueRamp } from './app-queue-hold';
import { percentile, round2 } from './figures';
import { HeldRamp, HeldStepOutcome } from './held-ramp';
import { pluginLoopLag } from './plugin-loop-lag';
import { cpuMs, machineCpuMs, runnableThreads, threadCount } from './proc-stat';

export interface AsteriskBenchOptions {
  /** Callers pressing 1 at once (and as many floor callers, just before them). */
  callers: number;
  /** Arrivals per second of those callers (each party). */
  rate: number;
  /** Held callers are added this many at a time ... */
  heldStep: number;
  /** ... up to this many. */
  heldMax: number;
  /** Seconds of each step's quiet window (CPU per held caller); one offer interval by default. */
  holdWindowSec: number;
  /** Callers pressing 1 at each step (and as many floor callers). */
  sampleCallers: number;
  /** Callbacks dialled through the agents' phones for the accept -> dial figure. */
  agentSamples: number;
  say: (line: string) => void;
}

/** The queue's offer interval: a held caller hears the offer this often. */
const OFFER_INTERVAL_SEC = 20;
/** A caller presses 1 this long after the answer: the first offer starts about 1 s after it. */
const PRESS_AT_MS = 4000;
const FLOOR_APP = 'bench-floor';
/** The floor's number, appended to the sample dialplan's callback-entry for this run only. */
const FLOOR_DID = '5559900';
/** The commit floor (floor-app.ts with a database): the raw floor plus one committed INSERT. */
const FLOOR_COMMIT_APP = 'bench-floor-commit';
const FLOOR_COMMIT_DID = '5559901';
/**
 * Arrivals per second of the burst: its callers all arrive within a fraction of a second and
 * press 1 PRESS_AT_MS after their answer, so their presses reach the plugin together.
 */
const BURST_RATE = 500;
const QUEUE_DID = '5552000';
const AGENT_IDS = ['1001', '1002', '1003', '1004'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What the observer saw of one channel, by Asterisk's timestamps (epoch ms). */
interface ChannelFacts {
  id: string;
  number?: string;
  createdAt?: number;
  /** The first digit 1. */
  digit1At?: number;
  /** The first `callback/confirm` playback after that digit. */
  confirmAt?: number;
  /** The first Dial whose peer is this channel. */
  dialAt?: number;
  /** Entered a holding bridge: on hold with music, as the plugin holds a waiting caller. */
  heldAt?: number;
  endedAt?: number;
}

/** Folds the observer's events into per-channel facts, reading each event once. */
class ChannelBook {
  private cursor = 0;
  readonly channels = new Map<string, ChannelFacts>();
  private readonly byNumber = new Map<string, string[]>();

  constructor(private readonly observer: AriObserver) {}

  private facts(id: string): ChannelFacts {
    let f = this.channels.get(id);
    if (!f) {
      f = { id };
      this.channels.set(id, f);
    }
    return f;
  }

  update(): void {
    const events = this.observer.events;
    for (; this.cursor < events.length; this.cursor++) {
      const e = events[this.cursor];
      if (!e) continue;
      const ch = e.raw.channel;
      switch (e.type) {
        case 'ChannelCreated':
          if (ch) {
            const f = this.facts(ch.id);
            f.createdAt ??= e.at;
            const number = ch.caller?.number;
            if (number && f.number === undefined) {
              f.number = number;
              this.byNumber.set(number, [...(this.byNumber.get(number) ?? []), ch.id]);
            }
          }
          break;
        case 'ChannelDtmfReceived':
          if (ch && e.raw.digit === '1') this.facts(ch.id).digit1At ??= e.at;
          break;
        case 'PlaybackStarted': {
          const target = /^channel:(.+)$/.exec(e.raw.playback?.target_uri ?? '')?.[1];
          if (target && e.raw.playback?.media_uri === PROMPTS.confirm) {
            const f = this.facts(target);
            if (f.digit1At !== undefined) f.confirmAt ??= e.at;
          }
          break;
        }
        case 'ChannelEnteredBridge':
          if (ch && e.raw.bridge?.bridge_type === 'holding') this.facts(ch.id).heldAt ??= e.at;
          break;
        case 'Dial':
          if (e.raw.peer?.id) this.facts(e.raw.peer.id).dialAt ??= e.at;
          break;
        case 'ChannelDestroyed':
          if (ch) this.facts(ch.id).endedAt ??= e.at;
          break;
        default:
          break;
      }
    }
  }

  /** The caller's channel (the one that came in from this number), if Asterisk created it yet. */
  callerChannel(number: string): ChannelFacts | undefined {
    const id = this.byNumber.get(number)?.[0];
    return id ? this.channels.get(id) : undefined;
  }
}

/** Caller numbers no other caller of the run has (the plugin books one callback per number). */
class Numbers {
  private next = 0;
  take(n: number): string[] {
    return Array.from({ length: n }, () => {
      const k = this.next++;
      return `+1555${400 + Math.floor(k / 10000)}${String(k % 10000).padStart(4, '0')}`;
    });
  }
}

/** CPU of the processes of a run over a window, in percent of one core. */
type CpuPercent = Record<'asterisk' | 'plugin' | 'sipp' | 'postgres' | 'floor' | 'bench' | 'machine', number>;

interface CpuMark {
  at: number;
  byPid: Map<number, number>;
  machine: { busy: number; total: number };
}

interface Sample {
  plugin: number[];
  floor: number[];
  /** The commit floor's, when the sample had one (else empty). */
  floorCommit: number[];
  /** Callers that pressed 1 and were never confirmed (or never seen), plugin and floors. */
  unconfirmed: number;
  sipp: SippProcess[];
  /** The plugin's event loop during its party. */
  pluginLoopLag: { p99: number; max: number };
}

export class AsteriskBench {
  private readonly book: ChannelBook;
  private readonly numbers = new Numbers();
  private readonly sippGroups = { held: [] as SippProcess[], callers: [] as SippProcess[] };

  private constructor(
    private readonly lab: Lab,
    private readonly floor: PluginProcess,
    private readonly floorCommit: PluginProcess,
    private readonly o: AsteriskBenchOptions,
  ) {
    this.book = new ChannelBook(lab.observer);
  }

  static async run(runtime: AsteriskRuntime, postgres: PostgresServer, o: AsteriskBenchOptions): Promise<Record<string, unknown>> {
    const started = Date.now();
    const agents: LabAgent[] = AGENT_IDS.map((id) => ({ id, queues: ['support'], loggedIn: false }));
    const held = o.heldMax + o.sampleCallers * 2;
    o.say('lab: Asterisk, a fresh database, the plugin (built first when src/ is newer than dist/), the floor app');
    const lab = await Lab.start({
      runtime,
      postgres,
      agents,
      pluginConfig: benchPluginConfig(),
      http: true,
      startPlugin: false,
      // Two ports per call leg, for the largest number of legs at once.
      rtpPorts: 2 * (Math.max(held, o.callers * 2) + 100),
      extraAsteriskFiles: {
        'extensions.conf': floorDialplan(),
        'queues.conf': appQueueConf(fs.readFileSync(path.join(PROJECT_CONFIG_DIR, 'queues.conf'), 'utf8')),
      },
    });
    let floor: PluginProcess | undefined;
    let floorCommit: PluginProcess | undefined;
    let bench: AsteriskBench | undefined;
    try {
      // The plugin's default log level (info), as an administrator runs it: the lab's usual debug
      // would bill the plugin for log lines no production runs with.
      await lab.startPlugin({
        env: {
          LOG_LEVEL: process.env.BENCH_PLUGIN_LOG_LEVEL ?? 'info',
          ...(process.env.BENCH_PLUGIN_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_PLUGIN_NODE_OPTIONS } : {}),
        },
      });
      const floorEnv = {
        ARI_URL: lab.asterisk.ariUrl,
        ARI_USER: 'direct-callback',
        ARI_PASSWORD: lab.ariPassword,
        FLOOR_PROMPT: PROMPTS.offer,
        FLOOR_REPLY: PROMPTS.confirm,
      };
      const entry = path.resolve(__dirname, 'floor-app.ts');
      floor = PluginProcess.start({ entry, env: { ...floorEnv, FLOOR_APP } });
      // The plugin's database: the same PostgreSQL, the same disk, for the floor's INSERT.
      floorCommit = PluginProcess.start({ entry, env: { ...floorEnv, FLOOR_APP: FLOOR_COMMIT_APP, FLOOR_DATABASE_URL: lab.database.url } });
      await floor.ready(30000);
      await floorCommit.ready(30000);
      o.say(`lab: ready in ${Math.round((Date.now() - started) / 1000)} s`);
      bench = new AsteriskBench(lab, floor, floorCommit, o);
      const figures = await bench.measure();
      return { ...figures, duration_s: Math.round((Date.now() - started) / 1000) };
    } finally {
      bench?.killHeld();
      await floor?.stop();
      await floorCommit?.stop();
      await lab.stop({ keep: process.env.LAB_KEEP === '1' });
    }
  }

  private async measure(): Promise<Record<string, unknown>> {
    const { lab } = this;
    const t0 = Date.now();
    const o = { ...this.o, say: (line: string) => this.o.say(`[${String(Math.round((Date.now() - t0) / 1000)).padStart(4)} s] ${line}`) };
    const info = await lab.asterisk.ari<{ system?: { version?: string } }>('GET', '/asterisk/info');
    const version = info.body.system?.version ?? 'unknown';
    o.say(`Asterisk ${version}; load average ${os.loadavg()[0]?.toFixed(2)}`);

    // 1. Press 1: the floor's party, the commit floor's, then the plugin's.
    o.say(`press 1: ${o.callers} callers on the floor app, on the commit floor, then on the plugin, at ${o.rate}/s`);
    const mark = await this.cpuMark();
    const waits = this.sampleDatabaseWaits();
    const ping = this.pingAsterisk();
    const mainLines = this.pluginLines();
    const main = await this.sample(o.callers, o.rate, { commitFloor: true });
    const mainCpu = this.cpuSince(mark);
    const mainWaits = waits();
    const mainPing = ping();
    // A caller never confirmed is also a call SIPp counts as failed (no BYE): the larger of the two.
    const mainFailed = Math.max(failedCalls(main.sipp), main.unconfirmed);
    const p95 = round2(percentile(main.plugin, 95));
    const floorP95 = round2(percentile(main.floor, 95));
    const floorCommitP95 = round2(percentile(main.floorCommit, 95));
    o.say(
      `  plugin p50/p95/max ${round2(percentile(main.plugin, 50))}/${p95}/${round2(Math.max(...main.plugin))} ms, floor p95 ${floorP95} ms, commit floor p95 ${floorCommitP95} ms, failed ${mainFailed}; cpu ${JSON.stringify(mainCpu)}; GET /asterisk/info ms ${JSON.stringify(mainPing)}`,
    );

    const booking = this.bookingTimes(mainLines);
    const p50p95 = (xs: number[]): string => `${round2(percentile(xs, 50))}/${round2(percentile(xs, 95))}`;
    o.say(
      `  the plugin's booking (its log: storing -> stored) p50/p95 ${p50p95(booking.span)} ms: the statement ${p50p95(booking.store)} ms, Asterisk's answer to the offer's stop ${p50p95(booking.stop)} ms; its sessions waited on ${JSON.stringify(mainWaits)}; its event loop ran late by p99/max ${main.pluginLoopLag.p99}/${main.pluginLoopLag.max} ms`,
    );

    // 1b. The burst: as many callers arriving together and pressing 1 together, each party.
    o.say(`burst: ${o.callers} callers pressing 1 together, on each floor, then on the plugin`);
    const burstLines = this.pluginLines();
    const burst = await this.sample(o.callers, BURST_RATE, { commitFloor: true });
    const burstBooking = this.bookingTimes(burstLines);
    const burstFailed = Math.max(failedCalls(burst.sipp), burst.unconfirmed);
    const burstP95 = round2(percentile(burst.plugin, 95));
    const burstFloorP95 = round2(percentile(burst.floor, 95));
    o.say(
      `  plugin p50/p95/max ${p50p95(burst.plugin)}/${round2(Math.max(...burst.plugin))} ms, floor p95 ${burstFloorP95} ms, commit floor p95 ${round2(percentile(burst.floorCommit, 95))} ms, the booking statement p95 ${round2(percentile(burstBooking.store, 95))} ms, failed ${burstFailed}`,
    );

    // 2. The agents' accept -> the customer dialled.
    const accept = await this.agentAccepts(Math.min(o.agentSamples, o.callers));
    o.say(`  agent accept -> customer dial: ${accept.length} samples, p95 ${round2(percentile(accept, 95))} ms`);

    // 3a. The yardstick: the same callers held by app_queue (app-queue-hold.ts), before the plugin holds any.
    o.say(`app_queue: held callers in steps of ${o.heldStep} up to ${o.heldMax}, Queue() with no members and the same music`);
    const appQueue = await appQueueRamp(
      {
        lab,
        numbers: (n) => this.numbers.take(n),
        ended: (n) => {
          this.book.update();
          return this.book.callerChannel(n)?.endedAt !== undefined;
        },
        asteriskCpuPercent: async (ms) => {
          const before = cpuMs(lab.asterisk.pid);
          const t = performance.now();
          await sleep(ms);
          return round2(((cpuMs(lab.asterisk.pid) - before) / (performance.now() - t)) * 100);
        },
        failedCalls,
        say: o.say,
      },
      { heldStep: o.heldStep, heldMax: o.heldMax, holdWindowSec: o.holdWindowSec, rate: Math.max(o.rate, 25) },
    );

    // 3b. Held callers on the plugin, in steps (the verdict's rules: tools/bench/held-ramp.ts).
    const steps: Record<string, unknown>[] = [];
    const ramp = new HeldRamp(o.heldStep, o.heldMax);
    for (let target = ramp.next(); target !== undefined; target = ramp.next()) {
      const step = await this.heldStep(target);
      steps.push(step.figures);
      o.say(`  held ${target}: ${JSON.stringify(step.figures)}`);
      ramp.record({ target, ...step });
    }
    const held = ramp.result();
    // The callers of every sample have heard their confirmation by now; their SIPp's verdict.
    for (const s of this.sippGroups.callers) await s.finished(30000);
    return {
      asterisk: version,
      callers: o.callers,
      dtmf_to_confirm_p50_ms: round2(percentile(main.plugin, 50)),
      dtmf_to_confirm_p95_ms: p95,
      dtmf_to_confirm_max_ms: round2(Math.max(...main.plugin)),
      floor_dtmf_to_confirm_p50_ms: round2(percentile(main.floor, 50)),
      floor_dtmf_to_confirm_p95_ms: floorP95,
      floor_dtmf_to_confirm_max_ms: round2(Math.max(...main.floor)),
      floor_commit_dtmf_to_confirm_p50_ms: round2(percentile(main.floorCommit, 50)),
      floor_commit_dtmf_to_confirm_p95_ms: floorCommitP95,
      ratio_p95_to_floor: round2(p95 / floorP95),
      // How much of the plugin's time the database's commit explains (the goal stays the raw floor).
      ratio_p95_to_floor_commit: round2(p95 / floorCommitP95),
      dtmf_samples: main.plugin.length,
      floor_samples: main.floor.length,
      press1_failed_calls: mainFailed,
      press1_unconfirmed: main.unconfirmed,
      press1_booking_p50_ms: round2(percentile(booking.span, 50)),
      press1_booking_p95_ms: round2(percentile(booking.span, 95)),
      press1_booking_statement_p95_ms: round2(percentile(booking.store, 95)),
      press1_offer_stop_p95_ms: round2(percentile(booking.stop, 95)),
      press1_cpu_percent: mainCpu,
      press1_database_waits: mainWaits,
      press1_plugin_loop_lag_ms: main.pluginLoopLag,
      press1_asterisk_ping_ms: mainPing,
      burst_callers: o.callers,
      burst_dtmf_to_confirm_p50_ms: round2(percentile(burst.plugin, 50)),
      burst_dtmf_to_confirm_p95_ms: burstP95,
      burst_dtmf_to_confirm_max_ms: round2(Math.max(...burst.plugin)),
      burst_floor_dtmf_to_confirm_p95_ms: burstFloorP95,
      burst_floor_commit_dtmf_to_confirm_p95_ms: round2(percentile(burst.floorCommit, 95)),
      burst_ratio_p95_to_floor: round2(burstP95 / burstFloorP95),
      burst_booking_statement_p95_ms: round2(percentile(burstBooking.store, 95)),
      burst_failed_calls: burstFailed,
      burst_unconfirmed: burst.unconfirmed,
      burst_plugin_loop_lag_ms: burst.pluginLoopLag,
      agent_accept_to_customer_dial_p50_ms: round2(percentile(accept, 50)),
      agent_accept_to_customer_dial_p95_ms: round2(percentile(accept, 95)),
      agent_accept_samples: accept.length,
      held_callers_max: held.heldMax,
      held_callers_max_no_failures: held.heldMaxNoFailures,
      held_callers_bound: held.bound,
      held_callers_no_failures_bound: held.failureBound,
      plugin_cpu_ms_per_held_caller_min: held.pluginCpuMsPerHeldCallerMin,
      asterisk_cpu_ms_per_held_caller_min: held.asteriskCpuMsPerHeldCallerMin,
      app_queue_asterisk_cpu_ms_per_held_caller_min: appQueue.asteriskCpuMsPerHeldCallerMin,
      app_queue_held_callers_max_no_failures: appQueue.heldMaxNoFailures,
      app_queue_held_callers_no_failures_bound: appQueue.failureBound,
      // The target: at most 1.2.
      asterisk_cpu_ratio_to_app_queue: round2(held.asteriskCpuMsPerHeldCallerMin / appQueue.asteriskCpuMsPerHeldCallerMin),
      held_steps: steps,
      app_queue_held_steps: appQueue.steps,
      failed_calls_total: failedCalls(this.sippGroups.callers),
      machine: {
        nproc: os.cpus().length,
        cpu: os.cpus()[0]?.model ?? 'unknown',
        node: process.version,
        load_average_1m_at_end: round2(os.loadavg()[0] ?? NaN),
      },
    };
  }

  /**
   * `count` callers press 1 on the floor app, then as many on the plugin, one party after the
   * other on the same Asterisk: the DTMF -> confirmation times of both.
   *
   * One party at a time, not side by side: both at once would carry twice the callers the figure
   * is about, and each party would measure the other's load. The second party starts once every
   * call of the first has ended.
   */
  private async sample(count: number, rate: number, opts: { commitFloor?: boolean } = {}): Promise<Sample> {
    const floor = await this.party(FLOOR_DID, count, rate);
    const floorCommit = opts.commitFloor ? await this.party(FLOOR_COMMIT_DID, count, rate) : undefined;
    await this.pluginLoopLag(); // read, so that the next read covers the plugin's party only
    const plugin = await this.party(QUEUE_DID, count, rate);
    const loopLag = await this.pluginLoopLag();
    return {
      plugin: plugin.times,
      floor: floor.times,
      floorCommit: floorCommit?.times ?? [],
      unconfirmed: plugin.unconfirmed + floor.unconfirmed + (floorCommit?.unconfirmed ?? 0),
      sipp: [floor.sipp, ...(floorCommit ? [floorCommit.sipp] : []), plugin.sipp],
      pluginLoopLag: loopLag,
    };
  }

  /** How late the plugin's event loop ran since the previous read (plugin-loop-lag.ts). */
  private pluginLoopLag(): Promise<{ p99: number; max: number }> {
    return pluginLoopLag(this.lab.httpPort);
  }

  /** One party's callers (floor or plugin): arrive at `rate`, press 1, wait for the confirmation; until every call ended. */
  private async party(did: string, count: number, rate: number): Promise<{ times: number[]; unconfirmed: number; sipp: SippProcess }> {
    const numbers = this.numbers.take(count);
    const script: CallerScript = { from: '[field0]', steps: [{ wait: PRESS_AT_MS }, { dtmf: '1' }, { waitForBye: 60000 }] };
    const sipp = await this.lab.call(did, script, { count, rate, injection: numbers.map((n) => [n]) });
    this.sippGroups.callers.push(sipp);
    const deadline = Date.now() + (count / rate) * 1000 + PRESS_AT_MS + 60000;
    for (;;) {
      this.book.update();
      const waiting = numbers.filter((n) => this.book.callerChannel(n)?.confirmAt === undefined);
      if (waiting.length === 0 || Date.now() > deadline || !sipp.running) break;
      await sleep(200);
    }
    // Every call of the party ends (confirmation heard, hung up) before anything else is measured.
    await sipp.finished(60000);
    this.book.update();
    const times = numbers.flatMap((n) => {
      const f = this.book.callerChannel(n);
      return f?.digit1At !== undefined && f.confirmAt !== undefined ? [f.confirmAt - f.digit1At] : [];
    });
    return { times, unconfirmed: count - times.length, sipp };
  }

  /**
   * The agents log in with phones that answer and press 1; the customers answer, pass the guard
   * with 1 and hang up. Until `count` customer legs were dialled (or 90 s): each agent's
   * ChannelDtmfReceived 1 -> its customer leg's Dial, paired by the attempt rows.
   */
  private async agentAccepts(count: number): Promise<number[]> {
    const { lab } = this;
    await lab.customers.use({ answer: { answerAfterMs: 200 }, steps: [{ wait: 1500 }, { dtmf: '1' }, { wait: 500 }, { hangup: true }] });
    for (const id of AGENT_IDS)
      await lab.phone(id).use({ answer: { answerAfterMs: 100 }, steps: [{ wait: 1200 }, { dtmf: '1' }, { waitForBye: 60000 }] });
    for (const id of AGENT_IDS) await lab.api('POST', `/agents/${id}/login`);
    const dialled = async (): Promise<{ agent_channel_id: string; customer_channel_id: string }[]> =>
      lab
        .db('callback_attempts')
        .whereNotNull('customer_channel_id')
        .select<{ agent_channel_id: string; customer_channel_id: string }[]>('agent_channel_id', 'customer_channel_id');
    const deadline = Date.now() + 90000;
    while ((await dialled()).length < count && Date.now() < deadline) await sleep(500);
    for (const id of AGENT_IDS) await lab.api('POST', `/agents/${id}/logout`);
    // The calls under way end (a logged-out agent finishes the callback in hand).
    const quiet = Date.now() + 30000;
    while (Date.now() < quiet && (await lab.db('callback_attempts').whereNull('ended_at').count<{ n: string }[]>({ n: '*' }))[0]?.n !== '0')
      await sleep(500);
    await sleep(1000);
    this.book.update();
    const times = (await dialled()).flatMap((a) => {
      const agent = this.book.channels.get(a.agent_channel_id);
      const customer = this.book.channels.get(a.customer_channel_id);
      const dialAt = customer?.dialAt ?? customer?.createdAt;
      return agent?.digit1At !== undefined && dialAt !== undefined ? [dialAt - agent.digit1At] : [];
    });
    for (const id of AGENT_IDS) await lab.phone(id).stop();
    await lab.customers.stop();
    return times;
  }

  /**
   * What the press-1 path spends in its one database statement (the booking, committed before
   * the confirmation plays): "storing" -> "stored" per call in the plugin's own log, on its clock.
   * An explanation of the DTMF -> confirmation figure, not a figure of Asterisk's.
   */
  private bookingTimes(fromLine = 0): { span: number[]; store: number[]; stop: number[] } {
    const storing = new Map<string, number>();
    const out = { span: [] as number[], store: [] as number[], stop: [] as number[] };
    for (const l of (this.lab.plugin?.lines ?? []).slice(fromLine)) {
      const callId = typeof l.callId === 'string' ? l.callId : undefined;
      const at = typeof l.timestamp === 'string' ? Date.parse(l.timestamp) : NaN;
      if (!callId || !Number.isFinite(at)) continue;
      if (l.message === 'callback requested; storing') storing.set(callId, at);
      else if (l.message === 'callback stored') {
        const t = storing.get(callId);
        if (t !== undefined) out.span.push(at - t);
        if (typeof l.storeMs === 'number') out.store.push(l.storeMs);
        if (typeof l.promptStopMs === 'number') out.stop.push(l.promptStopMs);
      }
    }
    return out;
  }

  /** Where the plugin's log is now: bookingTimes(from) then reads only what came after. */
  private pluginLines(): number {
    return this.lab.plugin?.lines.length ?? 0;
  }

  /** Held callers up to `target`, a quiet window, then a press-1 sample beside the floor. */
  private async heldStep(target: number): Promise<Omit<HeldStepOutcome, 'target'> & { figures: Record<string, unknown> }> {
    const { o } = this;
    const already = this.heldNumbers.length;
    const add = target - already;
    const numbers = this.numbers.take(add);
    this.heldNumbers.push(...numbers);
    // Long enough to outlast the run; the SIPp processes are killed at its end.
    const holdMs = Math.ceil((o.heldMax / o.heldStep) * (o.holdWindowSec + 60) + 300) * 1000;
    const sipp = await this.lab.call(
      QUEUE_DID,
      { from: '[field0]', steps: [{ wait: holdMs }, { hangup: true }] },
      { count: add, rate: Math.max(o.rate, 25), injection: numbers.map((n) => [n]) },
    );
    this.sippGroups.held.push(sipp);
    // Held: answered by the plugin and in its holding bridge, with music on hold.
    const deadline = Date.now() + (add / Math.max(o.rate, 25)) * 1000 + 30000;
    let onHold: number;
    for (;;) {
      this.book.update();
      onHold = this.heldNumbers.filter((n) => this.book.callerChannel(n)?.heldAt !== undefined).length;
      if (onHold >= target || Date.now() > deadline) break;
      await sleep(250);
    }
    await sleep(2000);
    const mark = await this.cpuMark();
    // The run queue, sampled through the window: with Asterisk's threads per call, a single-threaded
    // process (the plugin, a PostgreSQL backend) gets a smaller share of a saturated machine.
    const runQueue: number[] = [];
    const until = Date.now() + o.holdWindowSec * 1000;
    while (Date.now() < until) {
      runQueue.push(runnableThreads());
      await sleep(Math.min(500, Math.max(0, until - Date.now())));
    }
    const holdCpu = this.cpuSince(mark);
    const asteriskThreads = threadCount(this.lab.asterisk.pid);
    const asteriskChannels = await this.lab.asterisk
      .ari<unknown[]>('GET', '/channels')
      .then((r) => (Array.isArray(r.body) ? r.body.length : NaN))
      .catch(() => NaN);
    // Percent of one core over the window -> CPU ms per held caller per minute.
    const perMinute = (percent: number): number => round2((percent * 10 * o.holdWindowSec) / target / (o.holdWindowSec / 60));
    const perHeldCallerMin = perMinute(holdCpu.plugin);
    const sampleMark = await this.cpuMark();
    const waits = this.sampleDatabaseWaits();
    const ping = this.pingAsterisk();
    const s = await this.sample(o.sampleCallers, Math.min(o.rate, 10));
    const sampleCpu = this.cpuSince(sampleMark);
    const sampleWaits = waits();
    const samplePing = ping();
    this.book.update();
    const dropped = this.heldNumbers.filter((n) => this.book.callerChannel(n)?.endedAt !== undefined).length;
    const failed = failedCalls(this.sippGroups.held) + Math.max(failedCalls(s.sipp), s.unconfirmed);
    const p95 = round2(percentile(s.plugin, 95));
    const floorP95 = round2(percentile(s.floor, 95));
    const ratio = round2(p95 / floorP95);
    const figures = {
      held: target,
      on_hold: onHold,
      dtmf_to_confirm_p95_ms: p95,
      floor_p95_ms: floorP95,
      ratio_p95_to_floor: ratio,
      unconfirmed: s.unconfirmed,
      held_dropped: dropped,
      failed_calls: failed,
      hold_cpu_percent: holdCpu,
      runnable_threads_p50: percentile(runQueue, 50),
      asterisk_threads: asteriskThreads,
      asterisk_channels: asteriskChannels,
      load_average_1m: round2(os.loadavg()[0] ?? NaN),
      sample_cpu_percent: sampleCpu,
      sample_database_waits: sampleWaits,
      sample_plugin_loop_lag_ms: s.pluginLoopLag,
      sample_asterisk_ping_ms: samplePing,
      plugin_cpu_ms_per_held_caller_min: perHeldCallerMin,
      asterisk_cpu_ms_per_held_caller_min: perMinute(holdCpu.asterisk),
      sipp_cpu_ms_per_held_caller_min: perMinute(holdCpu.sipp),
    };
    const reasons: string[] = [];
    if (onHold < target) reasons.push(`only ${onHold} of ${target} callers were put on hold`);
    if (Number.isFinite(ratio) && ratio > 2) reasons.push(`ratio ${ratio} > 2 (p95 ${p95} ms, floor ${floorP95} ms)`);
    if (!Number.isFinite(ratio)) reasons.push(`no ratio (p95 ${p95} ms, floor ${floorP95} ms)`);
    if (dropped > 0) reasons.push(`${dropped} held callers dropped`);
    if (failed > 0) reasons.push(`${failed} calls failed`);
    const passed = reasons.length === 0;
    const why = passed
      ? ''
      : `${reasons.join('; ')} at ${target} held; CPU in the sample (percent of one core, 2 cores = 200): ${cpuText(sampleCpu)}; while holding: ${cpuText(holdCpu)}`;
    return {
      passed,
      failed: failed > 0 || dropped > 0 || onHold < target,
      why,
      figures,
      allHeld: onHold >= target,
      pluginCpuMsPerHeldCallerMin: perHeldCallerMin,
      asteriskCpuMsPerHeldCallerMin: perMinute(holdCpu.asterisk),
    };
  }

  private readonly heldNumbers: string[] = [];

  /** The processes whose CPU is counted, by role. */
  private roles(): Map<number, keyof CpuPercent> {
    const m = new Map<number, keyof CpuPercent>();
    const put = (pid: number | undefined, role: keyof CpuPercent) => {
      if (pid !== undefined) m.set(pid, role);
    };
    put(this.lab.asterisk.pid, 'asterisk');
    put(this.lab.plugin?.pid, 'plugin');
    put(this.floor.pid, 'floor');
    put(this.floorCommit.pid, 'floor');
    put(process.pid, 'bench');
    for (const s of [...this.sippGroups.held, ...this.sippGroups.callers]) if (s.running) put(s.pid, 'sipp');
    for (const pid of this.postgresPids) put(pid, 'postgres');
    return m;
  }

  private postgresPids: number[] = [];

  private async cpuMark(): Promise<CpuMark> {
    await this.refreshPostgresPids();
    const byPid = new Map<number, number>();
    for (const pid of this.roles().keys()) byPid.set(pid, cpuMs(pid));
    return { at: performance.now(), byPid, machine: machineCpuMs() };
  }

  /**
   * What the plugin's busy database sessions wait on, sampled every 250 ms until `stop` is called:
   * "IO:WALSync" 12 means twelve samples found a plugin statement waiting for the WAL to reach
   * the disk. Says whether a slow booking is PostgreSQL's disk, its locks or its CPU.
   */
  private sampleDatabaseWaits(): () => Record<string, number> {
    const counts: Record<string, number> = {};
    let running = true;
    const loop = async (): Promise<void> => {
      while (running) {
        const r = (await this.lab.db
          .raw(
            "SELECT coalesce(wait_event_type, 'CPU') AS t, coalesce(wait_event, 'running') AS e FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'",
          )
          .catch(() => ({ rows: [] }))) as { rows: { t: string; e: string }[] };
        for (const w of r.rows) counts[`${w.t}:${w.e}`] = (counts[`${w.t}:${w.e}`] ?? 0) + 1;
        await sleep(250);
      }
    };
    const done = loop();
    return () => {
      running = false;
      void done;
      return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
    };
  }

  /**
   * Asterisk's own responsiveness beside the figures: `GET /asterisk/info` every 200 ms (one at a
   * time) until `stop`; p50/p95/max of the round trips. Slow pings with a fast plugin mean Asterisk.
   */
  private pingAsterisk(): () => { p50: number; p95: number; max: number } {
    const times: number[] = [];
    let running = true;
    const loop = async (): Promise<void> => {
      while (running) {
        const r = await this.lab.asterisk.ari('GET', '/asterisk/info').catch(() => undefined);
        if (r) times.push(r.ms);
        await sleep(200);
      }
    };
    void loop();
    return () => {
      running = false;
      return { p50: round2(percentile(times, 50)), p95: round2(percentile(times, 95)), max: round2(Math.max(...times)) };
    };
  }

  /** The plugin's database backends (its pool), whose queries are PostgreSQL's share of the work. */
  private async refreshPostgresPids(): Promise<void> {
    const rows = (await this.lab.db
      .raw('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')
      .catch(() => ({ rows: [] }))) as { rows: { pid: number }[] };
    this.postgresPids = rows.rows.map((r) => r.pid);
  }

  private cpuSince(mark: CpuMark): CpuPercent {
    const wall = performance.now() - mark.at;
    const out: CpuPercent = { asterisk: 0, plugin: 0, sipp: 0, postgres: 0, floor: 0, bench: 0, machine: 0 };
    for (const [pid, role] of this.roles()) {
      const before = mark.byPid.get(pid);
      const now = cpuMs(pid);
      // A process born during the window (a sample's SIPp) counts from its start.
      const used = Number.isFinite(now) ? now - (before !== undefined && Number.isFinite(before) ? before : 0) : 0;
      out[role] += (used / wall) * 100;
    }
    const m = machineCpuMs();
    // The whole machine, other work included, in percent of one core (2 cores = 200).
    out.machine = ((m.busy - mark.machine.busy) / (m.total - mark.machine.total)) * os.cpus().length * 100;
    for (const k of Object.keys(out) as (keyof CpuPercent)[]) out[k] = round2(out[k]);
    return out;
  }

  /** Ends the held callers' SIPp at once: their calls would otherwise wait out their script. */
  killHeld(): void {
    for (const s of this.sippGroups.held) s.kill();
  }
}

function failedCalls(sipps: readonly SippProcess[]): number {
  return sipps.reduce((n, s) => n + s.stats().failed + (!s.running && s.stats().created === 0 ? 1 : 0), 0);
}

function cpuText(c: CpuPercent): string {
  const ours = c.asterisk + c.plugin + c.sipp + c.postgres + c.floor + c.bench;
  return `asterisk ${c.asterisk}, SIPp ${c.sipp}, plugin ${c.plugin}, postgres ${c.postgres}, floor ${c.floor}, bench ${c.bench}; machine ${c.machine} (other work ${round2(c.machine - ours)})`;
}

/**
 * The plugin configuration of the run: the support queue overflows at once (agents logged out,
 * maxWaiting 1) and offers the callback 1 s after the answer, then every 20 s; callbacks are
 * dialled as soon as an agent is free, with timings short enough for a sample of them.
 */
function benchPluginConfig(): Record<string, unknown> {
  return storyConfig({
    agents: [],
    queue: { offer: { initialDelaySec: 1, intervalSec: OFFER_INTERVAL_SEC, thresholdPosition: 0 } },
    callback: { agentRingTimeoutSec: 8, customerRingTimeoutSec: 8, previewDecisionSec: 15, declineWindowSec: 60, leaseSec: 30 },
  });
}

/** The sample dialplan plus the floors' numbers and app_queue's, appended to callback-entry (`(+)`). */
function floorDialplan(): string {
  const sample = fs.readFileSync(path.join(PROJECT_CONFIG_DIR, 'extensions.conf'), 'utf8');
  return `${sample}\n\n; Added by the benchmark for this run: the floor apps' numbers and the app_queue yardstick's.\n[callback-entry](+)\nexten => ${FLOOR_DID},1,NoOp(bench floor)\n same => n,Stasis(${FLOOR_APP})\n same => n,Hangup()\nexten => ${FLOOR_COMMIT_DID},1,NoOp(bench commit floor)\n same => n,Stasis(${FLOOR_COMMIT_APP})\n same => n,Hangup()\n${appQueueExtension()}`;
}
