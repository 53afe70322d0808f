import { Clock } from './clock';

/**
 * A state write whose loss would leave something held (a callback in_progress, a claim nobody
 * renews) is retried until it is written: a database outage delays it, never loses it, while this
 * process lives and the write still matters. The gap between tries starts short (a cut connection
 * is usually back at once) and doubles to a ceiling, so a long outage costs one try per ceiling.
 */
export interface DurableWriteOptions {
  clock: Clock;
  /** Gap before the first retry (default 250 ms). */
  firstDelayMs?: number;
  /** The longest gap between tries (default 5 s). */
  maxDelayMs?: number;
  /**
   * Asked before every retry: false when the write no longer matters (the process is stopping,
   * another process has taken the claim over). The write is then given up.
   */
  stillWanted?: () => boolean;
  /** Told about every failed try and the gap before the next. */
  onFailure?: (error: unknown, tries: number, nextDelayMs: number) => void;
}

export type DurableWriteResult<T> = { kind: 'written'; value: T; tries: number } | { kind: 'given_up'; tries: number; lastError: unknown };

export const DURABLE_FIRST_DELAY_MS = 250;
export const DURABLE_MAX_DELAY_MS = 5000;

/** The gap after the n-th failed try (n from 1): first, doubled each time, never above max. */
export function durableRetryDelay(failedTries: number, firstMs = DURABLE_FIRST_DELAY_MS, maxMs = DURABLE_MAX_DELAY_MS): number {
  const doublings = Math.max(0, Math.min(failedTries - 1, 30));
  return Math.min(maxMs, firstMs * 2 ** doublings);
}

/** Runs `write` until it resolves, waiting the backoff (on the injected clock) after each failure. */
export function writeDurably<T>(write: () => Promise<T>, opts: DurableWriteOptions): Promise<DurableWriteResult<T>> {
  const first = opts.firstDelayMs ?? DURABLE_FIRST_DELAY_MS;
  const max = opts.maxDelayMs ?? DURABLE_MAX_DELAY_MS;
  return new Promise((resolve) => {
    let tries = 0;
    const attempt = (): void => {
      tries += 1;
      write().then(
        (value) => resolve({ kind: 'written', value, tries }),
        (error: unknown) => {
          if (opts.stillWanted && !opts.stillWanted()) {
            resolve({ kind: 'given_up', tries, lastError: error });
            return;
          }
          const delay = durableRetryDelay(tries, first, max);
          opts.onFailure?.(error, tries, delay);
          opts.clock.setTimer(() => {
            if (opts.stillWanted && !opts.stillWanted()) resolve({ kind: 'given_up', tries, lastError: error });
            else attempt();
          }, delay);
        },
      );
    };
    attempt();
  });
}
