/**
 * Estimated wait from live data.
 *
 * Model. Let AHT be the average handle time, A = max(1, staffedAgents) the agents serving the
 * queue in parallel, F = availableAgents those free right now, and p the caller's 1-based
 * position (callers and callbacks ahead + 1).
 *  - If p <= F a free agent is already there for this caller: wait 0.
 *  - Otherwise the caller needs k = p - F releases of busy agents. In steady state the A agents
 *    together finish one call every AHT / A seconds, so the k-th release comes after about
 *    k * AHT / A seconds:        wait = ceil((p - F) * AHT / A)
 * This is a continuous version of "ceil((p - F) / A) rounds of AHT". It does not step in whole
 * AHTs, so with many agents position 1 is not told a full AHT when the first agent frees up much
 * sooner. It ignores that calls in progress are partly done, so it leans slightly long, which is
 * the safer side for a wait announcement and an overflow check.
 *  - No staffed agents: nobody will answer, so the estimate is NO_AGENTS_WAIT_CAP_SEC, a large
 *    but finite number so that it can be compared, stored and exported as a metric. Every
 *    estimate is capped at this value.
 */
export const NO_AGENTS_WAIT_CAP_SEC = 24 * 60 * 60;

export interface EstimateWaitInput {
  /** 1-based position in the queue order. */
  position: number;
  averageHandleSec: number;
  /** Agents free to take a call right now (a subset of the staffed ones). */
  availableAgents: number;
  /** Agents logged in to the queue and not paused, busy or free. */
  staffedAgents: number;
}

export function estimateWaitSec(input: EstimateWaitInput): number {
  const position = Number.isFinite(input.position) ? Math.max(1, Math.floor(input.position)) : 1;
  const free = Number.isFinite(input.availableAgents) ? Math.max(0, Math.floor(input.availableAgents)) : 0;
  // A free agent is by definition staffed; trust the larger figure if the two disagree.
  const staffed = Number.isFinite(input.staffedAgents) ? Math.max(free, Math.floor(input.staffedAgents)) : free;
  if (position <= free) return 0;
  if (staffed <= 0) return NO_AGENTS_WAIT_CAP_SEC;
  const aht = Number.isFinite(input.averageHandleSec) ? Math.max(0, input.averageHandleSec) : 0;
  const wait = Math.ceil(((position - free) * aht) / Math.max(1, staffed));
  return Math.min(wait, NO_AGENTS_WAIT_CAP_SEC);
}

export interface HandleTimeAverageOptions {
  /** Value reported until enough real samples exist (a new queue has no history). */
  coldStartSec: number;
  /** EWMA weight of the newest sample, in (0, 1]; default 0.2 (roughly the last ~10 calls matter). */
  alpha?: number;
  /** Samples needed before the EWMA replaces the cold-start value; default 3. */
  minSamples?: number;
}

/**
 * Average handle time as an exponentially weighted moving average: it follows shifts in the
 * kind of calls during the day without keeping history. The EWMA is seeded with the first
 * sample (not the cold-start value) so a wrong guess in config does not bias it for long.
 * Invalid samples (negative, NaN, infinite) are dropped: one bad CDR must not poison the estimate.
 */
export class HandleTimeAverage {
  private readonly coldStartSec: number;
  private readonly alpha: number;
  private readonly minSamples: number;
  private ewma = 0;
  private samples = 0;

  constructor(opts: HandleTimeAverageOptions) {
    const alpha = opts.alpha ?? 0.2;
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`HandleTimeAverage: alpha must be in (0, 1], got ${alpha}`);
    if (!(Number.isFinite(opts.coldStartSec) && opts.coldStartSec >= 0)) {
      throw new RangeError(`HandleTimeAverage: coldStartSec must be >= 0, got ${opts.coldStartSec}`);
    }
    this.coldStartSec = opts.coldStartSec;
    this.alpha = alpha;
    this.minSamples = Math.max(1, Math.floor(opts.minSamples ?? 3));
  }

  get sampleCount(): number {
    return this.samples;
  }

  record(handleSec: number): void {
    if (!Number.isFinite(handleSec) || handleSec < 0) return;
    this.ewma = this.samples === 0 ? handleSec : this.alpha * handleSec + (1 - this.alpha) * this.ewma;
    this.samples += 1;
  }

  averageSec(): number {
    return this.samples < this.minSamples ? this.coldStartSec : this.ewma;
  }
}

/**
 * Accuracy of the wait estimates: (estimated, actual) pairs over an optional sliding window.
 * Mean absolute error says how far off announcements are; the signed bias says in which
 * direction (positive = we over-estimate).
 */
export class WaitErrorTracker {
  private readonly window: number;
  private readonly errors: number[] = [];
  private next = 0;
  private sumAbs = 0;
  private sumSigned = 0;

  /** `window`: keep only the last N pairs (default: unbounded, i.e. since start). */
  constructor(opts: { window?: number } = {}) {
    const w = opts.window ?? Infinity;
    if (!(w >= 1)) throw new RangeError(`WaitErrorTracker: window must be >= 1, got ${w}`);
    this.window = Number.isFinite(w) ? Math.floor(w) : Infinity;
  }

  get count(): number {
    return this.errors.length;
  }

  record(estimatedSec: number, actualSec: number): void {
    if (!Number.isFinite(estimatedSec) || !Number.isFinite(actualSec)) return;
    const error = estimatedSec - actualSec;
    if (this.errors.length < this.window) {
      this.errors.push(error);
    } else {
      // Ring buffer: overwrite the oldest entry and take it out of the running sums.
      const old = this.errors[this.next];
      this.sumAbs -= Math.abs(old);
      this.sumSigned -= old;
      this.errors[this.next] = error;
      this.next = (this.next + 1) % this.window;
    }
    this.sumAbs += Math.abs(error);
    this.sumSigned += error;
  }

  /** Mean |estimated - actual| in seconds, or undefined with no data (0 would claim perfection). */
  meanAbsoluteErrorSec(): number | undefined {
    return this.errors.length === 0 ? undefined : this.sumAbs / this.errors.length;
  }

  /** Mean (estimated - actual) in seconds, or undefined with no data. */
  meanBiasSec(): number | undefined {
    return this.errors.length === 0 ? undefined : this.sumSigned / this.errors.length;
  }
}
