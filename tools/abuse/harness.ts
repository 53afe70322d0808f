import { PostgresServer } from '../support/postgres-server';
import { CallRobot } from '../faults/robot';
import { AbuseRig, AGENT_ENDPOINTS, RigOptions, startAbuseRig } from './rig';
import { attackSeed, classifyDialled, NumberClass, NumberSource, seededRandom, trunkNumber } from './numbers';
import { sleep } from './calls';

/**
 * The abuse run's machinery: attacks grouped by the plugin they attack, each with its expectation
 * (from issue 19), run independently (an attack that throws or hangs is one failed attack), and the
 * three counts that must be zero:
 * - dialled_premium_or_international: every trunk leg of every simulator the run started whose
 *   number is premium, international, Caribbean or not a valid NANP number (numbers.ts);
 * - over_limit: callbacks stored beyond a limit, as each attack counts them;
 * - crashes: uncaught exceptions and unhandled rejections in the process the plugins run in.
 * Before a rig stops, its "dial phase" cancels the callbacks for valid domestic numbers, frees the
 * agents (who accept every preview), and waits for what is left to be dialled: whatever an attack
 * managed to store is then either dialled (and counted) or refused at the dial.
 */
export interface AttackResult {
  /** What happened, in a few words: '400', 'number-refused', 'stored', ... */
  outcome: string;
  /** The expectation held. */
  ok: boolean;
  /** The plugin refused the attack (a 4xx, a refusal prompt, a config error, a cap). */
  refused: boolean;
  /** Callbacks stored beyond a limit in this attack. */
  overLimit?: number;
}

export interface AttackContext {
  /** The plan's shared plugin (undefined for plans without one). */
  rig: AbuseRig | undefined;
  numbers: NumberSource;
  random: () => number;
  /** A plugin of the attack's own, counted and stopped (after its dial phase) by the harness. */
  startRig(name: string, config: Record<string, unknown>, opts?: RigOptions): Promise<AbuseRig>;
  server: PostgresServer;
}

export interface Attack {
  name: string;
  /** The finding it reproduces ('Why 3'), or 'added'. */
  why: string;
  expected: string;
  /** Runs alone, after the plan's other attacks (load, or things that would disturb others). */
  exclusive?: boolean;
  timeoutMs?: number;
  run(ctx: AttackContext): Promise<AttackResult>;
}

export interface Plan {
  name: string;
  /** The shared plugin's config; none when every attack brings its own. */
  config?: () => Record<string, unknown>;
  rigOptions?: RigOptions;
  /** Bound of the dial phase; 0 skips it. */
  dialPhaseMs?: number;
  attacks: Attack[];
}

export interface AttackReport extends AttackResult {
  name: string;
  plan: string;
  why: string;
  expected: string;
  ms: number;
}

export interface BadLeg {
  rig: string;
  endpoint: string;
  class: NumberClass;
}

export interface AbuseReport {
  attacks: number;
  refused: number;
  dialled_premium_or_international: number;
  over_limit: number;
  crashes: number;
  unmet: number;
  unmet_attacks: string[];
  stored_forbidden: number;
  seed: number;
  ms: number;
  results: AttackReport[];
  badLegs: BadLeg[];
  crashMessages: string[];
}

const DEFAULT_TIMEOUT_MS = 20_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no end within ${ms} ms`)), ms))),
  ]);
}

class Tally {
  readonly badLegs: BadLeg[] = [];
  storedForbidden = 0;

  /** Counts a rig's forbidden trunk legs and stored numbers, then stops it. */
  async finish(rig: AbuseRig, dialPhaseMs: number, log: (l: string) => void, seeded = false): Promise<void> {
    try {
      if (dialPhaseMs > 0) await dialPhase(rig, dialPhaseMs).catch((e: unknown) => log(`${rig.name}: dial phase: ${String(e)}`));
      const rows = (await rig
        .db('callback_requests')
        .select('customer_number')
        .catch(() => [])) as { customer_number: string }[];
      // A seeded rig's forbidden rows were written by the run itself, not booked through the plugin.
      if (!seeded) this.storedForbidden += rows.filter((r) => classifyDialled(r.customer_number) !== 'domestic').length;
      for (const leg of rig.sim.legs) {
        const n = trunkNumber(leg.endpointName);
        if (n === undefined) continue;
        const cls = classifyDialled(n);
        if (cls !== 'domestic') this.badLegs.push({ rig: rig.name, endpoint: leg.endpointName, class: cls });
      }
    } finally {
      await rig.stop();
    }
  }
}

/** Leaves only the callbacks that should not exist, and lets the agents take them. */
async function dialPhase(rig: AbuseRig, ms: number): Promise<void> {
  for (const c of rig.sim.calls) if (c.alive) c.hangup();
  const rows = await rig
    .db('callback_requests')
    .whereIn('status', ['pending', 'in_progress'])
    .select<{ id: string; customer_number: string }[]>('id', 'customer_number');
  const legit = rows.filter((r) => classifyDialled(r.customer_number) === 'domestic').map((r) => r.id);
  if (legit.length > 0) await rig.db('callback_requests').whereIn('id', legit).where('status', 'pending').update({ status: 'cancelled' });
  if (rows.length === legit.length) return;
  // The plugin drops cancelled callbacks at its next sync (callback.syncIntervalSec 1).
  await sleep(1200);
  const robot = new CallRobot(rig.sim, { agentEndpoints: AGENT_ENDPOINTS, customerEndpoints: [], answerAfterMs: 50, talkMs: 100 });
  robot.start();
  for (const e of AGENT_ENDPOINTS) rig.sim.endpoint(e).setDeviceState(null);
  try {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const open = (await rig.db('callback_requests').whereIn('status', ['pending', 'in_progress']).count<{ n: string }[]>('id as n'))[0];
      if (Number(open?.n ?? 0) === 0) break;
      await sleep(200);
    }
  } finally {
    robot.stop();
  }
}

async function pool<T>(items: T[], width: number, f: (t: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(width, queue.length) }, async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) await f(t);
    }),
  );
}

export interface RunOptions {
  server: PostgresServer;
  plans: Plan[];
  seed: number;
  only?: RegExp;
  log?: (line: string) => void;
}

export async function runAbuse(opts: RunOptions): Promise<AbuseReport> {
  const t0 = Date.now();
  const log = opts.log ?? (() => undefined);
  const crashMessages: string[] = [];
  // The plugins run in this process: anything they throw past their own handlers lands here.
  const onCrash = (e: unknown): void => {
    crashMessages.push(e instanceof Error ? (e.stack ?? e.message).split('\n').slice(0, 3).join(' | ') : String(e));
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const used = new Set<string>();
  const tally = new Tally();
  const results: AttackReport[] = [];
  // Reported in the order the plans list them, whatever order they finished in.
  const order = new Map<string, number>();
  opts.plans.forEach((p, i) => p.attacks.forEach((a, j) => order.set(`${p.name}/${a.name}`, i * 1000 + j)));
  try {
    for (const plan of opts.plans) {
      const attacks = plan.attacks.filter((a) => !opts.only || opts.only.test(a.name));
      if (attacks.length === 0) continue;
      let rig: AbuseRig | undefined;
      if (plan.config) {
        try {
          rig = await startAbuseRig(opts.server, plan.name, plan.config(), plan.rigOptions);
        } catch (e) {
          for (const a of attacks)
            results.push({
              name: a.name,
              plan: plan.name,
              why: a.why,
              expected: a.expected,
              outcome: `rig did not start: ${String(e)}`,
              ok: false,
              refused: false,
              ms: 0,
            });
          continue;
        }
      }
      const own: AbuseRig[] = [];
      const shared: Omit<AttackContext, 'random' | 'numbers'> = {
        rig,
        server: opts.server,
        startRig: async (name, config, o) => {
          const r = await startAbuseRig(opts.server, `${plan.name}/${name}`, config, o);
          own.push(r);
          return r;
        },
      };
      const runOne = async (a: Attack): Promise<void> => {
        const started = Date.now();
        let r: AttackResult;
        // Each attack draws from its own seeded stream, so that a run is the same whatever the order.
        const random = seededRandom(attackSeed(opts.seed, a.name));
        const ctx: AttackContext = { ...shared, random, numbers: new NumberSource(random, used) };
        try {
          r = await withTimeout(a.run(ctx), a.timeoutMs ?? DEFAULT_TIMEOUT_MS, a.name);
        } catch (e) {
          r = { outcome: `error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, ok: false, refused: false };
        }
        const rep = { name: a.name, plan: plan.name, why: a.why, expected: a.expected, ms: Date.now() - started, ...r };
        results.push(rep);
        log(`${rep.ok ? 'ok   ' : 'UNMET'} ${plan.name}/${a.name}: ${rep.outcome} (${rep.ms} ms)`);
      };
      await pool(
        attacks.filter((a) => !a.exclusive),
        6,
        runOne,
      );
      for (const a of attacks.filter((x) => x.exclusive)) await runOne(a);
      for (const r of own) await tally.finish(r, plan.dialPhaseMs ?? 4000, log);
      if (rig) await tally.finish(rig, plan.dialPhaseMs ?? 4000, log, plan.rigOptions?.seed !== undefined);
    }
  } finally {
    // A moment for late rejections of the last plugin to surface before the count is taken.
    await sleep(200);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  }
  results.sort((a, b) => (order.get(`${a.plan}/${a.name}`) ?? 0) - (order.get(`${b.plan}/${b.name}`) ?? 0));
  const unmet = results.filter((r) => !r.ok);
  return {
    attacks: results.length,
    refused: results.filter((r) => r.refused).length,
    dialled_premium_or_international: tally.badLegs.length,
    over_limit: results.reduce((s, r) => s + (r.overLimit ?? 0), 0),
    crashes: crashMessages.length,
    unmet: unmet.length,
    unmet_attacks: unmet.map((r) => r.name),
    stored_forbidden: tally.storedForbidden,
    seed: opts.seed,
    ms: Date.now() - t0,
    results,
    badLegs: tally.badLegs,
    crashMessages,
  };
}
