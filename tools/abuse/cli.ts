/**
 * `npm run abuse -- [--json] [--seed n] [--only regex]`: the toll-fraud and abuse run of issue 19.
 * Every attack (tools/abuse/plans.ts) runs against the real plugin on the ARI simulator and a
 * fresh database on the real PostgreSQL (DATABASE_URL, else the local cluster, else an embedded
 * one). With --json it prints one line:
 *   {"attacks":N,"refused":N,"dialled_premium_or_international":0,"over_limit":0,"crashes":0,...}
 * without it, one line per attack (expected and outcome) and the summary. Exit 1 when a forbidden
 * number was dialled, a limit was exceeded or the plugin crashed; an attack whose expectation
 * does not hold is listed (unmet) but is not by itself a failure of the run.
 */
import { findPostgresServer } from '../support/postgres-server';
import { numberOption, parseCommandLine, UsageError } from '../../src/cli/options';
import { AbuseReport, runAbuse } from './harness';
import { allPlans } from './plans';

const COMMAND = {
  usage: 'npm run abuse --',
  summary:
    'Try every toll-fraud and abuse attack of issue 19 on the simulator and the real database; count forbidden dials, limits exceeded and crashes.',
  options: {
    json: { type: 'boolean', description: 'print one JSON line with the counts' },
    seed: { type: 'string', valueName: 'n', description: 'seed of the generated numbers (default 19)' },
    only: { type: 'string', valueName: 'regex', description: 'only the attacks whose name matches' },
  },
} as const;

/** The run is a failure only on these three counts. */
export function runFailed(r: Pick<AbuseReport, 'dialled_premium_or_international' | 'over_limit' | 'crashes'>): boolean {
  return r.dialled_premium_or_international + r.over_limit + r.crashes > 0;
}

async function main(): Promise<void> {
  const { json, seed, only } = parseCommandLine('abuse', COMMAND, (o) => {
    let re: RegExp | undefined;
    try {
      re = o.only === undefined ? undefined : new RegExp(o.only, 'i');
    } catch {
      throw new UsageError(`--only: not a regular expression: '${o.only ?? ''}'`);
    }
    return { json: o.json === true, seed: numberOption('seed', o.seed, { integer: true, min: 0 }) ?? 19, only: re };
  });
  const say = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const server = await findPostgresServer();
  let report: AbuseReport;
  try {
    report = await runAbuse({ server, plans: allPlans(), seed, only, log: json ? undefined : say });
  } finally {
    await server.stop();
  }
  const { results, badLegs, crashMessages, ...figures } = report;
  if (json) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else {
    for (const r of results)
      process.stdout.write(
        `${r.ok ? 'ok   ' : 'UNMET'}  ${r.plan}/${r.name}\n         expected: ${r.expected}\n         outcome:  ${r.outcome}\n`,
      );
    for (const l of badLegs) process.stdout.write(`DIALLED ${l.class}: ${l.endpoint} (${l.rig})\n`);
    for (const c of crashMessages) process.stdout.write(`CRASH ${c}\n`);
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  }
  process.exit(runFailed(report) ? 1 : 0);
}

void main().catch((e: unknown) => {
  process.stderr.write(`abuse: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
