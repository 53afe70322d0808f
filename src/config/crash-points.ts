/**
 * Named points between the durable steps of a call, where the fault-injection harness
 * (`npm run faults`) kills the process with SIGKILL to prove nothing is lost or dialled twice.
 * Inert unless DIRECT_CALLBACK_CRASH_AT names the point (never set in production).
 */
export type CrashPoint =
  | 'offer.after_press1'
  | 'offer.before_commit'
  | 'offer.after_commit'
  | 'offer.during_confirmation'
  | 'offer.before_hangup'
  | 'preview.after_claim'
  | 'preview.after_agent_originate'
  | 'preview.after_agent_answer'
  | 'preview.after_accept'
  | 'preview.after_customer_recorded'
  | 'preview.after_customer_dial'
  | 'preview.after_customer_answer'
  | 'preview.after_bridge';

const target = process.env.DIRECT_CALLBACK_CRASH_AT;

export function crashPoint(point: CrashPoint): void {
  if (target !== undefined && target === point) {
    process.stderr.write(`crash point reached: ${point}\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
