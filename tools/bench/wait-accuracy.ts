import { estimateWaitSec, HandleTimeAverage, spokenWait, spokenWaitSec, WaitErrorTracker } from '../../src/domain';

/**
 * How close is the wait a caller is told to the wait the caller then has? A replayed day of calls
 * through the plugin's own model (position, estimated wait from the measured handle time, the
 * rounding of the announcement), against the waits that result when the agents serve the queue
 * in order. The day is synthetic but reproducible (seeded): arrivals follow an office-hours
 * profile, handle times a log-normal distribution, agents a shift plan.
 */
export interface DayProfile {
  /** Calls per hour for each hour of the day, from `openHour`. */
  callsPerHour: number[];
  openHour: number;
  agents: number;
  meanHandleSec: number;
  /** Coefficient of variation of the handle time. */
  handleCv: number;
  coldStartHandleSec: number;
  seed: number;
}

export const OFFICE_DAY: DayProfile = {
  callsPerHour: [20, 45, 60, 50, 35, 40, 55, 50, 35, 20],
  openHour: 8,
  agents: 4,
  meanHandleSec: 240,
  handleCv: 0.5,
  coldStartHandleSec: 180,
  seed: 20261127,
};

export interface WaitAccuracy {
  calls: number;
  /** The model's estimate against the real wait (seconds). */
  estimate_mae_sec: number;
  estimate_bias_sec: number;
  /** What the caller heard ("about 4 minutes") against the real wait. */
  announced_mae_sec: number;
  announced_bias_sec: number;
  announced_p90_abs_error_sec: number;
  /** Share of callers whose real wait was within ±50 % (or ±60 s) of what they heard. */
  announced_within_half: number;
  actual_wait_p50_sec: number;
  actual_wait_max_sec: number;
}

/** mulberry32: a small, fast, seedable PRNG (reproducible days). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function replayDay(day: DayProfile = OFFICE_DAY): WaitAccuracy {
  const rand = prng(day.seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const sigma = Math.sqrt(Math.log(1 + day.handleCv ** 2));
  const mu = Math.log(day.meanHandleSec) - sigma ** 2 / 2;
  const handle = () => Math.exp(mu + sigma * normal());
  // Arrivals: a Poisson process per hour.
  const arrivals: number[] = [];
  day.callsPerHour.forEach((rate, h) => {
    let t = (day.openHour + h) * 3600;
    const end = t + 3600;
    for (;;) {
      t += -Math.log(1 - rand()) * (3600 / rate);
      if (t >= end) break;
      arrivals.push(t);
    }
  });
  const aht = new HandleTimeAverage({ coldStartSec: day.coldStartHandleSec });
  const estimateErr = new WaitErrorTracker();
  const announcedErr = new WaitErrorTracker();
  const absAnnounced: number[] = [];
  const actual: number[] = [];
  let within = 0;
  // Agents become free at these times; the queue is served in arrival order.
  const freeAt: number[] = Array.from({ length: day.agents }, () => 0);
  const waiting: { at: number; estimate: number; announced: number }[] = [];
  // Completions not yet folded into the handle-time average (it learns when a call ends).
  const ends: { at: number; sec: number }[] = [];
  const serveUntil = (now: number) => {
    for (;;) {
      const next = waiting[0];
      if (!next) return;
      let agent = 0;
      for (let i = 1; i < freeAt.length; i++) if (freeAt[i] < freeAt[agent]) agent = i;
      const start = Math.max(next.at, freeAt[agent]);
      if (start > now) return;
      waiting.shift();
      const sec = handle();
      freeAt[agent] = start + sec;
      ends.push({ at: start + sec, sec });
      const wait = start - next.at;
      actual.push(wait);
      estimateErr.record(next.estimate, wait);
      announcedErr.record(next.announced, wait);
      absAnnounced.push(Math.abs(next.announced - wait));
      if (Math.abs(next.announced - wait) <= Math.max(60, 0.5 * wait)) within += 1;
    }
  };
  for (const at of arrivals) {
    serveUntil(at);
    ends.sort((a, b) => a.at - b.at);
    while (ends[0] && ends[0].at <= at) aht.record((ends.shift() as { sec: number }).sec);
    const available = freeAt.filter((f) => f <= at).length;
    const estimate = estimateWaitSec({
      position: waiting.length + 1,
      averageHandleSec: aht.averageSec(),
      availableAgents: available,
      staffedAgents: day.agents,
    });
    waiting.push({ at, estimate, announced: spokenWaitSec(spokenWait(estimate)) });
  }
  serveUntil(Infinity);
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const q = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;
  const r1 = (x: number | undefined) => Math.round((x ?? NaN) * 10) / 10;
  return {
    calls: actual.length,
    estimate_mae_sec: r1(estimateErr.meanAbsoluteErrorSec()),
    estimate_bias_sec: r1(estimateErr.meanBiasSec()),
    announced_mae_sec: r1(announcedErr.meanAbsoluteErrorSec()),
    announced_bias_sec: r1(announcedErr.meanBiasSec()),
    announced_p90_abs_error_sec: r1(q(absAnnounced, 0.9)),
    announced_within_half: Math.round((within / Math.max(1, actual.length)) * 1000) / 1000,
    actual_wait_p50_sec: r1(q(actual, 0.5)),
    actual_wait_max_sec: r1(Math.max(...actual)),
  };
}
