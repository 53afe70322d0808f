import { AppConfig } from '../config/config';
import { Clock } from '../domain';
import { decideOwedCallback, DEFAULT_MAX_AGE_DAYS, EXPIRE_MAX_AGE, isExpired, OwedCallbackDecision } from '../domain/policies';
import { Logger } from '../logging/logger';
import { CallbackStore, StoredCallback } from '../store/callback-store';
import { CallMilestone } from '../calls/call-context';
import { QueueBook } from './queue-book';

/**
 * Time rules over the open callbacks (src/domain/policies/expiry.ts): a pending callback older
 * than its queue's expiryDays expires; one owed by an agent is the agent's only for
 * direct.ownerWindowSec, then moves to direct.fallbackQueueId at its original place, or expires.
 * Decided in one pass without copying the backlog; only the due ones touch the database.
 */
export interface TimeRulesHost {
  readonly config: AppConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly store: CallbackStore;
  readonly book: QueueBook;
  /** A callback moved to another queue joins it at the place its stored order gives it. */
  placeCallback(stored: StoredCallback): void;
  milestone(name: CallMilestone, data: Record<string, unknown>): void;
  dispatchSoon(): void;
}

export async function applyTimeRules(host: TimeRulesHost): Promise<void> {
  const { config, clock, book, store, logger } = host;
  const now = clock.now();
  const fallbackQueueId = config.direct.fallbackQueueId;
  const due: { id: string; decision: OwedCallbackDecision }[] = [];
  for (const [id, entry] of book.callbackEntries()) {
    if (entry.pending.inFlight) continue;
    const queue = book.queue(entry.stored.queueId);
    const requestedAtMs = entry.stored.requestedAt.getTime();
    const maxAgeDays = queue?.config.expiryDays ?? DEFAULT_MAX_AGE_DAYS;
    if (entry.stored.ownerAgentId) {
      const decision = decideOwedCallback({
        requestedAtMs,
        nowMs: now,
        ownerWindowMs: config.direct.ownerWindowSec * 1000,
        fallback: fallbackQueueId ? { kind: 'queue', queueId: fallbackQueueId } : { kind: 'expire' },
        maxAgeDays,
      });
      if (decision.kind !== 'owner_only') due.push({ id, decision });
    } else if (isExpired(requestedAtMs, now, maxAgeDays)) {
      due.push({ id, decision: { kind: 'expire', reason: EXPIRE_MAX_AGE } });
    }
  }
  for (const { id, decision } of due) {
    try {
      if (decision.kind === 'fallback_to_queue') {
        const moved = await store.fallBackToQueue(id, decision.queueId, new Date(now));
        if (!moved) continue;
        book.forgetCallback(id);
        host.placeCallback(moved);
        host.milestone('owed_callback_fell_back', { callbackId: id, queueId: decision.queueId });
        logger.info('owed callback moved to the fallback queue', { callbackId: id, queueId: decision.queueId });
      } else if (decision.kind === 'expire' && (await store.setStatus(id, 'expired', decision.reason, new Date(now)))) {
        const owed = book.callback(id)?.stored.ownerAgentId;
        book.forgetCallback(id);
        host.milestone(owed && decision.reason !== EXPIRE_MAX_AGE ? 'owed_callback_expired' : 'callback_expired', {
          callbackId: id,
          reason: decision.reason,
        });
        logger.info('callback expired', { callbackId: id, reason: decision.reason });
      }
    } catch (e) {
      logger.warn('time rule could not be applied', { callbackId: id, error: String(e) });
    }
  }
  if (due.length > 0) host.dispatchSoon();
}
