/**
 * Named points between the durable steps of a call, where the fault-injection harness
 * (`npm run faults`) kills the process with SIGKILL to prove nothing is lost or dialled twice.
 * Inert unless the configuration names one (DIRECT_CALLBACK_CRASH_AT, never set in production)
 * and the plugin armed it at start.
 */
export const CRASH_POINTS = [
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
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

export function isCrashPoint(name: string): name is CrashPoint {
  return (CRASH_POINTS as readonly string[]).includes(name);
}

let armed: CrashPoint | undefined;

/** Arms the crash point the configuration names (config.crashAt); undefined disarms. */
export function armCrashPoint(point: CrashPoint | undefined): void {
  armed = point;
}

export function crashPoint(point: CrashPoint): void {
  if (armed !== undefined && armed === point) {
    process.stderr.write(`crash point reached: ${point}\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
