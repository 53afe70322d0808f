/**
 * When is a queue "overflowing" so that waiting callers get a callback offer?
 *
 * A condition that is absent (undefined) is not checked. Thresholds use >=: `maxWaiting: 5` means
 * the fifth waiting call already overflows. A threshold that is not a finite number is ignored,
 * so a bad config value disables that condition rather than making every call overflow.
 */
export interface OverflowRule {
  /** Overflow when calls waiting >= N. */
  maxWaiting?: number;
  /** Overflow when the estimated wait >= T seconds. */
  maxEstimatedWaitSec?: number;
}

/**
 * A route's override of the queue rule, applied field by field:
 * - field absent / undefined: inherit the queue's value;
 * - number: replace the queue's value;
 * - null: disable that condition for this route even if the queue sets it.
 * Every OverflowRule is a valid override (it simply never disables anything).
 */
export interface OverflowRuleOverride {
  maxWaiting?: number | null;
  maxEstimatedWaitSec?: number | null;
}

export type OverflowReason = 'waiting_count' | 'estimated_wait';

export interface OverflowInput {
  /**
   * Calls waiting in the queue INCLUDING the one being evaluated ("calls waiting" as the caller
   * would experience it). Whether pending callbacks count is the caller's choice; the app passes
   * every item in the queue order, since callbacks hold places just like live callers.
   */
  waitingCount: number;
  /** Estimated wait of the call being evaluated, in seconds. */
  estimatedWaitSec: number;
}

export interface OverflowDecision {
  overflowing: boolean;
  /** Every condition that tripped, in a fixed order (waiting_count first). */
  reasons: OverflowReason[];
}

function pick(queueValue: number | undefined, override: number | null | undefined): number | undefined {
  if (override === null) return undefined;
  if (override !== undefined) return override;
  return queueValue;
}

export function resolveOverflowRule(queueRule: OverflowRule | undefined, routeOverride?: OverflowRuleOverride): OverflowRule {
  const maxWaiting = pick(queueRule?.maxWaiting, routeOverride?.maxWaiting);
  const maxEstimatedWaitSec = pick(queueRule?.maxEstimatedWaitSec, routeOverride?.maxEstimatedWaitSec);
  const rule: OverflowRule = {};
  // Absent keys rather than explicit undefined keep the result tidy for logging and deep equality.
  if (maxWaiting !== undefined) rule.maxWaiting = maxWaiting;
  if (maxEstimatedWaitSec !== undefined) rule.maxEstimatedWaitSec = maxEstimatedWaitSec;
  return rule;
}

function trips(threshold: number | undefined, value: number): boolean {
  return threshold !== undefined && Number.isFinite(threshold) && value >= threshold;
}

export function evaluateOverflow(rule: OverflowRule, input: OverflowInput): OverflowDecision {
  const reasons: OverflowReason[] = [];
  if (trips(rule.maxWaiting, input.waitingCount)) reasons.push('waiting_count');
  if (trips(rule.maxEstimatedWaitSec, input.estimatedWaitSec)) reasons.push('estimated_wait');
  return { overflowing: reasons.length > 0, reasons };
}
