import { NO_AGENTS_WAIT_CAP_SEC } from './estimated-wait';

/**
 * What a waiting caller is told about where they stand: the position (callbacks and live callers
 * ahead, + 1) and the estimated wait from the same model that decides overflow, rounded the way a
 * person would say it. And when to say it: on entry and then every N seconds (both configurable,
 * off by default); the app never plays it over the callback offer and stops once connected.
 */
export type SpokenWait =
  { kind: 'less_than_a_minute' } | { kind: 'minutes'; minutes: number } | { kind: 'about_an_hour' } | { kind: 'more_than_an_hour' };

/**
 * "About 4 minutes", not "3 minutes 42 seconds": whole minutes up to 10, then fives up to half an
 * hour, then tens; around an hour it is "about an hour", beyond that "more than an hour" (also
 * when nobody is staffed and the model can give no time at all).
 */
export function spokenWait(sec: number): SpokenWait {
  if (!Number.isFinite(sec) || sec >= NO_AGENTS_WAIT_CAP_SEC) return { kind: 'more_than_an_hour' };
  if (sec < 60) return { kind: 'less_than_a_minute' };
  const min = sec / 60;
  if (min < 10) return { kind: 'minutes', minutes: Math.max(1, Math.round(min)) };
  if (min < 30) return { kind: 'minutes', minutes: Math.min(30, Math.round(min / 5) * 5) };
  if (min < 55) return { kind: 'minutes', minutes: Math.min(50, Math.round(min / 10) * 10) };
  if (min < 75) return { kind: 'about_an_hour' };
  return { kind: 'more_than_an_hour' };
}

/** The spoken figure back in seconds (for measuring what callers were told against what happened). */
export function spokenWaitSec(w: SpokenWait): number {
  switch (w.kind) {
    case 'less_than_a_minute':
      return 30;
    case 'minutes':
      return w.minutes * 60;
    case 'about_an_hour':
      return 3600;
    case 'more_than_an_hour':
      return 5400;
  }
}

export interface AnnouncementPolicy {
  /** Announce as soon as the caller is queued. */
  onEntry: boolean;
  /** Then every this many ms; null: no repeats. */
  everyMs: number | null;
}

export interface AnnouncementState {
  /** When the caller entered this queue (epoch ms). */
  enteredAt: number;
  /** Start of the last announcement, or null before the first. */
  lastAt: number | null;
  now: number;
}

export type AnnouncementDecision = { kind: 'now' } | { kind: 'wait'; untilMs: number } | { kind: 'off' };

export function decideAnnouncement(policy: AnnouncementPolicy, s: AnnouncementState): AnnouncementDecision {
  if (s.lastAt === null && policy.onEntry) return { kind: 'now' };
  if (policy.everyMs === null || !(policy.everyMs > 0)) return { kind: 'off' };
  const due = (s.lastAt ?? s.enteredAt) + policy.everyMs;
  return s.now >= due ? { kind: 'now' } : { kind: 'wait', untilMs: due };
}
