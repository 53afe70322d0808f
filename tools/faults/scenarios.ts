import { Knex } from 'knex';
import { storyConfig } from '../support/story-config';
import { PROMPTS } from '../../src/calls/prompts';
import { CrashPoint, CRASH_POINTS } from '../../src/config/crash-points';
import { AriSimulator, SimCall } from '../simulator/ari-simulator';
import { createDatabase } from '../../src/store/database';
import { createScratchDatabase, PostgresServer } from '../support/postgres-server';
import { PluginProcess } from '../support/plugin-process';
import { CallRobot } from './robot';
import { countInvariants } from './invariants';

/**
 * One fault run: the plugin as a child process is SIGKILLed at a crash point in the middle of a
 * call story driven on the simulator (which lives in this process), then restarted without the
 * crash point against the same database and simulator. The people on the phone keep behaving
 * (CallRobot) and the run ends when every callback is settled and every channel is gone, or at a
 * bound. Then the four invariants are counted (tools/faults/invariants.ts: false confirmations,
 * lost, double dials, stuck). tools/faults/asterisk-scenarios.ts does the same on a real Asterisk.
 */
/** Every crash point the product defines, in the order of a call. */
export const ALL_CRASH_POINTS: readonly CrashPoint[] = CRASH_POINTS;

export const FAULTS_ARI_PASSWORD = 'faults-ari-pa55word';
const AGENTS = ['PJSIP/1001', 'PJSIP/1002'];

export interface RunResult {
  point: string;
  crashed: boolean;
  lost: number;
  false_confirmations: number;
  double_dials: number;
  stuck: number;
  redials_after_answer: number;
  callbacks: number;
  ms: number;
  notes: string[];
}

export function faultsConfig(): Record<string, unknown> {
  return storyConfig({
    logLevel: 'info',
    queue: { maxAttempts: 5 },
    // Short leases and syncs: a killed instance's claims are reclaimed within the run.
    callback: {
      agentRingTimeoutSec: 4,
      customerRingTimeoutSec: 4,
      declineWindowSec: 1,
      previewDecisionSec: 4,
      leaseSec: 2,
      syncIntervalSec: 1,
    },
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Row {
  id: string;
  customer_number: string;
  status: string;
  claimed_by: string | null;
}
interface AttemptDb {
  id: string | number;
  callback_id: string;
  customer_channel_id: string | null;
  customer_dialed_at: Date | null;
  customer_answered_at: Date | null;
  bridged_at: Date | null;
}

export interface RunOptions {
  server: PostgresServer;
  /** Bound for settling after the restart. */
  settleMs?: number;
  talkMs?: number;
  log?: (line: string) => void;
}

export async function runCrashPoint(point: CrashPoint, opts: RunOptions): Promise<RunResult> {
  const t0 = Date.now();
  const notes: string[] = [];
  const sim = await AriSimulator.start({
    user: 'direct-callback',
    password: FAULTS_ARI_PASSWORD,
    timing: { defaultSoundMs: 150, perDigitMs: 10 },
  });
  const scratch = await createScratchDatabase(opts.server, 'adc_faults');
  const db: Knex = createDatabase(scratch.url, { poolMax: 2 });
  const env = { ARI_URL: sim.url, ARI_PASSWORD: FAULTS_ARI_PASSWORD, DATABASE_URL: scratch.url, INSTANCE_ID: 'faults', LOG_LEVEL: 'info' };
  const config = faultsConfig();
  const children: PluginProcess[] = [];
  const caller = '+15550001001';
  const other = '+15550001002';
  const robot = new CallRobot(sim, {
    agentEndpoints: AGENTS,
    customerEndpoints: [`PJSIP/${caller.slice(1)}@trunk`, `PJSIP/${other.slice(1)}@trunk`],
    talkMs: opts.talkMs ?? 3000,
  });
  let crashed: boolean;
  try {
    for (const a of AGENTS) sim.endpoint(a).setDeviceState('INUSE');
    const first = PluginProcess.start({ config, milestones: true, env, crashAt: point });
    children.push(first);
    await first.ready();
    await sim.waitForApp('direct-callback', 5000);
    if (point.startsWith('offer.')) {
      const a = sim.call({ from: other, to: 'queue:support' });
      await a.entered();
      await a.waitFor('inBridge', 5000);
      const x = sim.call({ from: caller, name: 'Crash Test', to: 'queue:support' });
      await x.entered();
      await x.waitForPlayback((m) => m === PROMPTS.offer, 5000);
      await x.pressDtmf('1');
    } else {
      const x = sim.call({ from: caller, name: 'Crash Test', to: 'queue:support' });
      await x.entered();
      await x.waitForPlayback((m) => m === PROMPTS.offer, 5000);
      await x.pressDtmf('1');
      await x.waitFor('hungup', 5000);
      robot.start();
      sim.endpoint('PJSIP/1001').setDeviceState(null);
    }
    const exit = await first.waitExit(15000);
    crashed = exit?.signal === 'SIGKILL';
    if (!crashed) {
      notes.push(`crash point not reached (${JSON.stringify(exit ?? 'still running')})`);
      first.kill();
      await first.exited;
    }
    const rowsAfterCrash = await db('callback_requests').select<{ id: string }[]>('id');
    // Restart, as a supervisor would, without the crash point.
    const second = PluginProcess.start({ config, milestones: true, env });
    children.push(second);
    await second.ready();
    robot.start();
    for (const a of AGENTS) sim.endpoint(a).setDeviceState(null);

    const deadline = Date.now() + (opts.settleMs ?? 25000);
    let rows: Row[] = [];
    for (;;) {
      rows = await db('callback_requests').select<Row[]>('id', 'customer_number', 'status', 'claimed_by');
      const settled = rows.every((r) => r.status === 'completed' || r.status === 'failed') && sim.channels().length === 0;
      if (settled || Date.now() > deadline) break;
      await sleep(200);
    }
    // ---- invariants (tools/faults/invariants.ts)
    const confirmedNumbers = sim.calls
      .filter((c: SimCall) => c.playbacks.some((p) => p.media.includes(PROMPTS.confirm) && p.startedAt !== null))
      .map((c) => c.channel.caller.number);
    const attempts = (await db('callback_attempts')
      .select('id', 'callback_id', 'customer_channel_id', 'customer_dialed_at', 'customer_answered_at', 'bridged_at')
      .orderBy('id')) as AttemptDb[];
    const dialsPerChannel = new Map<string, number>();
    for (const r of sim.requests) {
      const m = /^\/ari\/channels\/([^/]+)\/dial$/.exec(r.path);
      if (r.method === 'POST' && m?.[1]) dialsPerChannel.set(m[1], (dialsPerChannel.get(m[1]) ?? 0) + 1);
    }
    const counts = countInvariants({
      storedBeforeRestart: rowsAfterCrash.map((r) => r.id),
      rows,
      confirmedNumbers,
      attempts,
      customerLegs: sim.legs.filter((l) => l.endpointName.endsWith('@trunk')).map((l) => ({ id: l.id, answered: l.sipCode === 200 })),
      dialsPerChannel,
      channelsLeft: sim.channels().map((c) => `${c.id}(${c.state})`),
    });
    notes.push(...counts.notes);
    return {
      point,
      crashed,
      lost: counts.lost,
      false_confirmations: counts.false_confirmations,
      double_dials: counts.double_dials,
      stuck: counts.stuck,
      redials_after_answer: counts.redials_after_answer,
      callbacks: rows.length,
      ms: Date.now() - t0,
      notes,
    };
  } catch (e) {
    for (const c of children) opts.log?.(`--- plugin child log (last lines):\n${c.tail(25)}`);
    throw e;
  } finally {
    robot.stop();
    for (const c of children) await c.stop().catch(() => undefined);
    if (process.env.FAULTS_DEBUG) for (const c of children) opts.log?.(c.tail(40));
    await sim.stop();
    await db.destroy();
    await scratch.drop().catch(() => undefined);
  }
}
