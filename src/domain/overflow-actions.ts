import { evaluateOverflow, OverflowReason, OverflowRule } from './overflow';

/**
 * What an overflowing queue does with a waiting caller (the callback offer is one choice),
 * configured as an ordered list, each step with its own condition. The list is an escalation
 * ladder: the step in force is the LAST one whose condition holds, so a queue can offer a
 * callback once 5 calls wait and, past a second condition (say 15 minutes waited), send the
 * caller to voicemail instead.
 *
 * Actions, as written in the configuration:
 * - `callback`: the callback offer ("press 1"), repeated until taken or no longer in force;
 * - `queue:<id>`: the caller moves to another queue (placed by that queue's rules; the original
 *   arrival stays with the caller's entry for reporting);
 * - `external:<number>`: the caller is connected to an outside number (the queue's number policy
 *   applies, as for callbacks);
 * - `voicemail:<mailbox>`: the call continues in the administrator's dialplan, where Asterisk's
 *   app_voicemail records a message for that mailbox;
 * - `message:<sound>`: the caller hears a message (e.g. "we are closed") and the call ends.
 */
export type OverflowAction =
  | { kind: 'callback' }
  | { kind: 'queue'; queueId: string }
  | { kind: 'external'; number: string }
  | { kind: 'voicemail'; mailbox: string }
  | { kind: 'message'; sound: string };

export type OverflowActionKind = OverflowAction['kind'];

/** A step's condition: any field that holds makes the step hold (as the queue's overflow rule). */
export interface OverflowCondition extends OverflowRule {
  /** The caller has waited at least this long in this queue. */
  waitedSec?: number;
  /** The queue is outside its operating hours. */
  outOfHours?: boolean;
}

export interface OverflowStep {
  when: OverflowCondition;
  action: OverflowAction;
}

export type ParsedAction = { ok: true; action: OverflowAction } | { ok: false; error: string };

const ID = /^[A-Za-z0-9_-]{1,64}$/;

export function parseOverflowAction(text: string): ParsedAction {
  const t = text.trim();
  if (t === 'callback') return { ok: true, action: { kind: 'callback' } };
  const m = /^(queue|external|voicemail|message):(.+)$/.exec(t);
  if (!m)
    return {
      ok: false,
      error: `'${text}' is not an overflow action (callback, queue:<id>, external:<number>, voicemail:<mailbox>, message:<sound>)`,
    };
  const [, kind, arg = ''] = m;
  switch (kind) {
    case 'queue':
      return ID.test(arg)
        ? { ok: true, action: { kind: 'queue', queueId: arg } }
        : { ok: false, error: `queue id '${arg}': letters, digits, _ and - only` };
    case 'external':
      return /^\+?[0-9]{3,20}$/.test(arg)
        ? { ok: true, action: { kind: 'external', number: arg } }
        : { ok: false, error: `external number '${arg}': digits, optionally after +` };
    case 'voicemail':
      return /^[A-Za-z0-9_@.-]{1,80}$/.test(arg)
        ? { ok: true, action: { kind: 'voicemail', mailbox: arg } }
        : { ok: false, error: `mailbox '${arg}': letters, digits, _ @ . - only` };
    default:
      // A sound name as Asterisk resolves it (no scheme, no path escapes).
      return /^[A-Za-z0-9_/-]{1,120}$/.test(arg) && !arg.includes('..')
        ? { ok: true, action: { kind: 'message', sound: arg } }
        : { ok: false, error: `sound '${arg}': a sound name like callback/closed` };
  }
}

export function formatOverflowAction(a: OverflowAction): string {
  switch (a.kind) {
    case 'callback':
      return 'callback';
    case 'queue':
      return `queue:${a.queueId}`;
    case 'external':
      return `external:${a.number}`;
    case 'voicemail':
      return `voicemail:${a.mailbox}`;
    case 'message':
      return `message:${a.sound}`;
  }
}

export interface OverflowState {
  /** Items waiting in the queue, this caller included. */
  waitingCount: number;
  estimatedWaitSec: number;
  /** Seconds this caller has waited in this queue. */
  waitedSec: number;
  outOfHours: boolean;
}

export type StepReason = OverflowReason | 'waited' | 'out_of_hours';

export interface ActionInForce {
  index: number;
  action: OverflowAction;
  reasons: StepReason[];
}

function holds(when: OverflowCondition, s: OverflowState): StepReason[] {
  const reasons: StepReason[] = [...evaluateOverflow(when, { waitingCount: s.waitingCount, estimatedWaitSec: s.estimatedWaitSec }).reasons];
  if (when.waitedSec !== undefined && Number.isFinite(when.waitedSec) && s.waitedSec >= when.waitedSec) reasons.push('waited');
  if (when.outOfHours === true && s.outOfHours) reasons.push('out_of_hours');
  return reasons;
}

/** The step in force: the last one whose condition holds (later steps escalate), or none. */
export function actionInForce(steps: readonly OverflowStep[], state: OverflowState): ActionInForce | undefined {
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i];
    const reasons = holds(step.when, state);
    if (reasons.length > 0) return { index: i, action: step.action, reasons };
  }
  return undefined;
}

/**
 * Whether a caller may be moved to `target` by a queue action: never back into a queue it was
 * moved out of (two queues overflowing into each other would bounce it for ever), and at most
 * `maxMoves` times.
 */
export function mayMoveTo(target: string, visited: readonly string[], maxMoves = 3): boolean {
  return !visited.includes(target) && visited.length <= maxMoves;
}
