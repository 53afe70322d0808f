import fs from 'node:fs';
import { quietBridgeIdOf } from '../../src/calls/channel-ids';
import { PostgresServer } from '../support/postgres-server';
import { agentOf, queuesOf } from './config';
import { AriFaultBook } from './faults';
import { checkScenario, crashLines, scenarioCallbacks, scenarioRows } from './invariants';
import { PersonHooks, sleep } from './people';
import { startFuzzRig, FuzzRig } from './rig';
import {
  INVARIANTS,
  Invariant,
  LegTrace,
  playAgentLeg,
  playCustomerLeg,
  playScenario,
  ScenarioTrace,
  Stage,
  trunkNational,
  Violation,
} from './scenario';

/**
 * Runs the scenarios: `slots` at once on one plugin and simulator, each slot pulling the next
 * index; after every `barrierEvery` scenarios all slots drain and the engine must hold nothing
 * (sessions, channels routed, callers, callbacks, agents held, timers); a fresh rig (plugin,
 * simulator, database) every `rigEvery` scenarios keeps a long run's memory flat.
 */
export interface FuzzOptions {
  scenarios: number;
  seed: number;
  slots?: number;
  /** Index of the first scenario (default 0). */
  first?: number;
  /** Only these indices (replay). */
  only?: number[];
  /** Faults for everyone (database, WebSocket); default true. */
  chaos?: boolean;
  barrierEvery?: number;
  rigEvery?: number;
  /** The rig, once started: a canary breaks something in it. */
  onRig?: (rig: FuzzRig) => void | Promise<void>;
  log?: (line: string) => void;
}

export interface FuzzReport {
  scenarios: number;
  seed: number;
  violations: number;
  by_invariant: Record<Invariant, number>;
  ari_faults_injected: number;
  wall_ms: number;
  failures: (Violation & { replay: string })[];
}

/** Scenarios in flight at once (each in a slot of its own: config.ts). */
export const DEFAULT_SLOTS = 100;

/** How long a scenario may take to settle once its people are done. */
const QUIESCE_MS = 6000;
/** How long a scenario must look finished before it is (its last writes may still be committing). */
const SETTLE_MS = 500;
/**
 * After this long in the end phase, callbacks still pending are cancelled: an agent who never
 * answers or decides sends a callback back to the queue without using an attempt (by design), so
 * it would be offered again and again.
 */
const END_GRACE_MS = 2500;

/** FUZZ_TRACE_LOG=<file>: the fuzzer's own steps go there too, beside the plugin's and the simulator's lines. */
function traceNote(note: Record<string, unknown>): void {
  const file = process.env.FUZZ_TRACE_LOG;
  if (file) fs.appendFileSync(file, `${JSON.stringify({ fuzz: 'runner', at: new Date().toISOString(), ...note })}\n`);
}
/**
 * A session keeps its ended legs routed for a grace (5 s in preview-call-session.ts) so that late
 * events find it; a channel still routed this long after its scenario settled has outlived it.
 */
const UNROUTE_GRACE_MS = 7000;

/** A scenario's callback still open, as the quiet check reads it. */
interface OpenRow {
  id: string;
  status: string;
  not_before: Date | null;
}

export async function runFuzz(server: PostgresServer, opts: FuzzOptions): Promise<FuzzReport> {
  const t0 = Date.now();
  const slots = opts.slots ?? DEFAULT_SLOTS;
  const first = opts.first ?? 0;
  const indices = opts.only ?? Array.from({ length: opts.scenarios }, (_, i) => first + i);
  const barrierEvery = opts.barrierEvery ?? 500;
  const rigEvery = opts.rigEvery ?? 1000;
  const violations: Violation[] = [];
  let injected = 0;
  for (let from = 0; from < indices.length; from += rigEvery) {
    const chunk = indices.slice(from, from + rigEvery);
    const rig = await startFuzzRig(server, slots);
    try {
      await opts.onRig?.(rig);
      const run = new RigRun(rig, opts.seed, slots, opts.chaos ?? true, violations, opts.log);
      await run.baseline();
      for (let b = 0; b < chunk.length; b += barrierEvery) await run.batch(chunk.slice(b, b + barrierEvery));
      injected += run.faults.injected;
      run.stop();
    } finally {
      await rig.stop();
    }
  }
  const by = Object.fromEntries(INVARIANTS.map((i) => [i, 0])) as Record<Invariant, number>;
  for (const v of violations) by[v.invariant] += 1;
  return {
    scenarios: indices.length,
    seed: opts.seed,
    violations: violations.length,
    by_invariant: by,
    ari_faults_injected: injected,
    wall_ms: Date.now() - t0,
    failures: violations.map((v) => ({
      ...v,
      replay: `npm run fuzz -- --seed ${opts.seed} --slots ${slots}${opts.chaos === false ? ' --no-chaos' : ''} --only ${v.scenario}`,
    })),
  };
}

class RigRun {
  readonly faults = new AriFaultBook();
  private readonly stage: Stage;
  private readonly bridged = new Set<string>();
  private readonly entered = new Set<string>();
  private audible = new Set<string>();
  private typing = new Set<string>();
  private audibleAt = 0;
  private legsSeen = 0;
  private logSeen = 0;
  private exitsSeen = 0;
  private uncaughtSeen = 0;
  private timerBaseline = 0;
  private readonly inFlight = new Set<ScenarioTrace>();
  /** Callbacks of scenarios that did not settle, cancelled once their attempt ends (cancelLeftovers). */
  private readonly leftovers = new Set<string>();
  /** Ended channels still routed when their scenario settled, and by when they must not be. */
  private readonly routedAfterEnd: { id: string; scenario: number; by: number }[] = [];
  private readonly legCounts = new Map<ScenarioTrace, number>();
  /** The last scenario that owned a number or an agent's phone (a leg dialled after it ended is its). */
  private readonly formerOwners = new Map<string, number>();
  private readonly watcher: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly rig: FuzzRig,
    seed: number,
    private readonly slots: number,
    private readonly chaos: boolean,
    private readonly violations: Violation[],
    private readonly log?: (line: string) => void,
  ) {
    rig.sim.injectRequestFaults(this.faults.hook);
    this.stage = { rig, seed, faults: this.faults, owners: new Map(), hooks: (t) => this.hooks(t) };
    this.unsubscribe = rig.sim.onEvent((e) => {
      const ev = e.event as { type?: string; channel?: { id?: string }; bridge?: { bridge_type?: string } };
      if (ev.type === 'ChannelEnteredBridge' && ev.bridge?.bridge_type === 'mixing' && ev.channel?.id) this.bridged.add(ev.channel.id);
      if (ev.type === 'StasisStart' && e.delivered && ev.channel?.id) this.entered.add(ev.channel.id);
    });
    this.watcher = setInterval(() => this.watchLegs(), 15);
  }

  stop(): void {
    clearInterval(this.watcher);
    this.unsubscribe();
    this.rig.sim.injectRequestFaults(null);
  }

  /** Who hears a bridge (music, another party) and who is in a typing bridge, at most every 50 ms. */
  private lookAtBridges(): void {
    if (Date.now() - this.audibleAt <= 50) return;
    this.audibleAt = Date.now();
    const audible = new Set<string>();
    const typing = new Set<string>();
    for (const b of this.rig.sim.bridges()) {
      if (b.mohActive || b.channels.length >= 2) for (const c of b.channels) audible.add(c);
      for (const c of b.channels) if (b.id === quietBridgeIdOf(c)) typing.add(c);
    }
    this.audible = audible;
    this.typing = typing;
  }

  /** Timers the idle engine keeps (its tick): a batch must leave no more. */
  async baseline(): Promise<void> {
    await sleep(300);
    this.timerBaseline = this.rig.pendingTimers();
  }

  private hooks(trace: ScenarioTrace): PersonHooks {
    return {
      bridgeAudible: (call) => {
        this.lookAtBridges();
        return this.audible.has(call.id);
      },
      typing: (call) => {
        this.lookAtBridges();
        return this.typing.has(call.id);
      },
      deadAir: (call, ms) =>
        trace.violations.push({
          scenario: trace.index,
          invariant: 'left_in_stasis',
          detail: `${call.id} answered in Stasis and heard nothing for ${ms} ms (last: ${call.playbacks.at(-1)?.media.join(',') ?? 'no prompt'})`,
        }),
    };
  }

  /** Every leg the plugin dials goes to the person it rings: the scenario's agent or customer. */
  private watchLegs(): void {
    const legs = this.rig.sim.legs;
    for (; this.legsSeen < legs.length; this.legsSeen++) {
      const leg = legs[this.legsSeen];
      const key = trunkNational(leg.endpointName) ?? leg.endpointName;
      const owner = this.stage.owners.get(key) ?? this.typedBy(key);
      if (!owner || !owner.active) {
        const v: Violation = {
          scenario: owner?.index ?? this.formerOwners.get(key) ?? -1,
          invariant: 'state_outlives_call',
          detail: `leg ${leg.id} dialled to ${leg.endpointName} after its scenario ended`,
        };
        this.violations.push(v);
        this.log?.(`VIOLATION ${JSON.stringify(v)}`);
        // Nobody answers it: it rings out (hanging up at once would invite an immediate redial).
        continue;
      }
      const n = this.legCounts.get(owner) ?? 0;
      this.legCounts.set(owner, n + 1);
      owner.channelIds.add(leg.id);
      const toCustomer = trunkNational(leg.endpointName) !== undefined;
      const trace: LegTrace = toCustomer ? playCustomerLeg(this.stage, owner, leg, n) : playAgentLeg(this.stage, owner, leg, n);
      owner.legs.push(trace);
    }
  }

  /**
   * The running scenario one of whose callers typed `national` (random keys, a number entry, keys
   * that ran together): it owns the number from now. Only numbers from `newNumber` are known ahead.
   */
  private typedBy(national: string): ScenarioTrace | undefined {
    const typists = new Set<ScenarioTrace>();
    for (const t of this.stage.owners.values())
      if (t.active && t.callers.some((c) => c.person.pressed.replace(/[^0-9]/g, '').includes(national))) typists.add(t);
    if (typists.size !== 1) return undefined;
    const [trace] = typists;
    trace.numbers.add(national);
    trace.endpoints.add(national);
    this.stage.owners.set(national, trace);
    return trace;
  }

  /** Scenarios with these indices, `slots` at a time; then the engine must be empty. */
  async batch(indices: number[]): Promise<void> {
    let next = 0;
    const free = Array.from({ length: this.slots }, (_, k) => k);
    await Promise.all(
      free.map(async (slot) => {
        while (next < indices.length) {
          const index = indices[next++];
          await this.scenario(index, slot);
        }
      }),
    );
    await this.barrier(indices);
  }

  /** Cancels the callbacks earlier scenarios left open, once no attempt of theirs runs. */
  private async cancelLeftovers(): Promise<void> {
    for (const id of [...this.leftovers]) {
      const r = await this.rig.plugin.app.admin.cancelCallback(id, 'fuzz: scenario over').catch(() => 'in_progress' as const);
      if (r !== 'in_progress') this.leftovers.delete(id);
    }
  }

  private async scenario(index: number, slot: number): Promise<void> {
    await this.cancelLeftovers();
    traceNote({ scenario: index, slot, step: 'start' });
    const trace = await playScenario(this.stage, index, slot, { chaos: this.chaos });
    this.inFlight.add(trace);
    try {
      traceNote({ scenario: index, step: 'people done', numbers: [...trace.numbers] });
      const leftover = await this.quiesce(trace);
      traceNote({ scenario: index, step: 'quiet', leftover: leftover.map((v) => v.detail) });
      await Promise.all(trace.legs.map((l) => l.person.done));
      trace.active = false;
      const rows = await scenarioRows(this.rig, trace);
      const found = [
        ...trace.violations,
        ...leftover,
        ...checkScenario(trace, rows, { bridged: this.bridged, entered: this.entered }),
        ...this.crashes(index),
        ...this.stillRouted(false),
      ];
      for (const v of found) this.log?.(`VIOLATION ${JSON.stringify(v)}\n  plan: ${trace.plan.join('; ')}`);
      this.violations.push(...found);
    } finally {
      trace.active = false;
      this.stage.faults.remove(trace);
      for (const [k, t] of this.stage.owners)
        if (t === trace) {
          this.stage.owners.delete(k);
          this.formerOwners.set(k, trace.index);
        }
      for (const id of trace.channelIds) {
        this.bridged.delete(id);
        this.entered.delete(id);
      }
      this.inFlight.delete(trace);
      this.legCounts.delete(trace);
    }
  }

  /** Channels that stayed routed past the grace (all of them at a barrier, where the grace has been waited). */
  private stillRouted(all: boolean): Violation[] {
    const bound = new Set(this.rig.plugin.app.calls.router.boundChannelIds());
    const now = Date.now();
    const out: Violation[] = [];
    for (let i = this.routedAfterEnd.length - 1; i >= 0; i--) {
      const r = this.routedAfterEnd[i];
      if (!bound.has(r.id)) this.routedAfterEnd.splice(i, 1);
      else if (all || now > r.by) {
        this.routedAfterEnd.splice(i, 1);
        out.push({
          scenario: r.scenario,
          invariant: 'state_outlives_call',
          detail: `channel ${r.id} still routed to a session ${UNROUTE_GRACE_MS} ms after its call ended`,
        });
      }
    }
    return out;
  }

  private crashes(index: number): Violation[] {
    const lines = crashLines(this.rig.logLines.slice(this.logSeen));
    this.logSeen = this.rig.logLines.length;
    const exits = this.rig.exits.slice(this.exitsSeen);
    this.exitsSeen = this.rig.exits.length;
    const uncaught = this.rig.uncaught.slice(this.uncaughtSeen);
    this.uncaughtSeen = this.rig.uncaught.length;
    return [
      ...lines.map((l) => ({ scenario: index, invariant: 'process_alive' as const, detail: l.slice(0, 600) })),
      ...uncaught.map((e) => ({ scenario: index, invariant: 'process_alive' as const, detail: `not handled: ${e.slice(0, 600)}` })),
      ...exits.map((c) => ({ scenario: index, invariant: 'process_alive' as const, detail: `process.exit(${c}) called` })),
    ];
  }

  /** Waits until nothing of the scenario is left; what is left after QUIESCE_MS is a violation (and is cleared). */
  private async quiesce(trace: ScenarioTrace): Promise<Violation[]> {
    const { rig } = this;
    const app = rig.plugin.app;
    const agent = agentOf(trace.slot);
    const queues = queuesOf(trace.slot);
    const started = Date.now();
    // A leg dialled late (a callback's attempt in the end phase) has people of its own still playing:
    // the wait runs until they are done too, within a hard limit.
    let deadline = started + QUIESCE_MS;
    const hardLimit = started + 3 * QUIESCE_MS;
    let openRows: OpenRow[] = [];
    let lastDb = 0;
    const state = async (): Promise<string[]> => {
      const left: string[] = [];
      const channels = [...trace.callers.map((c) => c.person.call), ...trace.legs.map((l) => l.leg)];
      for (const c of channels)
        if (c.alive) left.push(`channel ${c.id} still up (${c.inStasis ? 'in Stasis' : 'out of Stasis'}, ${c.state})`);
      if (app.agents.get(agent.id)?.onPluginCall) left.push(`agent ${agent.id} still held for a plugin call`);
      for (const q of [queues.agentFirst, queues.customerFirst]) {
        const s = app.queueSnapshot(q);
        if (s && s.callers > 0) left.push(`${s.callers} caller(s) still in queue ${q}`);
      }
      if (Date.now() - lastDb > 250 || left.length === 0) {
        lastDb = Date.now();
        openRows = await scenarioCallbacks(rig, trace)
          .select<OpenRow[]>('id', 'status', 'not_before')
          .whereIn('status', ['pending', 'in_progress'])
          .catch(() => openRows);
      }
      for (const r of openRows) left.push(`callback ${r.id} still ${r.status}`);
      if (Date.now() - started > END_GRACE_MS && openRows.length > 0) {
        // The agent's phone reads busy from now: nothing more is dispatched, and what is pending can be cancelled.
        rig.sim.endpoint(agent.endpoint).setDeviceState('INUSE');
        for (const r of openRows)
          if (r.status === 'pending') await app.admin.cancelCallback(r.id, 'fuzz: scenario over').catch(() => undefined);
      }
      return left;
    };
    // Read after each look (a leg dialled during the look is in it): a leg still up is an attempt
    // the plugin is still running (a preview's decision time, a guard), given 2 s more each time,
    // within the hard limit, where a leg left up is still found; a database fault holds the
    // attempt's end back, and its retries are given time to land.
    const extend = (): void => {
      if (trace.legs.some((l) => !l.person.finished || l.leg.alive)) deadline = Math.max(deadline, Date.now() + 2000);
      deadline = Math.max(deadline, rig.databaseTroubleUntil());
    };
    // Nothing left must hold for a while (SETTLE_MS, and past a database fault): a booking still
    // committing when the caller hung up shows up only after the first clean look, and its
    // callback was then dialled with the scenario already over.
    const settled = (): boolean => Date.now() >= Math.max(started + SETTLE_MS, Math.min(rig.databaseTroubleUntil(), hardLimit));
    let left = await state();
    traceNote({ scenario: trace.index, step: 'first look', left });
    extend();
    while (Date.now() < Math.min(deadline, hardLimit)) {
      if (left.length === 0 && settled()) break;
      await sleep(left.length === 0 ? 100 : 50);
      left = await state();
      extend();
    }
    traceNote({ scenario: trace.index, step: 'last look', left, waitedMs: Date.now() - started });
    if (left.length > 0 && openRows.some((r) => r.status === 'pending')) {
      // An attempt that ended in the last moments (its end retried through a database fault) put
      // its callback back to pending: cancelled now as in the end phase, not reported. Only what
      // the plugin still holds (an attempt running, a row it could not be asked to cancel) is left.
      for (let round = 0; round < 2 && left.length > 0; round++) {
        await sleep(50);
        lastDb = 0;
        left = await state();
      }
    }
    const bound = new Set(app.calls.router.boundChannelIds());
    const ended = [...trace.callers.map((c) => c.person.call), ...trace.legs.map((l) => l.leg)].filter((c) => !c.alive);
    for (const c of ended)
      if (bound.has(c.id)) this.routedAfterEnd.push({ id: c.id, scenario: trace.index, by: Date.now() + UNROUTE_GRACE_MS });
    if (left.length === 0) return [];
    const out: Violation[] = [];
    for (const what of left) {
      // A callback waiting for a retry the database asked for (notBefore ahead) is not left behind.
      const row = openRows.find((r) => what.startsWith(`callback ${r.id}`));
      if (row && row.status === 'pending' && row.not_before && row.not_before.getTime() > Date.now()) continue;
      out.push({
        scenario: trace.index,
        invariant: what.startsWith('channel') && what.includes('still up') ? 'left_in_stasis' : 'state_outlives_call',
        detail: `${what} ${Date.now() - started} ms after the scenario's people were done`,
      });
    }
    for (const c of [...trace.callers.map((x) => x.person.call), ...trace.legs.map((l) => l.leg)]) if (c.alive) c.hangup();
    // Reported once: what is left is cancelled as soon as it can be (an attempt still running is
    // let end first), so that it does not go on being offered to the agents of later scenarios.
    for (const r of openRows) this.leftovers.add(r.id);
    await this.cancelLeftovers();
    return out;
  }

  /** After a batch: the engine holds nothing for calls, no more timers than when idle, no channel in Stasis. */
  private async barrier(indices: number[]): Promise<void> {
    const app = this.rig.plugin.app;
    const deadline = Date.now() + UNROUTE_GRACE_MS + 1000;
    let counts = app.liveCounts();
    const busy = (): string[] =>
      Object.entries(counts)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k}=${n}`);
    while ((busy().length > 0 || this.rig.pendingTimers() > this.timerBaseline) && Date.now() < deadline) {
      await this.cancelLeftovers();
      await sleep(100);
      counts = app.liveCounts();
    }
    const range = `${indices[0]}..${indices[indices.length - 1]}`;
    const out: Violation[] = [];
    const scenario = indices[0];
    if (busy().length)
      out.push({ scenario, invariant: 'state_outlives_call', detail: `after scenarios ${range}: engine holds ${busy().join(', ')}` });
    const timers = this.rig.pendingTimers();
    if (timers > this.timerBaseline)
      out.push({
        scenario,
        invariant: 'state_outlives_call',
        detail: `after scenarios ${range}: ${timers} engine timers pending (idle: ${this.timerBaseline})`,
      });
    const inStasis = this.rig.sim.channels().filter((c) => c.state !== 'Down');
    if (inStasis.length)
      out.push({
        scenario,
        invariant: 'left_in_stasis',
        detail: `after scenarios ${range}: ${inStasis.length} channel(s) alive: ${inStasis.map((c) => `${c.id}(${c.name})`).join(' ')}`,
      });
    out.push(...this.crashes(scenario), ...this.stillRouted(true));
    for (const v of out) this.log?.(`VIOLATION ${JSON.stringify(v)}`);
    this.violations.push(...out);
    for (const c of this.rig.sim.calls) if (c.alive) c.hangup();
    for (const l of this.rig.sim.legs) if (l.alive) l.hangup();
    this.log?.(`scenarios ${range} done; ${this.violations.length} violation(s) so far`);
  }
}
