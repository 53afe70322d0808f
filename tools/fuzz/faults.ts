import type { RequestFault, RequestFaultHook } from '../simulator/ari-simulator';
import { Rng } from './random';

/**
 * The ARI faults of the scenarios in flight: each rule belongs to one scenario and hits only
 * requests about that scenario's channels (by the channel id in the path, a playback id made from
 * it, the bridge's `channel` parameter or originate's `endpoint`), a few times, from some moment.
 */
export interface AriFaultRule {
  /** Operation nickname or prefix, e.g. `channels.play` (play and playWithId). */
  operation: string;
  fault: RequestFault;
  remaining: number;
  fromMs: number;
}

export interface FaultOwner {
  channelIds: ReadonlySet<string>;
  endpoints: ReadonlySet<string>;
  startedAt: number;
  /** Requests of the owner's calls answered with an error instead of carried out. */
  refused: number;
}

export const FAULT_OPERATIONS = [
  'channels.play',
  'channels.answer',
  'channels.hangup',
  'channels.continueInDialplan',
  'channels.setChannelVar',
  'channels.originate',
  'channels.create',
  'channels.dial',
  'channels.startMoh',
  'channels.stopMoh',
  'channels.ring',
  'bridges.addChannel',
  'bridges.removeChannel',
  'bridges.create',
  'bridges.destroy',
  'bridges.startMoh',
  'playbacks.stop',
] as const;

/**
 * What Asterisk answers when it refuses: a dial in the window before StasisStart is refused 409
 * (measured, issue 18), a channel it cannot allocate 500 "Allocation failed" (trace d6), and any
 * request may meet an internal error (500). Refusals that would contradict the channel's state
 * (404 for a channel that is there) are not injected: the plugin would be right to believe them.
 */
function refusalFor(operation: string, rng: Rng): RequestFault {
  if (operation === 'channels.dial' && rng.chance(0.7)) return { status: 409, message: 'Channel not in Stasis application' };
  if ((operation === 'channels.originate' || operation === 'channels.create') && rng.chance(0.7))
    return { status: 500, message: 'Allocation failed' };
  return { status: 500, message: 'Internal Server Error' };
}

export function randomAriFaults(rng: Rng): AriFaultRule[] {
  return Array.from({ length: rng.int(1, 3) }, () => {
    const slow = rng.chance(0.4);
    const operation = rng.pick(FAULT_OPERATIONS);
    return {
      operation,
      fault: slow ? { delayMs: rng.int(100, 1500) } : refusalFor(operation, rng),
      remaining: rng.int(1, 2),
      fromMs: rng.int(0, 2500),
    };
  });
}

export class AriFaultBook {
  private readonly rules = new Map<FaultOwner, AriFaultRule[]>();
  injected = 0;

  add(owner: FaultOwner, rules: AriFaultRule[]): void {
    if (rules.length) this.rules.set(owner, rules);
  }

  remove(owner: FaultOwner): void {
    this.rules.delete(owner);
  }

  readonly hook: RequestFaultHook = (r) => {
    if (this.rules.size === 0) return undefined;
    const now = Date.now();
    for (const [owner, rules] of this.rules) {
      const rule = rules.find((x) => x.remaining > 0 && r.operation.startsWith(x.operation) && now - owner.startedAt >= x.fromMs);
      if (!rule || !concerns(owner, r.path, r.query)) continue;
      rule.remaining -= 1;
      this.injected += 1;
      if (rule.fault.status !== undefined) owner.refused += 1;
      return rule.fault;
    }
    return undefined;
  };
}

/**
 * Whether a request is about one of the owner's channels. Ids are compared whole (a path segment,
 * one of a comma-separated list, or a playback id made from the channel's): channel ids are
 * numbered, and a substring test gave one scenario's faults to another's channel (`…450.56` is in
 * `…450.560`), which the fuzzer then blamed on the wrong plan.
 */
function concerns(owner: FaultOwner, path: string, query: Record<string, string>): boolean {
  const endpoint = query.endpoint;
  if (endpoint !== undefined && [...owner.endpoints].some((e) => endpoint === e || endpoint.includes(e))) return true;
  const tokens = [...path.split('/'), ...(query.channel ?? '').split(','), query.channelId ?? ''].map(decodeURIComponent);
  // The channel itself, its playbacks (`<id>-pbN`) and the bridges named after it (`call-<id>`, `quiet-<id>`).
  for (const id of owner.channelIds) if (tokens.some((t) => t === id || t.startsWith(`${id}-pb`) || t.endsWith(`-${id}`))) return true;
  return false;
}
