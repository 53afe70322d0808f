import { AppConfig, QueueConfig } from '../config/config';
import { numberPolicySchema } from '../config/schema';
import { Logger } from '../logging/logger';
import { CallbackStore } from '../store/callback-store';
import { checkNumber, NumberCheck } from './number-guard';
import { QueueRuntime } from './queue-book';

/**
 * The one gate every number that can be dialled passes (issue 19): the queue's number policy
 * (number-guard.ts) applied to the callbacks one agent owes, before an attempt starts and before
 * a pending callback is rescheduled. The sessions check again where they build the dial string
 * (calls/dial-gate.ts), so nothing is dialled that this gate has not let through.
 */

/** The default policy (premium and international refused), as a queue that names none has it. */
const DEFAULT_QUEUE_NUMBER_POLICY: QueueConfig['numberPolicy'] = numberPolicySchema.parse(undefined);

/**
 * The policy of the callbacks owed to missed direct callers: `direct.numberPolicy`, else the
 * fallback queue's (where such a callback may end up), else the default one.
 */
export function owedCallbackNumberPolicy(config: AppConfig): QueueConfig['numberPolicy'] {
  const fallback = config.queues.find((q) => q.id === config.direct.fallbackQueueId);
  return config.direct.numberPolicy ?? fallback?.numberPolicy ?? DEFAULT_QUEUE_NUMBER_POLICY;
}

/**
 * A missed direct caller's caller id, before a callback is owed to it: it must pass the owed
 * queue's policy and, when one is configured, the fallback queue's, since after the owner window
 * the callback is dialled from there.
 */
export function checkOwedCallbackNumber(
  owedQueue: QueueRuntime | undefined,
  fallbackQueue: QueueRuntime | undefined,
  rawNumber: string,
): { ok: true; e164: string } | { ok: false; reason: string } {
  if (!owedQueue) return { ok: false, reason: 'unknown_agent' };
  const owed = checkNumber(owedQueue.config, rawNumber);
  if (!owed.ok) return { ok: false, reason: refusalOf(owed) };
  const fallback = fallbackQueue ? checkNumber(fallbackQueue.config, rawNumber) : owed;
  if (!fallback.ok) return { ok: false, reason: refusalOf(fallback) };
  return { ok: true, e164: owed.e164 };
}

/** The number of a callback about to be attempted, against the queue it is dialled from. */
export function checkBeforeAttempt(queue: QueueConfig, customerNumber: string): { ok: true } | { ok: false; reason: string } {
  const check = checkNumber(queue, customerNumber);
  return check.ok ? { ok: true } : { ok: false, reason: refusalOf(check) };
}

/** The reason a refused callback is failed with (stored as its outcome reason). */
export function numberRefusedReason(policyReason: string): string {
  return `number_refused: ${policyReason}`;
}

/**
 * A stored callback whose number its queue's policy refuses (stored before the policy was
 * tightened, or by a path that skipped the gate) is failed, never dialled. True when it was.
 */
export async function failIfNumberRefused(
  store: CallbackStore,
  queue: QueueConfig | undefined,
  callback: { id: string; customerNumber: string },
  now: Date,
  logger?: Logger,
): Promise<boolean> {
  if (!queue) return false;
  const gate = checkBeforeAttempt(queue, callback.customerNumber);
  if (gate.ok) return false;
  logger?.warn('callback number refused by the queue number policy; the callback fails and is never dialled', {
    callbackId: callback.id,
    queueId: queue.id,
    reason: gate.reason,
  });
  return store.setStatus(callback.id, 'failed', numberRefusedReason(gate.reason), now);
}

function refusalOf(check: Extract<NumberCheck, { ok: false }>): string {
  return check.invalid ? `invalid_number:${check.reason}` : check.reason;
}
