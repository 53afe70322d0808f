import { randomUUID } from 'node:crypto';
import { Logger } from '../logging/logger';
import { CallContext } from './call-context';
import { bookCallback, BookingResult } from './callback-booking';

/** What a missed direct caller's press 1 came to: a booking's result, or a caller id the gate refused. */
export type OwedBookingResult = BookingResult | { kind: 'number_refused'; reason: string };

/**
 * Press 1 on a direct call: a callback owed by the agent the caller missed. The caller id passes
 * the same gate as a number a queue caller offers (the owed callbacks' number policy, and the
 * fallback queue's when there is one) before anything is stored, and the E.164 form is what is
 * stored and later dialled. Owed callbacks have no per-number limit (none is passed to the
 * booking), so the booking's own refusal cannot come back.
 */
export async function bookOwedCallback(
  ctx: CallContext,
  input: {
    agentId: string;
    callerNumber: string;
    callerName: string | null;
    language: string;
    arrivedAt: Date;
    sourceChannelId: string;
  },
  log: Logger,
): Promise<OwedBookingResult> {
  const check = ctx.policy.checkOwedCallbackNumber(input.agentId, input.callerNumber);
  if (!check.ok) return { kind: 'number_refused', reason: check.reason };
  const result = await bookCallback(
    ctx.store,
    {
      id: randomUUID(),
      queueId: ctx.queues.directQueueId(input.agentId),
      ownerAgentId: input.agentId,
      customerNumber: check.e164,
      customerName: input.callerName,
      language: input.language,
      priority: 0,
      arrivedAt: input.arrivedAt,
      maxAttempts: ctx.config.direct.maxAttempts,
      sourceChannelId: input.sourceChannelId,
    },
    log,
  );
  // The caller already had one: it is not dialled while they are on the line hearing so.
  if (result.kind === 'duplicate') ctx.queues.holdForCall(result.existing.id, input.sourceChannelId);
  return result;
}
