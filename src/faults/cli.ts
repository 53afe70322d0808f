/**
 * `npm run faults -- [--json] [--points a,b] [--standby [--kills n]]`: the fault-injection harness.
 * For every crash point in src/engine/crash-points.ts the plugin runs as a child process, is
 * killed at that step, restarted, and the four invariants are counted (src/faults/scenarios.ts).
 * Exit 0 only when all four counts are 0 and every point was reached. The 60 s ARI outage is
 * proved by test/resilience/ari-resilience.test.ts.
 */
import { findPostgresServer } from '../store/postgres-server';
import { CrashPoint } from '../engine/crash-points';
import { ALL_CRASH_POINTS, runCrashPoint, RunResult } from './scenarios';
import { runStandbyFaults } from './standby';
import { measureCrossInstance } from './cross-instance';
import { parseCommandLine, UsageError } from '../cli/options';

const COMMAND = {
  usage: 'npm run faults --',
  summary: 'Kill the plugin (SIGKILL) at each crash point, restart it, and count lost, falsely confirmed, double-dialled and stuck callbacks.',
  options: {
    json: { type: 'boolean', description: 'print one JSON line with the four counts' },
    points: { type: 'string', valueName: 'a,b', description: `only these crash points (of ${ALL_CRASH_POINTS.length})` },
    standby: { type: 'boolean', description: 'hot standby instead: kill the leader of a standby group again and again (takeover times, callers and places lost)' },
    kills: { type: 'string', valueName: 'n', description: 'with --standby: how many kills (default 10)' },
  },
} as const;

function crashPoints(list: string | undefined): CrashPoint[] {
  if (list === undefined) return ALL_CRASH_POINTS;
  const points = list.split(',').filter(Boolean);
  const unknown = points.filter((p) => !(ALL_CRASH_POINTS as string[]).includes(p));
  if (points.length === 0 || unknown.length > 0) throw new UsageError(`--points: unknown crash point '${unknown[0] ?? list}' (known: ${ALL_CRASH_POINTS.join(', ')})`);
  return points as CrashPoint[];
}

function killCount(text: string | undefined): number {
  if (text === undefined) return 10;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--kills: a whole number of at least 1, not '${text}'`);
  return n;
}

async function main(): Promise<void> {
  const { json, points, standby, kills } = parseCommandLine('faults', COMMAND, (o) => ({ json: o.json === true, points: crashPoints(o.points), standby: o.standby === true, kills: killCount(o.kills) }));
  const say = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const server = await findPostgresServer();
  if (standby) {
    try {
      const r = await runStandbyFaults({ server, kills, log: say });
      const { notes, ...takeover } = r;
      // The other figure of the shared queue: how soon another instance learns of a callback.
      const figures = { ...takeover, ...(await measureCrossInstance({ server, log: say })) };
      if (notes.length) say(`notes: ${notes.join('; ')}`);
      if (json) process.stdout.write(`${JSON.stringify(figures)}\n`);
      else say(`standby: ${JSON.stringify(figures)}`);
      await server.stop();
      process.exit(r.callers_lost + r.places_lost + r.false_confirmations + r.double_dials === 0 && r.kills === kills ? 0 : 1);
    } catch (e) {
      say(`faults: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      await server.stop().catch(() => undefined);
      process.exit(2);
    }
  }
  const results: RunResult[] = [];
  try {
    for (const point of points) {
      const r = await runCrashPoint(point, { server, log: say });
      results.push(r);
      say(`${r.crashed ? 'crashed ' : 'NO CRASH'} ${point.padEnd(34)} lost=${r.lost} false_conf=${r.false_confirmations} double=${r.double_dials} stuck=${r.stuck} redial_after_answer=${r.redials_after_answer} callbacks=${r.callbacks} ${r.ms} ms${r.notes.length ? `  (${r.notes.join('; ')})` : ''}`);
    }
    const sum = (k: 'lost' | 'false_confirmations' | 'double_dials' | 'stuck'): number => results.reduce((n, r) => n + r[k], 0);
    const notCrashed = results.filter((r) => !r.crashed).length;
    const summary = {
      points: results.length,
      runs: results.length,
      lost: sum('lost'),
      false_confirmations: sum('false_confirmations'),
      double_dials: sum('double_dials'),
      stuck: sum('stuck'),
    };
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else say(`summary: ${JSON.stringify(summary)}${notCrashed ? ` (${notCrashed} point(s) never reached)` : ''}`);
    const ok = summary.lost === 0 && summary.false_confirmations === 0 && summary.double_dials === 0 && summary.stuck === 0 && notCrashed === 0;
    await server.stop();
    process.exit(ok ? 0 : 1);
  } catch (e) {
    say(`faults: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    await server.stop().catch(() => undefined);
    process.exit(2);
  }
}

void main();
