import { Knex } from 'knex';
import { storyConfig } from '../config/story-config';
import { PROMPTS } from '../calls/prompts';
import { CrashPoint } from '../engine/crash-points';
import { AriSimulator, SimCall } from '../simulator/ari-simulator';
import { createDatabase } from '../store/database';
import { createScratchDatabase, PostgresServer } from '../store/postgres-server';
import { PluginChild } from './child';
import { CallRobot } from './robot';

/**
 * One fault run: the plugin as a child process is SIGKILLed at a crash point in the middle of a
 * call story driven on the simulator (which lives in this process), then restarted without the
 * crash point against the same database and simulator. The people on the phone keep behaving
 * (CallRobot) and the run ends when every callback is settled and every channel is gone, or at a
 * bound. Then four invariants are counted:
 * - false_confirmations: a caller who heard the confirmation start but has no stored row;
 * - lost: a row that existed after the crash and is gone, or ended cancelled/expired;
 * - double_dials: a customer leg dialled more than once for one attempt, a customer leg that no
 *   stored attempt accounts for, or a dial after the callback was completed;
 * - stuck: a callback still claimed (in_progress) or never served at the bound, or a channel
 *   still up at the bound (a caller left in Stasis for ever).
 */
export const ALL_CRASH_POINTS: CrashPoint[] = [
  'offer.after_press1',
  'offer.before_commit',
  'offer.after_commit',
  'offer.during_confirmation',
  'offer.before_hangup',
  'preview.after_claim',
  'preview.after_agent_originate',
  'preview.after_agent_answer',
  'preview.after_accept',
  'preview.after_customer_recorded',
  'preview.after_customer_dial',
  'preview.after_customer_answer',
  'preview.after_bridge',
];

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
    callback: { agentRingTimeoutSec: 4, customerRingTimeoutSec: 4, declineWindowSec: 1, previewDecisionSec: 4, leaseSec: 2, syncIntervalSec: 1 },
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
  const sim = await AriSimulator.start({ user: 'direct-callback', password: FAULTS_ARI_PASSWORD, timing: { defaultSoundMs: 150, perDigitMs: 10 } });
  const scratch = await createScratchDatabase(opts.server, 'adc_faults');
  const db: Knex = createDatabase(scratch.url, { poolMax: 2 });
  const env = { ARI_URL: sim.url, ARI_PASSWORD: FAULTS_ARI_PASSWORD, DATABASE_URL: scratch.url, INSTANCE_ID: 'faults', LOG_LEVEL: 'info' };
  const config = faultsConfig();
  const children: PluginChild[] = [];
  const caller = '+15550001001';
  const other = '+15550001002';
  const robot = new CallRobot(sim, { agentEndpoints: AGENTS, customerEndpoints: [`PJSIP/${caller.slice(1)}@trunk`, `PJSIP/${other.slice(1)}@trunk`], talkMs: opts.talkMs ?? 3000 });
  let crashed = false;
  try {
    for (const a of AGENTS) sim.endpoint(a).setDeviceState('INUSE');
    const first = PluginChild.start({ config, env, crashAt: point });
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
    const rowsAfterCrash = (await db('callback_requests').select('id')) as { id: string }[];
    // Restart, as a supervisor would, without the crash point.
    const second = PluginChild.start({ config, env });
    children.push(second);
    await second.ready();
    robot.start();
    for (const a of AGENTS) sim.endpoint(a).setDeviceState(null);

    const deadline = Date.now() + (opts.settleMs ?? 25000);
    let rows: Row[] = [];
    for (;;) {
      rows = (await db('callback_requests').select('id', 'customer_number', 'status', 'claimed_by')) as Row[];
      const settled = rows.every((r) => r.status === 'completed' || r.status === 'failed') && sim.channels().length === 0;
      if (settled || Date.now() > deadline) break;
      await sleep(200);
    }
    // ---- invariants
    const confirmedCalls = sim.calls.filter((c: SimCall) => c.playbacks.some((p) => p.media.includes(PROMPTS.confirm) && p.startedAt !== null));
    let falseConfirmations = 0;
    for (const c of confirmedCalls) {
      if (!rows.some((r) => r.customer_number === c.channel.caller.number)) falseConfirmations += 1;
    }
    let lost = 0;
    for (const r of rowsAfterCrash) if (!rows.some((x) => x.id === r.id)) lost += 1;
    lost += rows.filter((r) => r.status === 'cancelled' || r.status === 'expired').length;
    const stuckRows = rows.filter((r) => r.status === 'in_progress' || (r.status === 'pending' && r.claimed_by !== null)).length;
    const unserved = rows.filter((r) => r.status === 'pending').length;
    const leftChannels = sim.channels();
    if (leftChannels.length) notes.push(`channels left: ${leftChannels.map((c) => `${c.id}(${c.state})`).join(', ')}`);
    if (unserved) notes.push(`callbacks still pending at the bound: ${unserved}`);
    const stuck = stuckRows + unserved + leftChannels.length;

    const attempts = (await db('callback_attempts').select('id', 'callback_id', 'customer_channel_id', 'customer_dialed_at', 'customer_answered_at').orderBy('id')) as AttemptDb[];
    const customerLegs = sim.legs.filter((l) => l.endpointName.endsWith('@trunk'));
    let doubleDials = 0;
    const dialsPerChannel = new Map<string, number>();
    for (const r of sim.requests) {
      const m = /^\/ari\/channels\/([^/]+)\/dial$/.exec(r.path);
      if (r.method === 'POST' && m?.[1]) dialsPerChannel.set(m[1], (dialsPerChannel.get(m[1]) ?? 0) + 1);
    }
    for (const n of dialsPerChannel.values()) if (n > 1) doubleDials += n - 1;
    for (const leg of customerLegs) {
      if (!attempts.some((a) => a.customer_channel_id === leg.id)) {
        doubleDials += 1;
        notes.push(`customer leg ${leg.id} not accounted for by any attempt`);
      }
    }
    const completedIds = new Set(rows.filter((r) => r.status === 'completed').map((r) => r.id));
    let redialsAfterAnswer = 0;
    for (const id of completedIds) {
      const mine = attempts.filter((a) => a.callback_id === id);
      // After an attempt the store knows was answered, no attempt may dial the customer again.
      const storedAnswered = mine.findIndex((a) => a.customer_answered_at !== null);
      if (storedAnswered >= 0) doubleDials += mine.slice(storedAnswered + 1).filter((a) => a.customer_dialed_at !== null).length;
      const answeredLegs = mine.filter((a) => customerLegs.some((l) => l.id === a.customer_channel_id && l.sipCode === 200)).length;
      if (answeredLegs > 1) redialsAfterAnswer += answeredLegs - 1;
    }
    return {
      point,
      crashed,
      lost,
      false_confirmations: falseConfirmations,
      double_dials: doubleDials,
      stuck,
      redials_after_answer: redialsAfterAnswer,
      callbacks: rows.length,
      ms: Date.now() - t0,
      notes,
    };
  } catch (e) {
    for (const c of children) opts.log?.(`--- plugin child log (last lines):\n${c.stderrLines.slice(-25).join('\n')}`);
    throw e;
  } finally {
    robot.stop();
    for (const c of children) await c.stop().catch(() => undefined);
    if (process.env.FAULTS_DEBUG) for (const c of children) opts.log?.(c.stderrLines.slice(-40).join('\n'));
    await sim.stop();
    await db.destroy();
    await scratch.drop().catch(() => undefined);
  }
}
