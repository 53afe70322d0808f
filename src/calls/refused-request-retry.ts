import { Clock, TimerHandle } from '../domain';

export interface RefusedRequestRetryOptions {
  /** Between a refusal and the next try. */
  everyMs: number;
  /** Tries in all, the first included (Infinity: for as long as it is wanted). */
  tries: number;
  /** The request; a rejection is a refusal. */
  attempt: () => Promise<void>;
  /** Asked when a try falls due: false ends the tries without one (the caller moved on). */
  wanted?: () => boolean;
  /** A refusal that no later try can mend (the channel gone): it ends the tries. */
  final?: (error: unknown) => boolean;
  /** After each try that ran: what it came to, and the last refusal when the tries ran out. */
  onSettled?: (outcome: 'done' | 'refused_again' | 'given_up' | 'ended', error?: unknown) => void;
}

/**
 * A request Asterisk refused (a 500, a timeout) asked for again on the injected clock while it
 * still matters: a caller put back in its holding bridge (Hold), music started under a slow wait
 * (musicWhileSlow). One object owns the timer and the try in flight, so whoever ends the call
 * cancels both with one call and can wait for the request it cannot take back.
 */
export class RefusedRequestRetry {
  private timer: TimerHandle | undefined;
  private inFlight: Promise<void> | undefined;
  private triesLeft: number;
  private cancelled = false;

  constructor(
    private readonly clock: Clock,
    private readonly opts: RefusedRequestRetryOptions,
  ) {
    this.triesLeft = opts.tries;
  }

  /** The first try after `delayMs`. */
  startIn(delayMs: number): this {
    this.schedule(delayMs);
    return this;
  }

  /** A try is under way (sent, not settled). */
  get underWay(): boolean {
    return this.inFlight !== undefined;
  }

  /** No more tries; a try under way settles on its own (`settled`). */
  cancel(): void {
    this.cancelled = true;
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Resolves once no try is under way. */
  async settled(): Promise<void> {
    await this.inFlight;
  }

  private schedule(ms: number): void {
    if (this.cancelled) return;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      if (this.cancelled || (this.opts.wanted && !this.opts.wanted())) return;
      this.run();
    }, ms);
  }

  private run(): void {
    this.triesLeft -= 1;
    const settle = (outcome: 'done' | 'refused_again' | 'given_up' | 'ended', error?: unknown): void => {
      this.inFlight = undefined;
      try {
        this.opts.onSettled?.(outcome, error);
      } catch {
        // A listener's failure (a log line) is not the request's; the promise must not reject.
      }
    };
    this.inFlight = this.opts.attempt().then(
      () => settle('done'),
      (e: unknown) => {
        if (this.cancelled || this.opts.final?.(e)) return settle('ended', e);
        if (this.triesLeft <= 0) return settle('given_up', e);
        settle('refused_again', e);
        this.schedule(this.opts.everyMs);
      },
    );
  }
}
