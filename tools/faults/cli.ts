/**
 * `npm run faults -- [--json] [--points a,b] [--asterisk] [--standby [--kills n]]`: the
 * fault-injection harness. For every crash point in src/config/crash-points.ts the plugin runs as
 * a child process, is killed at that step, restarted, and the four invariants are counted
 * (tools/faults/scenarios.ts, on the simulator). With --asterisk the same runs, plus kills from
 * outside and a restart of Asterisk, are made on a real Asterisk with SIPp people
 * (tools/faults/asterisk-scenarios.ts). Exit 0 only when all four counts are 0 and every point was
 * reached (on the real Asterisk also: every re-adoption rule kept). An ARI outage longer than
 * ari-client's own retries is proved by test/resilience/ari-resilience.test.ts.
 */
import { findPostgresServer, PostgresServer } from '../support/postgres-server';
import { CrashPoint } from '../../src/config/crash-points';
import { findAsteriskRuntime } from '../asterisk-lab/runtime';
import { ALL_CRASH_POINTS, runCrashPoint, RunResult } from './scenarios';
import { ALL_ASTERISK_POINTS, AsteriskFaultPoint, AsteriskRunResult, runAsteriskPoint } from './asterisk-scenarios';
import { runStandbyFaults } from './standby';
import { measureCrossInstance } from './cross-instance';
import { parseCommandLine, UsageError } from '../../src/cli/options';

/**
 * Labs at once with --asterisk. A point spends most of its time waiting for real prompts to play,
 * so three labs side by side take a third of the time without making the people's timing drift.
 */
const DEFAULT_LABS = 3;

const COMMAND = {
  usage: 'npm run faults --',
  summary:
    'Kill the plugin (SIGKILL) at each crash point, restart it, and count lost, falsely confirmed, double-dialled and stuck callbacks.',
  options: {
    json: { type: 'boolean', description: 'print one JSON line with the four counts' },
    points: {
      type: 'string',
      valueName: 'a,b',
      description: `only these points (${ALL_CRASH_POINTS.length} crash points; with --asterisk ${ALL_ASTERISK_POINTS.length}: ${ALL_ASTERISK_POINTS.filter((p) => !(ALL_CRASH_POINTS as string[]).includes(p)).join(', ')} too)`,
    },
    asterisk: {
      type: 'boolean',
      description:
        'on a real Asterisk with SIPp people (tools/asterisk-lab) instead of the simulator; adds kills from outside and a restart of Asterisk',
    },
    standby: {
      type: 'boolean',
      description: 'hot standby instead: kill the leader of a standby group again and again (takeover times, callers and places lost)',
    },
    kills: { type: 'string', valueName: 'n', description: 'with --standby: how many kills (default 10)' },
    labs: { type: 'string', valueName: 'n', description: `with --asterisk: how many labs run at once (default ${DEFAULT_LABS})` },
  },
} as const;

function pointList<P extends string>(list: string | undefined, known: readonly P[]): P[] {
  if (list === undefined) return [...known];
  const points = list.split(',').filter(Boolean);
  const unknown = points.filter((p) => !(known as readonly string[]).includes(p));
  if (points.length === 0 || unknown.length > 0)
    throw new UsageError(`--points: unknown point '${unknown[0] ?? list}' (known: ${known.join(', ')})`);
  return points as P[];
}

function labCount(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LABS;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 8) throw new UsageError(`--labs: a whole number from 1 to 8 (got '${text}')`);
  return n;
}

function killCount(text: string | undefined): number {
  if (text === undefined) return 10;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--kills: a whole number of at least 1, not '${text}'`);
  return n;
}

async function main(): Promise<void> {
  const { json, points, standby, kills, asterisk, labs } = parseCommandLine('faults', COMMAND, (o) => ({
    json: o.json === true,
    points:
      o.asterisk === true
        ? pointList<AsteriskFaultPoint>(o.points, ALL_ASTERISK_POINTS)
        : pointList<CrashPoint>(o.points, ALL_CRASH_POINTS),
    standby: o.standby === true,
    kills: killCount(o.kills),
    asterisk: o.asterisk === true,
    labs: labCount(o.labs),
  }));
  const say = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  if (asterisk && standby) {
    say(
      'faults: --standby --asterisk is not available: the standby kills on a real Asterisk are the story in test/asterisk/standby.asterisk.test.ts (npm run test:asterisk)',
    );
    process.exit(2);
  }
  const server = await findPostgresServer();
  if (asterisk) await runOnAsterisk(server, points, labs, json, say);
  if (standby) {
    await conclude(server, json, say, 'standby', async () => {
      const r = await runStandbyFaults({ server, kills, log: say });
      const { notes, ...takeover } = r;
      // The other figure of the shared queue: how soon another instance learns of a callback.
      const figures = { ...takeover, ...(await measureCrossInstance({ server, log: say })) };
      if (notes.length) say(`notes: ${notes.join('; ')}`);
      return { figures, ok: r.callers_lost + r.places_lost + r.false_confirmations + r.double_dials === 0 && r.kills === kills };
    });
  }
  const results: RunResult[] = [];
  await conclude(server, json, say, 'summary', async () => {
    for (const point of points) {
      const r = await runCrashPoint(point as CrashPoint, { server, log: say });
      results.push(r);
      say(
        `${r.crashed ? 'crashed ' : 'NO CRASH'} ${point.padEnd(34)} lost=${r.lost} false_conf=${r.false_confirmations} double=${r.double_dials} stuck=${r.stuck} redial_after_answer=${r.redials_after_answer} callbacks=${r.callbacks} ${r.ms} ms${r.notes.length ? `  (${r.notes.join('; ')})` : ''}`,
      );
    }
    const notCrashed = results.filter((r) => !r.crashed).length;
    const summary = summarise(results);
    return {
      figures: summary,
      ok: allZero(summary) && notCrashed === 0,
      remark: notCrashed ? ` (${notCrashed} point(s) never reached)` : '',
    };
  });
}

/**
 * The end of every mode: its figures (one JSON line with --json, else on stderr), PostgreSQL
 * stopped if this run started it, exit 0 only when nothing broke; an exception is exit 2.
 */
async function conclude(
  server: PostgresServer,
  json: boolean,
  say: (line: string) => void,
  label: string,
  run: () => Promise<{ figures: object; ok: boolean; remark?: string }>,
): Promise<never> {
  try {
    const { figures, ok, remark } = await run();
    if (json) process.stdout.write(`${JSON.stringify(figures)}\n`);
    else say(`${label}: ${JSON.stringify(figures)}${remark ?? ''}`);
    await server.stop();
    process.exit(ok ? 0 : 1);
  } catch (e) {
    say(`faults: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    await server.stop().catch(() => undefined);
    process.exit(2);
  }
}

function allZero(s: Counted): boolean {
  return s.lost === 0 && s.false_confirmations === 0 && s.double_dials === 0 && s.stuck === 0;
}

type Counted = Pick<RunResult, 'lost' | 'false_confirmations' | 'double_dials' | 'stuck'>;

function summarise(results: readonly Counted[]): {
  points: number;
  runs: number;
  lost: number;
  false_confirmations: number;
  double_dials: number;
  stuck: number;
} {
  const sum = (k: keyof Counted): number => results.reduce((n, r) => n + r[k], 0);
  return {
    points: results.length,
    runs: results.length,
    lost: sum('lost'),
    false_confirmations: sum('false_confirmations'),
    double_dials: sum('double_dials'),
    stuck: sum('stuck'),
  };
}

function failedRun(point: AsteriskFaultPoint, e: unknown): AsteriskRunResult {
  const none = {
    adopted: [],
    confirmed_again: [],
    adopted_pairs: 0,
    answers: 0,
    slow_requests: [],
    max_request_ms: 0,
    unjustified_hangups: [],
    holding_bridges_reused: 0,
    holding_bridge_reentered: [],
    old_prompts_stopped: 0,
    first_request_ms: undefined,
  };
  const why = e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e);
  return {
    point,
    crashed: false,
    lost: 0,
    false_confirmations: 0,
    double_dials: 0,
    stuck: 0,
    redials_after_answer: 0,
    callbacks: 0,
    ms: 0,
    notes: [`run failed: ${why}`],
    asterisk: 'unknown',
    adoption: none,
    violations: [],
  };
}

/** Every point on its own real-Asterisk lab, `labs` of them at a time; reported in the points' order. */
async function runOnAsterisk(
  server: PostgresServer,
  points: AsteriskFaultPoint[],
  labs: number,
  json: boolean,
  say: (line: string) => void,
): Promise<never> {
  const found = findAsteriskRuntime();
  if (!found.ok) {
    say(`faults: --asterisk needs the real-Asterisk runtime: ${found.reason}`);
    await server.stop().catch(() => undefined);
    process.exit(2);
  }
  const results: AsteriskRunResult[] = [];
  const t0 = Date.now();
  return conclude(server, json, say, 'summary', async () => {
    const byPoint = new Map<AsteriskFaultPoint, AsteriskRunResult>();
    const queue = [...points];
    const worker = async (): Promise<void> => {
      for (let point = queue.shift(); point !== undefined; point = queue.shift()) {
        // A run that throws (a lab that did not boot, a story step that timed out) counts as not
        // reached; the other labs run on and stop their Asterisk themselves.
        const r = await runAsteriskPoint(point, { runtime: found.runtime, server, log: say }).catch((e: unknown) => failedRun(point, e));
        byPoint.set(point, r);
        // Each point as it ends (with labs side by side, not in the points' order).
        const a = r.adoption;
        const adoption = `adopted=${a.adopted.length} confirmed_again=${a.confirmed_again.length} pairs=${a.adopted_pairs} answers=${a.answers} max_req=${a.max_request_ms}ms bridges_reused=${a.holding_bridges_reused} reentered=${a.holding_bridge_reentered.length} prompts_stopped=${a.old_prompts_stopped}${a.first_request_ms !== undefined ? ` first_req=${a.first_request_ms}ms` : ''}`;
        say(
          `${r.crashed ? 'reached ' : 'NOT REACHED'} ${point.padEnd(34)} lost=${r.lost} false_conf=${r.false_confirmations} double=${r.double_dials} stuck=${r.stuck} redial_after_answer=${r.redials_after_answer} callbacks=${r.callbacks} ${r.ms} ms  [${adoption}]${r.violations.length ? `  VIOLATIONS: ${r.violations.join('; ')}` : ''}${r.notes.length ? `  (${r.notes.join('; ')})` : ''}`,
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(labs, points.length) }, worker));
    for (const point of points) results.push(byPoint.get(point) as AsteriskRunResult);
    const summary = {
      ...summarise(results),
      asterisk: [...new Set(results.map((r) => r.asterisk).filter((v) => v !== 'unknown'))].join(','),
    };
    const unreached = results.filter((r) => !r.crashed).length;
    const violations = results.reduce((n, r) => n + r.violations.length, 0);
    say(`${points.length} point(s) on ${Math.min(labs, points.length)} lab(s) at a time in ${Math.round((Date.now() - t0) / 1000)} s`);
    return {
      figures: summary,
      ok: allZero(summary) && unreached === 0 && violations === 0,
      remark: `${unreached ? ` (${unreached} point(s) never reached)` : ''}${violations ? ` (${violations} re-adoption rule(s) broken)` : ''}`,
    };
  });
}

void main();
