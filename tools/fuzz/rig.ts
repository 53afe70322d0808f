import fs from 'node:fs';
import { Writable } from 'node:stream';
import knexFactory, { Knex } from 'knex';
import { Client } from 'pg';
import { parseConfig } from '../../src/config/config';
import { Clock, systemClock, TimerHandle } from '../../src/domain/clock';
import { createLogger } from '../../src/logging/logger';
import { startPlugin, RunningPlugin } from '../../src/plugin';
import { AriSimulator } from '../simulator/ari-simulator';
import { createScratchDatabase, PostgresServer, ScratchDatabase } from '../support/postgres-server';
import { agentOf, FUZZ_ARI_PASSWORD, fuzzConfig } from './config';

/**
 * One fuzz target: the ARI simulator with short sound timings, a fresh database on the real
 * PostgreSQL, and the real plugin started in this process (as the end-to-end tests start it).
 * It keeps what the invariants read: the log lines, the milestones, the engine's timers (the
 * plugin runs on a clock that counts them) and any attempt to exit the process.
 */
export interface FuzzRig {
  sim: AriSimulator;
  plugin: RunningPlugin;
  /** A pool of the fuzzer's own (application_name fuzz-checks), for the checks. */
  db: Knex;
  slots: number;
  logLines: string[];
  milestones: { name: string; data: Record<string, unknown>; at: number }[];
  /** Codes the process was asked to exit with (process.exit is held while the rig runs). */
  exits: number[];
  /**
   * Errors nobody handled (unhandled rejections, uncaught exceptions), seen by listeners of the
   * rig's own: the plugin's guard logs them with the logger of the first plugin of the process only.
   */
  uncaught: string[];
  /** The engine's clock timers pending now. */
  pendingTimers(): number;
  /** Every pooled connection of the plugin is cut (the database restarting under it). */
  cutDatabaseConnections(): Promise<number>;
  /** callback_requests is locked for `ms`: every booking and attempt waits (or times out). */
  lockCallbacks(ms: number): Promise<void>;
  /**
   * Until when the last database fault may still hold the plugin's writes back: the fault's end,
   * plus a statement's lock_timeout and the durable writes' first retries (250, 500, 1000 ms...).
   */
  databaseTroubleUntil(): number;
  stop(): Promise<void>;
}

/** How long after a database fault the plugin's retried writes are given to land. */
const DATABASE_RECOVERY_MS = 5000;

/** The system clock, counting the timers set and not yet fired or cleared. */
class CountingClock implements Clock {
  readonly pending = new Set<number>();
  now(): number {
    return systemClock.now();
  }
  setTimer(fn: () => void, ms: number): TimerHandle {
    const h = systemClock.setTimer(() => {
      this.pending.delete(h.id);
      fn();
    }, ms);
    this.pending.add(h.id);
    return h;
  }
  clearTimer(h: TimerHandle): void {
    this.pending.delete(h.id);
    systemClock.clearTimer(h);
  }
}

export const FUZZ_TIMING = {
  defaultSoundMs: 40,
  perDigitMs: 25,
  answerMs: 60,
  rejectMs: 30,
  secondsToMs: 150,
  dtmfDurationMs: 30,
  dtmfGapMs: 20,
  // A created leg's StasisStart comes after the create's answer on the real Asterisk (0.5-80 ms in
  // trace k): a leg dialled at the answer gets 409. Without the window the simulator
  // puts it in Stasis before answering, and a path that skips Leg's wait passes here.
  createToStasisMs: 10,
};

/** FUZZ_TRACE_LOG=<file>: every log line of the plugin goes there too (to study one replayed scenario). */
const traceLog = process.env.FUZZ_TRACE_LOG;

/** The simulator's side of a traced run: each request (with its answer) and each event, one line each. */
function traceSimulator(sim: AriSimulator, file: string): void {
  const at = (): string => new Date().toISOString();
  sim.onResponse((r) =>
    fs.appendFileSync(
      file,
      `${JSON.stringify({ sim: 'request', at: at(), method: r.method, path: r.path, query: r.query, status: r.status })}\n`,
    ),
  );
  sim.onEvent((e) => {
    const ev = e.event as { type?: unknown; channel?: { id?: unknown; state?: unknown }; playback?: { id?: unknown } };
    const line = {
      sim: 'event',
      at: at(),
      type: ev.type,
      channel: ev.channel?.id,
      state: ev.channel?.state,
      playback: ev.playback?.id,
      delivered: e.delivered,
    };
    fs.appendFileSync(file, `${JSON.stringify(line)}\n`);
  });
}

export async function startFuzzRig(server: PostgresServer, slots: number): Promise<FuzzRig> {
  const sim = await AriSimulator.start({ user: 'direct-callback', password: FUZZ_ARI_PASSWORD, timing: FUZZ_TIMING, keepHistory: false });
  if (traceLog) traceSimulator(sim, traceLog);
  let scratch: ScratchDatabase | undefined;
  let db: Knex | undefined;
  const realExit = process.exit.bind(process);
  const exits: number[] = [];
  const uncaught: string[] = [];
  let unlisten = (): void => undefined;
  try {
    // Phones and the trunk are driven by the fuzzer's people: every leg waits for them.
    sim.endpoint('PJSIP/trunk').manual();
    for (let k = 0; k < slots; k++) sim.endpoint(agentOf(k).endpoint).manual();
    sim.endpoint('PJSIP/3999').manual();
    scratch = await createScratchDatabase(server, 'adc_fuzz');
    const url = scratch.url;
    db = knexFactory({ client: 'pg', connection: { connectionString: url, application_name: 'fuzz-checks' }, pool: { min: 0, max: 3 } });
    const config = parseConfig(fuzzConfig(slots), {
      ARI_URL: sim.url,
      ARI_PASSWORD: FUZZ_ARI_PASSWORD,
      DATABASE_URL: url,
      INSTANCE_ID: 'fuzz',
    });
    const logLines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        const line = chunk.toString('utf8');
        // Only what the invariants read is kept: a long run would otherwise hold every line.
        if (/"level":"error"/.test(line)) logLines.push(line);
        if (traceLog) fs.appendFileSync(traceLog, line);
        cb();
      },
    });
    // The plugin's uncaught-exception handler exits the process: here that is a finding, not the end of the run.
    process.exit = ((code?: number) => {
      exits.push(typeof code === 'number' ? code : 0);
    }) as typeof process.exit;
    const onUncaught = (e: unknown): void => {
      uncaught.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
    };
    process.on('unhandledRejection', onUncaught);
    process.on('uncaughtException', onUncaught);
    unlisten = () => {
      process.off('unhandledRejection', onUncaught);
      process.off('uncaughtException', onUncaught);
    };
    const clock = new CountingClock();
    const plugin = await startPlugin(config, createLogger({ level: 'info', stream: sink }), { clock });
    const milestones: FuzzRig['milestones'] = [];
    plugin.app.on('milestone', (name, data) => milestones.push({ name, data, at: Date.now() }));
    const ownDb = db;
    const ownScratch = scratch;
    const chaos = async <T>(fn: (c: Client) => Promise<T>): Promise<T> => {
      const c = new Client({ connectionString: url, application_name: 'fuzz-chaos' });
      await c.connect();
      try {
        return await fn(c);
      } finally {
        await c.end().catch(() => undefined);
      }
    };
    let troubleUntil = 0;
    const trouble = (until: number): void => {
      troubleUntil = Math.max(troubleUntil, until + DATABASE_RECOVERY_MS);
    };
    return {
      sim,
      plugin,
      db,
      slots,
      logLines,
      milestones,
      exits,
      uncaught,
      pendingTimers: () => clock.pending.size,
      databaseTroubleUntil: () => troubleUntil,
      cutDatabaseConnections: () =>
        chaos(async (c) => {
          trouble(Date.now());
          const r = await c.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'direct-callback' AND pid <> pg_backend_pid()",
          );
          return r.rowCount ?? 0;
        }),
      lockCallbacks: (ms) =>
        chaos(async (c) => {
          await c.query('BEGIN');
          await c.query('LOCK TABLE callback_requests IN ACCESS EXCLUSIVE MODE');
          trouble(Date.now() + ms);
          await new Promise((r) => setTimeout(r, ms));
          await c.query('COMMIT');
        }),
      async stop() {
        await plugin.stop().catch(() => undefined);
        await sim.stop().catch(() => undefined);
        await ownDb.destroy().catch(() => undefined);
        await ownScratch.drop().catch(() => undefined);
        process.exit = realExit;
        unlisten();
      },
    };
  } catch (e) {
    process.exit = realExit;
    unlisten();
    await sim.stop().catch(() => undefined);
    await db?.destroy().catch(() => undefined);
    await scratch?.drop().catch(() => undefined);
    throw e;
  }
}
