/**
 * Time as an injected dependency. Domain logic never reads the wall clock or touches global
 * timers itself, so every time-dependent rule can be tested deterministically with ManualClock.
 */

/** Opaque timer handle; only the clock that created it can interpret it. */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds (negative or NaN delays are treated as 0). */
  setTimer(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; unknown or already-fired handles are ignored (cancel is idempotent). */
  clearTimer(h: TimerHandle): void;
}

function sanitizeDelay(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

/** The real clock, backed by Date.now and setTimeout. */
class SystemClock implements Clock {
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  now(): number {
    return Date.now();
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const t = setTimeout(() => {
      // Forget the handle before running so a throwing callback cannot leak map entries.
      this.timers.delete(id);
      fn();
    }, sanitizeDelay(ms));
    this.timers.set(id, t);
    return { id };
  }

  clearTimer(h: TimerHandle): void {
    const t = this.timers.get(h.id);
    if (t !== undefined) {
      clearTimeout(t);
      this.timers.delete(h.id);
    }
  }
}

export const systemClock: Clock = new SystemClock();

interface ManualTimer {
  id: number;
  dueAt: number;
  fn: () => void;
}

/**
 * A clock that only moves when told to. Timers fire during `advance`/`set` in due-time order;
 * timers with the same due time fire in the order they were scheduled, which mirrors how Node
 * orders equal setTimeout delays and keeps tests deterministic.
 */
export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  // Kept unsorted: test clocks hold few timers, and picking the minimum on each step keeps the
  // "timers scheduled by fired timers" case trivially correct.
  private readonly timers = new Map<number, ManualTimer>();

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, dueAt: this.current + sanitizeDelay(ms), fn });
    return { id };
  }

  clearTimer(h: TimerHandle): void {
    this.timers.delete(h.id);
  }

  /** Number of timers scheduled and not yet fired or cleared (useful for leak assertions). */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer due within the window, including timers
   * scheduled by fired timers as long as they fall due before the window ends. While a timer
   * runs, now() equals its due time, so code that reads the clock sees the moment it was meant to run.
   */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ManualClock.advance: invalid ms ${ms}`);
    const target = this.current + ms;
    for (;;) {
      const next = this.earliestDue(target);
      if (next === undefined) break;
      this.timers.delete(next.id);
      this.current = next.dueAt;
      next.fn();
    }
    this.current = target;
  }

  /**
   * Jumps to an absolute time. Moving forward behaves like advance (due timers fire); moving
   * backward just resets the time and fires nothing, because nothing can be due in the past
   * that was not already due before.
   */
  set(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`ManualClock.set: invalid ms ${ms}`);
    if (ms >= this.current) this.advance(ms - this.current);
    else this.current = ms;
  }

  private earliestDue(limit: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers.values()) {
      if (t.dueAt > limit) continue;
      // Map iteration follows insertion order (= id order), so strict < keeps FIFO among equal due times.
      if (best === undefined || t.dueAt < best.dueAt) best = t;
    }
    return best;
  }
}
