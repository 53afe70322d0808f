/**
 * `npm run bench:report -- [--json] [--calls N] [--history-days N] [--runs N]`: how long the day
 * report (GET /api/v1/reports/day, src/store/day-report-queries.ts) takes on a day of N calls
 * (default 100,000) in a database that also holds other days (default: the day before and the day
 * after, as many calls each). Prints the figure; the target is under 1 s. A fresh scratch
 * database on the local PostgreSQL (or DATABASE_URL's server), dropped at the end.
 */
import { performance } from 'node:perf_hooks';
import { Knex } from 'knex';
import { createDatabase, migrate } from '../../src/store/database';
import { readDayReport } from '../../src/store/day-report-queries';
import { numberOption, parseCommandLine } from '../../src/cli/options';
import { createScratchDatabase, findPostgresServer, PostgresServer } from '../support/postgres-server';

export const REPORT_TARGET_MS = 1000;
const DAY = '2026-03-10';
const QUEUES = ['support', 'sales', 'billing', 'vip'];

export interface ReportBenchOptions {
  calls: number;
  historyDays: number;
  runs: number;
}

export interface ReportBenchFigures {
  calls: number;
  rowsSeeded: number;
  seedMs: number;
  /** Every queue, each run, ms. */
  runsMs: number[];
  medianMs: number;
  /** One queue, median ms. */
  oneQueueMedianMs: number;
  targetMs: number;
  /** The report's own count, a check that the seeded day was read. */
  callersEntered: number;
}

/**
 * One day of `calls` callers (day offset `d` from DAY), deterministic: arrivals spread over 08:00
 * to 20:00, waits up to 10 minutes; 70% answered, 15% abandoned, 15% booking a callback (of which
 * 80% completed, 15% failed, 5% still owed); every third caller offered a callback; and a direct
 * call for every tenth caller. All in set-based statements: a day seeds in seconds.
 */
async function seedDay(db: Knex, d: number, calls: number): Promise<void> {
  const b = { d, n: calls, day: DAY, queues: QUEUES };
  const start = `(CAST(:day AS date) + CAST(:d AS int))::timestamp AT TIME ZONE 'UTC' + interval '8 hours'`;
  const arrival = `${start} + (i * 43200.0 / CAST(:n AS int)) * interval '1 second'`;
  const fate = `CASE WHEN i % 20 < 14 THEN 'connected' WHEN i % 20 < 17 THEN 'caller_hung_up' ELSE 'callback_booked' END`;
  const cbId = `CAST(md5('cb' || CAST(:d AS text) || '-' || i) AS uuid)`;
  const queue = `(CAST(:queues AS text[]))[1 + i % 4]`;
  await db.raw(
    `INSERT INTO callback_requests (id, queue_id, customer_number, arrived_at, requested_at, status)
     SELECT ${cbId}, ${queue}, '+1' || CAST(CAST(:d AS int) + 5 AS text) || lpad(CAST(i AS text), 8, '0'), ${arrival}, ${arrival} + interval '90 seconds',
            CASE WHEN i % 100 < 80 THEN 'completed' WHEN i % 100 < 95 THEN 'failed' ELSE 'pending' END
     FROM generate_series(1, CAST(:n AS int)) i WHERE i % 20 >= 17`,
    b,
  );
  await db.raw(
    `INSERT INTO queue_entries (id, queue_id, first_queue_id, first_arrived_at, priority, arrived_at, asterisk_id, channel_id, app,
                                instance_id, closed_at, close_reason, callback_id)
     SELECT CAST(md5('qe' || CAST(:d AS text) || '-' || i) AS uuid), ${queue}, ${queue}, ${arrival}, 0, ${arrival}, 'ast', 'ch-' || CAST(:d AS text) || '-' || i, 'bench',
            'bench', ${arrival} + ((i * 7919) % 600) * interval '1 second', ${fate},
            CASE WHEN i % 20 >= 17 THEN ${cbId} END
     FROM generate_series(1, CAST(:n AS int)) i`,
    b,
  );
  await db.raw(
    `INSERT INTO queue_entry_actions (entry_id, at, action, detail)
     SELECT CAST(md5('qe' || CAST(:d AS text) || '-' || i) AS uuid), ${arrival} + interval '30 seconds', 'callback_offered', '{}'
     FROM generate_series(1, CAST(:n AS int)) i WHERE i % 3 = 0
     UNION ALL
     SELECT CAST(md5('qe' || CAST(:d AS text) || '-' || i) AS uuid), ${arrival} + ((i * 7919) % 600) * interval '1 second', 'connected',
            jsonb_build_object('agentId', 'agent' || (i % 40))
     FROM generate_series(1, CAST(:n AS int)) i WHERE i % 20 < 14`,
    b,
  );
  await db.raw(
    `INSERT INTO callback_attempts (callback_id, attempt_no, instance_id, agent_id, agent_channel_id, started_at, bridged_at, ended_at, outcome)
     SELECT ${cbId}, 1, 'bench', 'agent' || (i % 40), 'agent-' || CAST(:d AS text) || '-' || i, ${arrival} + interval '20 minutes',
            CASE WHEN i % 100 < 80 THEN ${arrival} + interval '21 minutes' + (i % 3600) * interval '1 second' END,
            CASE WHEN i % 100 < 95 THEN ${arrival} + interval '25 minutes' + (i % 3600) * interval '1 second' END,
            CASE WHEN i % 100 < 80 THEN 'answered' WHEN i % 100 < 95 THEN 'customer_no_answer' END
     FROM generate_series(1, CAST(:n AS int)) i WHERE i % 20 >= 17`,
    b,
  );
  await db.raw(
    `INSERT INTO callback_events (callback_id, at, type, detail)
     SELECT ${cbId}, ${arrival} + interval '25 minutes' + (i % 3600) * interval '1 second',
            CASE WHEN i % 100 < 80 THEN 'completed' ELSE 'failed' END,
            CASE WHEN i % 100 < 80 THEN '{}'::jsonb ELSE '{"reason": "max_attempts_reached: last customer_no_answer"}'::jsonb END
     FROM generate_series(1, CAST(:n AS int)) i WHERE i % 20 >= 17 AND i % 100 < 95`,
    b,
  );
  await db.raw(
    `INSERT INTO direct_calls (channel_id, agent_id, dialled, started_at, answered_at, ended_at, outcome)
     SELECT 'direct-' || CAST(:d AS text) || '-' || i, 'agent' || (i % 40), '2001', ${arrival},
            CASE WHEN i % 30 < 20 THEN ${arrival} + interval '8 seconds' END, ${arrival} + interval '3 minutes',
            CASE WHEN i % 30 < 20 THEN 'answered' WHEN i % 30 < 25 THEN 'caller_abandoned' ELSE 'callback_declined' END
     FROM generate_series(1, CAST(:n AS int)) i WHERE i % 10 = 0`,
    b,
  );
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

/** `server`: one the caller holds (a test's); else found here, and stopped at the end if embedded. */
export async function runReportBench(opts: ReportBenchOptions, given?: PostgresServer): Promise<ReportBenchFigures> {
  const server = given ?? (await findPostgresServer());
  const scratch = await createScratchDatabase(server, 'adc_report_bench');
  const db = createDatabase(scratch.url, { poolMax: 2, statementTimeoutSec: 0 });
  try {
    await migrate(db);
    const t0 = performance.now();
    // The day, then the days before and after it in turn: -1, +1, -2, +2...
    const offsets = [0, ...Array.from({ length: opts.historyDays }, (_, k) => (k % 2 === 0 ? -(k / 2 + 1) : (k + 1) / 2))];
    for (const d of offsets) await seedDay(db, d, opts.calls);
    await db.raw('ANALYZE');
    const seedMs = performance.now() - t0;
    const rows = await db.raw<{ rows: { n: string }[] }>(
      `SELECT (SELECT count(*) FROM queue_entries) + (SELECT count(*) FROM queue_entry_actions) + (SELECT count(*) FROM callback_requests)
            + (SELECT count(*) FROM callback_attempts) + (SELECT count(*) FROM callback_events) + (SELECT count(*) FROM direct_calls) AS n`,
    );
    const now = Date.parse(`${DAY}T00:00:00Z`) + 2 * 86400_000;
    const time = async (queueId?: string): Promise<{ ms: number; entered: number }> => {
      const s = performance.now();
      const r = await readDayReport(db, { date: DAY, timeZone: 'UTC', now, ...(queueId ? { queueId } : {}) });
      return { ms: performance.now() - s, entered: r.total.callersEntered };
    };
    await time(); // warm the cache and the plans: a wallboard asks again and again
    const runsMs: number[] = [];
    let entered = 0;
    for (let i = 0; i < opts.runs; i++) {
      const r = await time();
      runsMs.push(r.ms);
      entered = r.entered;
    }
    const oneQueue: number[] = [];
    for (let i = 0; i < opts.runs; i++) oneQueue.push((await time('support')).ms);
    return {
      calls: opts.calls,
      rowsSeeded: Number(rows.rows[0]?.n ?? 0),
      seedMs: Math.round(seedMs),
      runsMs: runsMs.map((x) => Math.round(x)),
      medianMs: Math.round(median(runsMs)),
      oneQueueMedianMs: Math.round(median(oneQueue)),
      targetMs: REPORT_TARGET_MS,
      callersEntered: entered,
    };
  } finally {
    await db.destroy();
    await scratch.drop().catch(() => undefined);
    if (!given) await server.stop();
  }
}

const COMMAND = {
  usage: 'npm run bench:report --',
  summary: 'How long the day report takes on a day of N calls (target: under 1 s).',
  options: {
    json: { type: 'boolean', description: 'print one JSON line with every figure' },
    calls: { type: 'string', valueName: 'n', description: 'calls in the reported day (default 100000)' },
    'history-days': { type: 'string', valueName: 'n', description: 'other days of as many calls around it (default 2)' },
    runs: { type: 'string', valueName: 'n', description: 'timed reports, after one warm-up (default 5)' },
  },
} as const;

async function main(): Promise<void> {
  const o = parseCommandLine('bench:report', COMMAND, (v) => ({
    json: v.json === true,
    calls: numberOption('--calls', v.calls, { integer: true, min: 1 }) ?? 100_000,
    historyDays: numberOption('--history-days', v['history-days'], { integer: true, min: 0 }) ?? 2,
    runs: numberOption('--runs', v.runs, { integer: true, min: 1 }) ?? 5,
  }));
  const f = await runReportBench(o);
  if (o.json) {
    process.stdout.write(`${JSON.stringify(f)}\n`);
    return;
  }
  process.stdout.write(
    [
      `day report on ${f.calls} calls (${f.rowsSeeded} rows in the database, seeded in ${f.seedMs} ms)`,
      `  every queue: median ${f.medianMs} ms (runs: ${f.runsMs.join(', ')} ms); one queue: median ${f.oneQueueMedianMs} ms`,
      `  target: under ${f.targetMs} ms -> ${f.medianMs < f.targetMs ? 'met' : 'NOT met'}`,
    ].join('\n') + '\n',
  );
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
