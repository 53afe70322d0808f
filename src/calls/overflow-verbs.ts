import { AriEvent } from '../ari/ari-events';
import { isGone } from '../ari/call-control';
import { QueueConfig } from '../config/config';
import { digitsForSpeech, mayMoveTo, OverflowAction } from '../domain';
import { Logger } from '../logging/logger';
import { QueueExitReason } from '../store/queue-entry-store';
import { CallContext } from './call-context';
import { ownChannelId } from './channel-ids';
import { Leg } from './leg';

/**
 * The overflow actions other than the callback offer, as verbs run for a waiting caller when
 * their step of the overflow ladder is in force: each does one thing and cleans up after itself.
 * They act through the caller's session (OverflowCaller), never on its state. Like every verb
 * (queue-caller.ts's CallerVerb) each has `run` and `kill`: the session kills the running one
 * when the call ends, so an outside number is never left ringing for a caller who is gone.
 */

/** Why a caller's call ends after an overflow action. */
export type OverflowEndReason = 'ended_after_message' | 'continued_to_voicemail' | 'transferred';

/** What a caller's session lends an overflow action. */
export interface OverflowCaller {
  readonly ctx: CallContext;
  readonly channelId: string;
  readonly callerNumber: string;
  readonly queue: QueueConfig;
  readonly language: string;
  readonly log: Logger;
  /** The queues this caller was moved out of. */
  readonly movedFrom: readonly string[];
  playAndWait(media: string[], label: string): Promise<void>;
  /** The caller leaves the queue (dequeued, the stored place closed with the reason). */
  leaveQueue(reason: QueueExitReason): void;
  /** The plugin ends the call (or lets the dialplan go on) with this reason. */
  endCall(why: OverflowEndReason, how: 'hangup' | 'continued'): Promise<void>;
  /** The caller joins another queue, at the place that queue's rules give it. */
  moveTo(queue: QueueConfig): void;
  /** Events of this channel are routed to the caller's session (and on to the action). */
  bindLeg(channelId: string): void;
  unbindLeg(channelId: string): void;
  /** Connect the caller with this answered leg in one mixing bridge, watched until one leaves. */
  connectTo(channelId: string): Promise<boolean>;
  /** The action is stored with the caller's place in the queue (reports). */
  record(action: string, detail: Record<string, unknown>): void;
}

export type ActionResult = 'done' | 'not_applicable';

export interface OverflowVerb {
  readonly kind: OverflowAction['kind'];
  run(): Promise<ActionResult>;
  /** The call is over (or the caller connected): whatever the verb started goes; `run` settles. */
  kill(): Promise<void>;
  /** Events of a leg the verb created. */
  onEvent?(event: AriEvent): void;
}

/** `queue:<id>`: the caller goes on waiting in another queue. */
class MoveToQueue implements OverflowVerb {
  readonly kind = 'queue';
  constructor(
    private readonly caller: OverflowCaller,
    private readonly target: string,
  ) {}

  run(): Promise<ActionResult> {
    const { caller } = this;
    const queue = caller.ctx.queues.config(this.target);
    // Never back into a queue it left: two queues overflowing into each other would bounce it.
    if (!queue || !mayMoveTo(this.target, [...caller.movedFrom, caller.queue.id])) {
      caller.log.warn('overflow: not moving the caller', { to: this.target, movedFrom: caller.movedFrom });
      return Promise.resolve('not_applicable');
    }
    caller.record('moved', { from: caller.queue.id, to: this.target });
    caller.log.info('overflow: caller moved to another queue', { from: caller.queue.id, to: this.target });
    caller.moveTo(queue);
    return Promise.resolve('done');
  }

  /** Nothing outlives it: the move is done at once. */
  kill(): Promise<void> {
    return Promise.resolve();
  }
}

/** `voicemail:<mailbox>`: the call continues in the administrator's dialplan, where app_voicemail records it. */
class ToVoicemail implements OverflowVerb {
  readonly kind = 'voicemail';
  constructor(
    private readonly caller: OverflowCaller,
    private readonly mailbox: string,
  ) {}

  async run(): Promise<ActionResult> {
    const { caller } = this;
    const context = caller.ctx.config.voicemail.context;
    caller.record('voicemail', { mailbox: this.mailbox, context });
    caller.leaveQueue('voicemail');
    caller.log.info('overflow: caller continues to voicemail', { mailbox: this.mailbox, context });
    // Said before the request: the StasisEnd it causes can arrive before its answer.
    await caller.endCall('continued_to_voicemail', 'continued');
    try {
      await caller.ctx.control.continueInDialplan(caller.channelId, { context, extension: this.mailbox, priority: 1 });
    } catch (e) {
      if (!isGone(e)) caller.log.error('could not continue the call to voicemail; ending it', { error: String(e) });
      await caller.endCall('continued_to_voicemail', 'hangup');
    }
    return 'done';
  }

  /** Nothing outlives it: the channel is the dialplan's, or hung up. */
  kill(): Promise<void> {
    return Promise.resolve();
  }
}

/** `message:<sound>`: the caller hears a message (e.g. "we are closed") and the call ends. */
class EndWithMessage implements OverflowVerb {
  readonly kind = 'message';
  constructor(
    private readonly caller: OverflowCaller,
    private readonly sound: string,
  ) {}

  async run(): Promise<ActionResult> {
    const { caller } = this;
    caller.record('message', { sound: this.sound });
    caller.leaveQueue('message');
    await caller.playAndWait([`sound:${this.sound}`], 'overflow-message');
    await caller.endCall('ended_after_message', 'hangup');
    return 'done';
  }

  /** The message is the session's playback, which ends with the call. */
  kill(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * `external:<number>`: the caller is connected to an outside number (the queue's number policy
 * applies, as to callbacks), dialled as callbacks are (callback.dialTemplate, the queue's caller
 * id). The caller keeps its place until the outside number answers; a busy or silent number
 * leaves it waiting. The outside leg is a `Leg`: it is dialled only once in Stasis (a dial sent at
 * the create's answer got 409 "Channel not in Stasis application" on the real Asterisk, and the
 * caller was never connected).
 */
class ToExternalNumber implements OverflowVerb {
  readonly kind = 'external';
  private leg: Leg | undefined;
  private settle: ((r: ActionResult) => void) | undefined;
  private answered = false;
  /** The leg is the caller's session's now (connected): the session hangs it up at the end. */
  private handedOver = false;
  private killed = false;

  constructor(
    private readonly caller: OverflowCaller,
    private readonly number: string,
  ) {}

  async run(): Promise<ActionResult> {
    const { caller } = this;
    const check = caller.ctx.policy.checkTransferNumber(caller.queue, this.number);
    if (!check.ok) {
      caller.log.error('overflow: the external number is refused by the queue number policy; check the config', {
        number: this.number,
        reason: check.reason,
      });
      caller.record('refused', { action: 'external', number: this.number, reason: check.reason });
      return 'not_applicable';
    }
    const leg = new Leg(caller.ctx, ownChannelId('external', caller.ctx.config.ari.app));
    this.leg = leg;
    leg.on('answered', () => this.onAnswered(leg));
    leg.on('gone', (_, cause) => this.onGone(leg, cause));
    caller.bindLeg(leg.channelId);
    const done = new Promise<ActionResult>((resolve) => (this.settle = resolve));
    const cid = caller.queue.outboundCallerId;
    try {
      await leg.create({
        endpoint: caller.ctx.config.callback.dialTemplate.replace('{number}', digitsForSpeech(check.e164)),
        appArgs: ['external', caller.channelId],
        originator: caller.channelId,
        variables: { 'CONNECTEDLINE(num)': cid.number, 'CONNECTEDLINE(name)': cid.name },
      });
      // Killed while Asterisk created the leg: the Leg hangs it up as it comes and never dials it.
      if (this.killed) throw new Error('the caller is gone');
      await leg.dial(caller.ctx.config.callback.customerRingTimeoutSec);
      caller.record('external', { number: check.e164, channelId: leg.channelId });
      caller.log.info('overflow: dialling an outside number for the caller', { number: check.e164 });
    } catch (e) {
      if (!this.killed) caller.log.warn('overflow: the outside number could not be dialled', { number: check.e164, error: String(e) });
      await this.dropLeg();
      this.finish('not_applicable');
    }
    return done;
  }

  onEvent(event: AriEvent): void {
    this.leg?.onEvent(event);
  }

  private onAnswered(leg: Leg): void {
    if (this.answered || this.leg !== leg) return;
    this.answered = true;
    void this.caller.connectTo(leg.channelId).then((ok) => {
      this.handedOver = ok;
      if (ok) this.caller.leaveQueue('external');
      this.finish(ok ? 'done' : 'not_applicable');
    });
  }

  private onGone(leg: Leg, cause: number | undefined): void {
    if (this.answered || this.leg !== leg) return;
    this.caller.log.info('overflow: the outside number did not answer; the caller waits on', { cause });
    this.leg = undefined;
    this.caller.unbindLeg(leg.channelId);
    this.finish('not_applicable');
  }

  /** The caller is gone (or taken): an outside number still ringing, or answered and not yet connected, is hung up. */
  async kill(): Promise<void> {
    this.killed = true;
    if (!this.handedOver) await this.dropLeg();
    this.finish('not_applicable');
  }

  private async dropLeg(): Promise<void> {
    const leg = this.leg;
    if (leg === undefined) return;
    this.leg = undefined;
    this.caller.unbindLeg(leg.channelId);
    await leg.hangup();
  }

  private finish(r: ActionResult): void {
    const s = this.settle;
    this.settle = undefined;
    s?.(r);
  }
}

export function overflowVerb(caller: OverflowCaller, action: Exclude<OverflowAction, { kind: 'callback' }>): OverflowVerb {
  switch (action.kind) {
    case 'queue':
      return new MoveToQueue(caller, action.queueId);
    case 'voicemail':
      return new ToVoicemail(caller, action.mailbox);
    case 'message':
      return new EndWithMessage(caller, action.sound);
    case 'external':
      return new ToExternalNumber(caller, action.number);
  }
}
