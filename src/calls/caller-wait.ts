import { AriEvent } from '../ari/ari-events';
import { QueueConfig } from '../config/config';
import { ActionInForce, TimerHandle } from '../domain';
import { Announce } from './announce';
import { OfferCallback } from './offer-callback';
import { overflowVerb, OverflowVerb } from './overflow-verbs';
import { CallerVerb, QueueCaller } from './queue-caller';

/** While waiting, the overflow ladder is looked at again at least this often (waits grow, queues change). */
const OVERFLOW_RECHECK_MS = 5000;
/** An overflow step that could not apply is not tried again for this long. */
const STEP_RETRY_MS = 60_000;

/**
 * A waiting caller's time, one verb at a time. What the caller hears next is decided again
 * whenever something changes (a prompt ended, a timer fired, the caller moved): the overflow verb
 * in force (another queue, an outside number, voicemail, a message) runs at once; else a due
 * Announce; else OfferCallback on its schedule. One prompt at a time: an announcement never plays
 * over the offer, nor the offer over an announcement. The caller stays on Hold throughout.
 */
export class CallerWait implements CallerVerb {
  readonly announce: Announce;
  readonly offer: OfferCallback;
  private timer: TimerHandle | undefined;
  /** The overflow verb running now. */
  private overflow: OverflowVerb | undefined;
  /** Overflow steps that could not apply (e.g. an outside number that did not answer): not again before. */
  private readonly stepsBlocked = new Map<number, number>();

  constructor(
    private readonly caller: QueueCaller,
    arrivedAt: number,
  ) {
    this.announce = new Announce(caller);
    this.offer = new OfferCallback(caller, arrivedAt);
  }

  next(): void {
    const { caller } = this;
    const { ctx } = caller;
    this.pause();
    if (caller.state !== 'waiting' || this.offer.playing || this.announce.playing) return;
    const now = ctx.clock.now();
    const inForce = this.actionInForce(now);
    if (inForce && inForce.action.kind !== 'callback') {
      void this.runOverflow(inForce);
      return;
    }
    const position = ctx.queues.position(caller.item) ?? 1;
    let next = now + OVERFLOW_RECHECK_MS;
    const announce = this.announce.decide(this.offer.enteredAt, now);
    if (announce.kind === 'now') {
      void this.announce.run(position);
      return;
    }
    if (announce.kind === 'wait') next = Math.min(next, announce.untilMs);
    if (this.offer.canOffer) {
      const decision = this.offer.decide(now, position, inForce?.action.kind === 'callback');
      if (decision.kind === 'offer_now') {
        void this.offer.run(inForce);
        return;
      }
      if (decision.kind === 'wait') next = Math.min(next, decision.untilMs);
    }
    this.timer = ctx.clock.setTimer(() => this.next(), Math.max(1, next - now));
  }

  /** Nothing is scheduled until next() is called again. */
  pause(): void {
    if (this.timer) this.caller.ctx.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** The offer and the announcement are stopped together (already finished is fine). */
  async stopPrompts(): Promise<void> {
    await Promise.all([this.offer.stop(), this.announce.stop()]);
  }

  onPlaybackFinished(playbackId: string): void {
    if (!this.offer.isMine(playbackId) && !this.announce.isMine(playbackId)) return;
    this.offer.forget();
    this.announce.forget();
    if (this.caller.state === 'waiting') this.next();
  }

  /** An event of a leg the running overflow verb created. */
  onOverflowLegEvent(event: AriEvent): void {
    this.overflow?.onEvent?.(event);
  }

  /** The caller moved to another queue: every schedule starts again, by that queue's rules. */
  moved(queue: QueueConfig, now: number): void {
    this.offer.reset(queue, now);
    this.announce.reset(queue);
    this.stepsBlocked.clear();
  }

  /**
   * The caller is connected, or the call is over: every verb is killed (no more offers, no
   * prompt, no outside number left ringing) and nothing is scheduled.
   */
  async kill(): Promise<void> {
    this.pause();
    const overflow = this.overflow;
    this.overflow = undefined;
    await Promise.all([this.offer.kill(), this.announce.kill(), overflow?.kill()]);
  }

  /** The overflow step in force now, minus steps that could not apply a moment ago. */
  private actionInForce(now: number): ActionInForce | undefined {
    const inForce = this.caller.ctx.policy.overflowAction(this.caller.item, this.caller.routeId, (now - this.offer.enteredAt) / 1000);
    if (inForce && (this.stepsBlocked.get(inForce.index) ?? 0) > now) return inForce.action.kind === 'callback' ? inForce : undefined;
    return inForce;
  }

  private async runOverflow(inForce: ActionInForce): Promise<void> {
    const { caller } = this;
    if (inForce.action.kind === 'callback' || !caller.step('overflow')) return;
    const verb = overflowVerb(caller, inForce.action);
    this.overflow = verb;
    caller.log.info('overflow action in force', { action: inForce.action.kind, reasons: inForce.reasons });
    const result = await verb.run();
    if (this.overflow === verb) this.overflow = undefined;
    if (result === 'not_applicable') {
      this.stepsBlocked.set(inForce.index, caller.ctx.clock.now() + STEP_RETRY_MS);
      if (caller.step('overflow_done')) this.next();
    }
  }
}
