import { interpretOfferDigit } from '../dtmf';

/**
 * The customer-leg guard as a pure decision. After the customer answers a callback they hear
 * "press 1 to be connected"; a voicemail or answering machine never presses 1, so the attempt
 * then counts as not answered (and is retried by the retry rules) instead of connecting an agent
 * to a recording.
 *
 * - The deadline is answeredAtMs + timeoutMs, exclusive and hard: a '1' at nowMs < deadline
 *   connects; at or after the deadline the answer is treat_as_no_answer even if a '1' arrives
 *   (the timer and the digit may race; the deadline decides, deterministically).
 * - Only '1' connects (interpretOfferDigit, src/domain/dtmf.ts). Any other digit, '*', '#',
 *   fax tones reported as digits, etc. are ignored: keep waiting until the same deadline.
 * - timeoutMs defaults to 8 s, matching guard.timeoutSec in src/config/config.ts.
 */

export const DEFAULT_GUARD_TIMEOUT_MS = 8000;

export interface GuardInput {
  answeredAtMs: number;
  nowMs: number;
  timeoutMs: number;
  /** The digit just received, if this decision is for a DTMF event. */
  digit?: string;
}

export type GuardDecision = { kind: 'connect' } | { kind: 'wait'; untilMs: number } | { kind: 'treat_as_no_answer' };

/** Throws RangeError for a timeout that is not a positive finite number (config error). */
export function decideGuard(input: GuardInput): GuardDecision {
  const { answeredAtMs, nowMs, timeoutMs, digit } = input;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`guard timeoutMs must be > 0, got ${timeoutMs}`);
  const untilMs = answeredAtMs + timeoutMs;
  if (nowMs >= untilMs) return { kind: 'treat_as_no_answer' };
  if (digit !== undefined && interpretOfferDigit(digit) === 'accept') return { kind: 'connect' };
  return { kind: 'wait', untilMs };
}
