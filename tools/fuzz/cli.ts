/**
 * `npm run fuzz -- [--scenarios N] [--seed S] [--json] [--only K[,K...]] [--first K] [--slots n]`:
 * the call-flow fuzzer of issue 18. Random scenarios (tools/fuzz/scenario.ts) play on the ARI
 * simulator against the real plugin and a fresh database on the real PostgreSQL, several at
 * once; after each, the invariants (tools/fuzz/invariants.ts) are checked. It prints
 *   {"scenarios":N,"seed":S,"violations":0,"by_invariant":{...},...}
 * and exits 1 on any violation, listing each with the command that replays its scenario (on
 * stderr with --json).
 */
import { numberOption, parseCommandLine, UsageError } from '../../src/cli/options';
import { findPostgresServer } from '../support/postgres-server';
import { DEFAULT_SLOTS, runFuzz } from './runner';

const COMMAND = {
  usage: 'npm run fuzz --',
  summary: 'Play random call scenarios on the simulator against the real plugin and check the call-flow invariants after each.',
  options: {
    scenarios: { type: 'string', valueName: 'n', description: 'how many scenarios (default 2000)' },
    seed: { type: 'string', valueName: 's', description: 'seed of the run (default 18)' },
    json: { type: 'boolean', description: 'print only the JSON summary line' },
    only: { type: 'string', valueName: 'k,k', description: 'replay only these scenario indices (as printed for a failure)' },
    first: { type: 'string', valueName: 'k', description: 'index of the first scenario (default 0)' },
    slots: {
      type: 'string',
      valueName: 'n',
      description: `scenarios in flight at once (default ${DEFAULT_SLOTS}); a replay needs the same value`,
    },
    'no-chaos': { type: 'boolean', description: 'no faults for everyone (database cut or locked, WebSocket dropped)' },
  },
} as const;

function indexList(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const list = text.split(',').map((s) => Number(s.trim()));
  if (!list.length || list.some((n) => !Number.isInteger(n) || n < 0))
    throw new UsageError(`--only: scenario indices, e.g. 12,40 (got '${text}')`);
  return list;
}

/** The rig holds process.exit while the plugin runs (an exit is a finding there): Ctrl-C and SIGTERM still end the run. */
const exitNow = process.exit.bind(process);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => exitNow(130));

async function main(): Promise<void> {
  const o = parseCommandLine('fuzz', COMMAND, (v) => ({
    scenarios: numberOption('scenarios', v.scenarios, { integer: true, min: 1 }) ?? 2000,
    seed: numberOption('seed', v.seed, { integer: true, min: 0 }) ?? 18,
    json: v.json === true,
    only: indexList(v.only),
    first: numberOption('first', v.first, { integer: true, min: 0 }) ?? 0,
    slots: numberOption('slots', v.slots, { integer: true, min: 1 }) ?? DEFAULT_SLOTS,
    chaos: v['no-chaos'] !== true,
  }));
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  const server = await findPostgresServer();
  let report;
  try {
    report = await runFuzz(server, { ...o, log: o.json ? undefined : say });
  } finally {
    await server.stop();
  }
  const { failures, ...summary } = report;
  // With --json the summary is stdout's only line; each violation and its replay still goes to
  // stderr, so a long run that found one is never silent about which scenario it was.
  const out = o.json ? process.stderr : process.stdout;
  for (const f of failures) out.write(`VIOLATION ${f.invariant} in scenario ${f.scenario}: ${f.detail}\n  replay: ${f.replay}\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(report.violations > 0 ? 1 : 0);
}

void main().catch((e: unknown) => {
  process.stderr.write(`fuzz: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
