/**
 * The app_queue yardstick of `npm run bench -- --asterisk` (issue 21): the same SIPp callers, on the
 * same Asterisk in the same run, held by Asterisk's own app_queue (`Queue()` with no members, the
 * same music class as the plugin's holding, "default") instead of the plugin. Its Asterisk CPU per
 * held caller-minute and the most callers it held with no failure are what the plugin's holding
 * design is judged against (`asterisk_cpu_ms_per_held_caller_min` ≤ 1.2 × app_queue's, and at
 * least as many held callers with no failure).
 *
 * The ramp's steps and rules are the plugin's (held-ramp.ts), with no press-1 sample: app_queue
 * has no press 1, so a step passes when every caller was held and none was dropped or failed.
 */
import { Lab } from '../asterisk-lab/lab';
import { SippProcess } from '../asterisk-lab/sipp';
import { round2 } from './figures';
import { HeldRamp, HeldStepOutcome } from './held-ramp';
import { threadCount } from './proc-stat';

/** The number that reaches app_queue, added to callback-entry for the run only. */
export const APP_QUEUE_DID = '5559902';
const APP_QUEUE = 'bench-app-queue';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Dialplan lines for callback-entry: answer (as the plugin does), then wait in the empty queue. */
export function appQueueExtension(): string {
  return `exten => ${APP_QUEUE_DID},1,NoOp(bench app_queue yardstick)\n same => n,Answer()\n same => n,Queue(${APP_QUEUE})\n same => n,Hangup()\n`;
}

/**
 * The queue, appended to the project's queues.conf: no members, callers may join and stay while it
 * is empty, nothing but music (no position or hold-time announcements: the plugin's holding
 * figure is taken between its offers, music only).
 */
export function appQueueConf(projectQueuesConf: string): string {
  return `${projectQueuesConf}\n\n; Added by the benchmark for this run: the app_queue yardstick (no members, music only).\n[${APP_QUEUE}]\nmusicclass = default\nstrategy = ringall\njoinempty = yes\nleavewhenempty = no\nannounce-frequency = 0\nperiodic-announce-frequency = 0\nannounce-position = no\nannounce-holdtime = no\n`;
}

/** What the ramp needs of the bench around it. */
export interface AppQueueDeps {
  lab: Lab;
  numbers: (n: number) => string[];
  /** Whether Asterisk has destroyed the channel of this caller number (the observer's events). */
  ended: (number: string) => boolean;
  /** Asterisk's CPU over a window of `ms`, in percent of one core. */
  asteriskCpuPercent: (ms: number) => Promise<number>;
  failedCalls: (sipps: readonly SippProcess[]) => number;
  say: (line: string) => void;
}

export interface AppQueueResult {
  heldMaxNoFailures: number;
  failureBound: string;
  asteriskCpuMsPerHeldCallerMin: number;
  steps: Record<string, unknown>[];
}

interface AriChannel {
  id: string;
  caller?: { number?: string };
  dialplan?: { app_name?: string };
}

export async function appQueueRamp(
  deps: AppQueueDeps,
  o: { heldStep: number; heldMax: number; holdWindowSec: number; rate: number },
): Promise<AppQueueResult> {
  const { lab } = deps;
  const ramp = new HeldRamp(o.heldStep, o.heldMax);
  const held: string[] = [];
  const sipps: SippProcess[] = [];
  const steps: Record<string, unknown>[] = [];
  const channels = async (): Promise<AriChannel[]> => {
    const r = await lab.asterisk.ari<AriChannel[]>('GET', '/channels').catch(() => undefined);
    return Array.isArray(r?.body) ? r.body : [];
  };
  try {
    for (let target = ramp.next(); target !== undefined; target = ramp.next()) {
      const numbers = deps.numbers(target - held.length);
      held.push(...numbers);
      const holdMs = Math.ceil((o.heldMax / o.heldStep) * (o.holdWindowSec + 30) + 120) * 1000;
      sipps.push(
        await lab.call(
          APP_QUEUE_DID,
          { from: '[field0]', steps: [{ wait: holdMs }, { hangup: true }] },
          { count: numbers.length, rate: o.rate, injection: numbers.map((n) => [n]) },
        ),
      );
      const ours = new Set(held);
      const deadline = Date.now() + (numbers.length / o.rate) * 1000 + 30000;
      let inQueue = 0;
      let total = 0;
      for (;;) {
        const all = await channels();
        total = all.length;
        inQueue = all.filter((c) => c.dialplan?.app_name === 'Queue' && ours.has(c.caller?.number ?? '')).length;
        if (inQueue >= target || Date.now() > deadline) break;
        await sleep(250);
      }
      await sleep(2000);
      const cpu = await deps.asteriskCpuPercent(o.holdWindowSec * 1000);
      const perMin = round2((cpu * 10 * o.holdWindowSec) / target / (o.holdWindowSec / 60));
      const dropped = held.filter((n) => deps.ended(n)).length;
      const failed = deps.failedCalls(sipps);
      const figures = {
        held: target,
        in_queue: inQueue,
        held_dropped: dropped,
        failed_calls: failed,
        asterisk_cpu_percent: cpu,
        asterisk_cpu_ms_per_held_caller_min: perMin,
        asterisk_threads: threadCount(lab.asterisk.pid),
        asterisk_channels: total,
      };
      steps.push(figures);
      deps.say(`  app_queue held ${target}: ${JSON.stringify(figures)}`);
      const reasons: string[] = [];
      if (inQueue < target) reasons.push(`only ${inQueue} of ${target} callers were in the queue`);
      if (dropped > 0) reasons.push(`${dropped} held callers dropped`);
      if (failed > 0) reasons.push(`${failed} calls failed`);
      const outcome: HeldStepOutcome = {
        target,
        passed: reasons.length === 0,
        failed: reasons.length > 0,
        why: reasons.length ? `${reasons.join('; ')} at ${target} held in app_queue` : '',
        allHeld: inQueue >= target,
        pluginCpuMsPerHeldCallerMin: NaN,
        asteriskCpuMsPerHeldCallerMin: perMin,
      };
      ramp.record(outcome);
    }
  } finally {
    // Hung up by Asterisk (the callers' SIPp get a BYE and end), so the plugin's ramp starts on an
    // Asterisk holding nobody.
    const ours = new Set(held);
    for (const c of await channels())
      if (ours.has(c.caller?.number ?? '')) await lab.asterisk.ari('DELETE', `/channels/${c.id}`).catch(() => undefined);
    const quiet = Date.now() + 30000;
    while (Date.now() < quiet && (await channels()).some((c) => ours.has(c.caller?.number ?? ''))) await sleep(250);
    for (const s of sipps) s.kill();
  }
  const r = ramp.result();
  return {
    heldMaxNoFailures: r.heldMaxNoFailures,
    failureBound: r.failureBound,
    asteriskCpuMsPerHeldCallerMin: r.asteriskCpuMsPerHeldCallerMin,
    steps,
  };
}
