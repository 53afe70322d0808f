import { FeatureCodeKind, isFeatureCodeKind } from './feature-codes';

/**
 * Which calls the plugin takes, and why it gives the others back to the dialplan.
 *
 * A call the plugin does not take goes back to the dialplan at the step after its `Stasis()`,
 * with the channel variable DIRECT_CALLBACK_STATUS saying why, so that the administrator's
 * fallback (ring the members, voicemail) runs instead of a silent hang-up.
 */
export const DIALPLAN_STATUS_VARIABLE = 'DIRECT_CALLBACK_STATUS';

/**
 * - UNKNOWN_QUEUE: `queue,<id>` names no configured queue;
 * - UNKNOWN_TARGET: `direct,<x>` names no agent id and no agent's personal number;
 * - BAD_ARGUMENTS: the Stasis arguments are none the plugin knows (`queue` without an id, `bogus,x`, none);
 * - FULL: the queue, or the whole process, already holds as many callers as configured.
 */
export type DialplanReturnStatus = 'UNKNOWN_QUEUE' | 'UNKNOWN_TARGET' | 'BAD_ARGUMENTS' | 'FULL';

/** What the dialplan's Stasis arguments ask for. */
export type StasisEntry =
  | { kind: 'queue'; queueId: string; options: string[] }
  | { kind: 'direct'; target: string }
  | { kind: 'feature-code'; code: FeatureCodeKind; target: string }
  | { kind: 'malformed'; why: string };

/**
 * Reads the arguments of `Stasis(<app>,<kind>,<target>,...)` (the StasisStart `args`):
 * `queue,<queue id>[,route=<id>]`, `direct,<agent id or number>`, or a feature code
 * `agent-login|agent-logout|agent-pause|agent-unpause[,<endpoint or agent id>]` (a feature code
 * without a target is the feature code session's to refuse, with its own prompt).
 */
export function parseStasisArgs(args: readonly string[]): StasisEntry {
  const [kind, target, ...options] = args;
  if (kind === 'queue') {
    if (target === undefined || target === '') return { kind: 'malformed', why: 'queue without a queue id' };
    return { kind: 'queue', queueId: target, options };
  }
  if (kind === 'direct') {
    if (target === undefined || target === '') return { kind: 'malformed', why: 'direct without an agent or number' };
    return { kind: 'direct', target };
  }
  if (isFeatureCodeKind(kind)) return { kind: 'feature-code', code: kind, target: target ?? '' };
  if (kind === undefined || kind === '') return { kind: 'malformed', why: 'no arguments' };
  return { kind: 'malformed', why: `unknown entry kind '${kind}'` };
}

/**
 * The configured caps on callers held in Stasis at once. Absent: no cap. `queue` applies to a
 * queue caller only (a direct call has no queue).
 */
export interface CallerLimits {
  process: number | undefined;
  queue: number | undefined;
}

/** The callers this process holds in Stasis now, not counting the one arriving. */
export interface HeldCallers {
  process: number;
  queue: number;
}

export type Admission = { admitted: true } | { admitted: false; status: 'FULL'; limit: 'process' | 'queue'; max: number; held: number };

/**
 * Admission control: a new caller is taken while fewer than `max` are held; at `max` it goes
 * back to the dialplan (FULL). The process's cap is checked first, as the one that protects
 * every other caller. A cap that is not a positive whole number is no cap, so a bad value never
 * turns every caller away.
 */
export function decideAdmission(held: HeldCallers, limits: CallerLimits): Admission {
  const usable = (max: number | undefined): max is number => max !== undefined && Number.isInteger(max) && max > 0;
  if (usable(limits.process) && held.process >= limits.process)
    return { admitted: false, status: 'FULL', limit: 'process', max: limits.process, held: held.process };
  if (usable(limits.queue) && held.queue >= limits.queue)
    return { admitted: false, status: 'FULL', limit: 'queue', max: limits.queue, held: held.queue };
  return { admitted: true };
}
