import { AriChannel } from '../ari/ari-events';
import { QueueConfig } from '../config/config';
import { StoredCallback } from '../store/callback-store';
import { CallContext } from '../calls/call-context';
import { PreviewCallSession } from '../calls/preview-call-session';
import { CustomerFirstSession } from '../calls/customer-first-session';
import { checkBeforeAttempt, failIfNumberRefused } from './number-gate';
import { CallbackEntry, QueueBook } from './queue-book';

/**
 * The callback attempts this process runs: started when dispatch chooses a callback for an agent,
 * taken up again after a restart, and settled in the queue when they end. Agent-first attempts
 * (preview calls) are kept by callback id, since the agent panel acts on them.
 */
export class RunningAttempts {
  private readonly previews = new Map<string, PreviewCallSession>();

  constructor(
    private readonly ctx: CallContext,
    private readonly book: QueueBook,
  ) {}

  /** Dispatch chose this callback for this agent: its attempt starts, by the queue's mode. */
  start(entry: CallbackEntry, queue: QueueConfig, agentId: string): void {
    // Every attempt, the first, a retry or a rescheduled one, passes the number gate before anyone is rung.
    const gate = checkBeforeAttempt(queue, entry.stored.customerNumber);
    if (!gate.ok) {
      void this.refuseNumber(entry.stored, queue, agentId, gate.reason);
      return;
    }
    if (queue.mode === 'customer-first') {
      void new CustomerFirstSession(this.ctx, entry.stored, queue, agentId).start();
      return;
    }
    const preview = new PreviewCallSession(this.ctx, entry.stored, queue, agentId);
    this.previews.set(entry.stored.id, preview);
    void preview.start();
  }

  /**
   * An agent-first attempt a previous process left after the agent's 1 (agent leg answered,
   * customer leg dialled, not yet bridged): taken up where it was, so that a customer who answers
   * is connected and never dialled again for it. False when it cannot be (the attempt is over,
   * another instance has reclaimed it, the queue or agent is gone): the reconciler then hangs both
   * legs up and the lease expiry settles the attempt.
   */
  async resumePreview(agentLeg: AriChannel, customerLeg: AriChannel, callbackId: string): Promise<boolean> {
    const { ctx } = this;
    const stored = await ctx.store.get(callbackId);
    if (!stored || stored.status !== 'in_progress') return false;
    const attempt = (await ctx.store.attempts(callbackId)).find(
      (a) => a.endedAt === null && a.agentChannelId === agentLeg.id && a.customerChannelId === customerLeg.id,
    );
    const queue = this.book.queue(stored.queueId)?.config;
    if (!attempt || !queue || queue.mode === 'customer-first' || !ctx.agents.get(attempt.agentId)) return false;
    const resumed = await ctx.store.resumeAttempt({
      callbackId,
      attemptNo: attempt.attemptNo,
      instanceId: ctx.config.instanceId,
      leaseMs: ctx.config.callback.leaseSec * 1000,
      now: new Date(ctx.clock.now()),
    });
    if (!resumed) return false;
    ctx.agents.busy(attempt.agentId);
    if (!this.book.callback(callbackId)) this.book.addCallback(resumed);
    const entry = this.book.callback(callbackId);
    if (entry) {
      entry.stored = resumed;
      entry.pending.inFlight = true; // dispatch and the store sync leave it to the session
    }
    const session = new PreviewCallSession(ctx, resumed, queue, attempt.agentId, {
      attempt,
      agentChannelId: agentLeg.id,
      customerChannelId: customerLeg.id,
    });
    this.previews.set(callbackId, session);
    await session.resume(customerLeg.state === 'Up');
    return true;
  }

  /** An attempt ended: the callback is back in its queue (pending), asked about again, or gone. */
  ended(stored: StoredCallback): void {
    const entry = this.book.callback(stored.id);
    this.previews.delete(stored.id);
    if (!entry) return;
    entry.pending.inFlight = false;
    if (stored.status === 'pending') {
      entry.stored = stored;
      entry.pending.notBefore = stored.notBefore?.getTime();
    } else if (stored.status === 'cancelled' || stored.status === 'in_progress') {
      // Could not be claimed (someone else holds it, or it is no longer open), or its end was
      // not this process's to write (claimed again meanwhile): ask the store. Not offered again
      // until the store has answered: dispatch took an agent for it and let go, again and again,
      // while the read was on its way (the fuzzer: an agent held for a plugin call).
      entry.pending.notBefore = this.ctx.clock.now() + 1000;
      void this.refresh(stored.id);
    } else {
      this.book.forgetCallback(stored.id);
    }
    this.ctx.queues.dispatchSoon();
  }

  /**
   * The queue's policy refuses the callback's number: nobody is rung, the callback fails (never
   * retried). When the database cannot record that, it waits a minute and is refused again.
   */
  private async refuseNumber(stored: StoredCallback, queue: QueueConfig, agentId: string, reason: string): Promise<void> {
    const { ctx } = this;
    const now = ctx.clock.now();
    ctx.agents.release(agentId, { talked: false });
    ctx.milestone('callback_attempt_failed', { callbackId: stored.id, outcome: 'number_refused', reason });
    try {
      const failed = await failIfNumberRefused(ctx.store, queue, stored, new Date(now), ctx.logger);
      this.ended({ ...stored, status: failed ? 'failed' : 'cancelled' });
    } catch (e) {
      ctx.logger.warn('refused callback could not be failed (database); asked again in a minute', {
        callbackId: stored.id,
        error: String(e),
      });
      this.ended({ ...stored, status: 'pending', notBefore: new Date(now + 60_000) });
    }
  }

  /** The preview call an agent is in right now, if any. */
  activePreviewOf(agentId: string): PreviewCallSession | undefined {
    for (const p of this.previews.values()) if (p.agent === agentId && p.isPreviewing) return p;
    return undefined;
  }

  previewFor(callbackId: string): PreviewCallSession | undefined {
    return this.previews.get(callbackId);
  }

  private async refresh(id: string): Promise<void> {
    const entry = this.book.callback(id);
    if (!entry) return;
    const { store, clock } = this.ctx;
    const read = await store.get(id).then(
      (row) => ({ ok: true as const, row }),
      () => ({ ok: false as const }),
    );
    if (!read.ok) {
      // The database did not answer: kept, and asked again at its next turn (its claim is the
      // test). Forgotten here, an open callback would wait for good: the store sync reads only
      // rows changed lately.
      entry.pending.notBefore = clock.now() + 1000;
      return;
    }
    const fresh = read.row;
    if (fresh && (fresh.status === 'pending' || fresh.status === 'in_progress')) {
      entry.stored = fresh;
      entry.pending.notBefore =
        fresh.status === 'in_progress' ? (fresh.claimExpiresAt?.getTime() ?? clock.now() + 5000) : clock.now() + 1000;
      return;
    }
    this.book.forgetCallback(id);
  }
}
