import { AriChannel, AriEvent } from '../ari/ari-events';
import { alreadyExists } from '../ari/call-control';
import { QueueConfig } from '../config/config';
import { callerPriority, WorkItem } from '../domain';
import { Logger, callLogger } from '../logging/logger';
import { StoredCallback } from '../store/callback-store';
import { QueueExitReason } from '../store/queue-entry-store';
import { AgentConnection } from './agent-connection';
import { CallContext, ChannelSession } from './call-context';
import { CallerWait } from './caller-wait';
import { Hold } from './hold';
import { OverflowEndReason } from './overflow-verbs';
import { ChannelPlaybacks } from './playback';
import { promptLanguageFor } from './prompts';
import { CallerEndReason, QueueCaller, QueueCallerAdoption } from './queue-caller';
import { QueueCallerState, QueueCallerStates, QueueCallerStep } from './queue-caller-states';
import { QueuePlace } from './queue-place';

export type { CallerEndReason, QueueCallerAdoption } from './queue-caller';

/** The states in which a caller is in the queue but busy with something else than waiting. */
const BUSY_ELSEWHERE: ReadonlySet<QueueCallerState> = new Set(['entering_number', 'storing', 'overflowing']);

/**
 * A live caller in one of our queues, from StasisStart to the end of the call. The session keeps
 * the caller's membership of the queue, the connection to an agent when the caller's turn comes,
 * and the end; the caller's time in between is filled by verbs (Hold, and CallerWait's Announce,
 * OfferCallback and overflow verbs), which act on the call through the QueueCaller port and are
 * killed when the call ends. The state moves only by the table in queue-caller-states.ts. Owns
 * the caller's channel and, while connecting, the agent's or the outside number's channel.
 */
export class QueueCallerSession implements ChannelSession, QueueCaller {
  readonly kind = 'queue-caller';
  private readonly states = new QueueCallerStates();
  readonly log: Logger;
  item: WorkItem;
  seqIsShared = false;
  readonly callerNumber: string;
  /** What every prompt of this call plays in, and what a callback booked here is stored with. */
  readonly language: string;
  readonly playbacks: ChannelPlaybacks;
  readonly hold: Hold;
  readonly wait: CallerWait;
  /** The queues this caller was moved out of by overflow verbs. */
  readonly movedFrom: string[] = [];
  private readonly place: QueuePlace;
  /** Set when the plugin ends the call itself (then StasisEnd is not the caller hanging up). */
  private endedBy: CallerEndReason | undefined;
  /** An outside number the caller was connected to (overflow verb `external`). */
  private transferLeg: string | undefined;
  /** When the caller first queued (kept for reports when an overflow verb moves it on). */
  private firstArrivedAt: number | undefined;
  private readonly agent: AgentConnection;
  private mixingBridgeId: string | undefined;
  private convertedToCallback = false;

  constructor(
    readonly ctx: CallContext,
    readonly channel: AriChannel,
    public queue: QueueConfig,
    readonly routeId: string | undefined,
    seq: number,
    /**
     * A caller a previous process left in Stasis (after a crash or a takeover). Its channel is
     * already answered; nothing may wait behind the old process's prompt (see Hold.run).
     */
    private readonly adoption?: QueueCallerAdoption,
  ) {
    const now = ctx.clock.now();
    this.callerNumber = channel.caller.number;
    this.language = promptLanguageFor(channel.language, queue);
    this.item = { id: channel.id, queueId: queue.id, kind: 'caller', priority: queue.priority, arrivedAt: adoption?.arrivedAt ?? now, seq };
    this.playbacks = new ChannelPlaybacks(ctx, channel.id);
    this.log = callLogger(ctx.logger, { callId: channel.id, kind: this.kind, queueId: queue.id, callerNumber: channel.caller.number });
    this.place = new QueuePlace(ctx.places);
    this.hold = new Hold(this);
    this.wait = new CallerWait(this, now);
    this.agent = new AgentConnection(this);
  }

  get state(): QueueCallerState {
    return this.states.state;
  }

  step(step: QueueCallerStep): boolean {
    const was = this.states.state;
    if (!this.states.step(step)) return false;
    // Passed over by dispatch while busy elsewhere (readyForAgent): back to waiting, it may take
    // an agent who freed up meanwhile.
    if (this.states.state === 'waiting' && BUSY_ELSEWHERE.has(was)) this.ctx.queues.dispatchSoon();
    return true;
  }

  /**
   * Dispatch offers an agent only to a caller who is waiting (not entering a number, storing, in
   * an overflow verb, or being put back in its holding bridge after a refusal: Hold.retrying).
   */
  get readyForAgent(): boolean {
    return this.states.state === 'waiting' && !this.hold.retrying;
  }

  get itemId(): string {
    return this.item.id;
  }

  get channelId(): string {
    return this.channel.id;
  }

  async start(): Promise<void> {
    this.ctx.bind(this.channel.id, this);
    // The place is stored while the caller is put on hold (no wait on the caller's side); an
    // adopted caller gets its stored place back.
    const storing = this.ctx.places.store({
      channel: this.channel,
      queueId: this.queue.id,
      priority: this.item.priority,
      arrivedAt: this.item.arrivedAt,
      routeId: this.routeId,
    });
    if ((await this.hold.run(this.adoption)) === 'caller_gone') {
      await this.end('caller_gone');
      return;
    }
    const stored = await this.place.stored(storing, this.log);
    if (stored) {
      // The database's arrival and seq, shared by every instance.
      this.item = { ...this.item, arrivedAt: stored.arrivedAt, seq: stored.seq };
      this.seqIsShared = true;
    }
    if (!this.step('queued')) return; // hung up meanwhile
    this.ctx.queues.enqueue(this.item);
    const position = this.ctx.queues.position(this.item);
    this.ctx.milestone('caller_entered', { channelId: this.channel.id, queueId: this.queue.id, position });
    this.log.info(this.adoption ? 'caller adopted at its place' : 'caller queued', {
      position,
      routeId: this.routeId,
    });
    this.wait.next();
    this.ctx.queues.dispatchSoon();
  }

  onEvent(event: AriEvent): void {
    this.playbacks.onEvent(event);
    const mine = 'channel' in event && event.channel.id === this.channel.id;
    const other = 'channel' in event ? event.channel.id : undefined;
    // The outside number of an `external` overflow verb: the verb's while it rings, then the call.
    if (other !== undefined && !mine && other.startsWith('external-')) {
      if (this.transferLeg === other) {
        if (event.type === 'ChannelDestroyed' || event.type === 'StasisEnd') void this.end('transferred');
        return;
      }
      this.wait.onOverflowLegEvent(event);
      return;
    }
    const isAgentLeg = other !== undefined && other === this.agent.legId;
    switch (event.type) {
      case 'ChannelDtmfReceived':
        if (mine) void this.wait.offer.onDigit(event.digit);
        else if (isAgentLeg) this.log.debug('agent digit ignored', { digit: event.digit });
        return;
      case 'PlaybackFinished':
        this.wait.onPlaybackFinished(event.playback.id);
        return;
      case 'ChannelHangupRequest':
      case 'StasisEnd':
        if (mine) {
          // Who ended it: the plugin (after a confirmation or a message), or else the caller.
          void this.end(this.endedBy ?? 'caller_hung_up');
          return;
        }
        if (isAgentLeg) void this.agent.onGone(undefined);
        return;
      case 'ChannelDestroyed':
        if (isAgentLeg) void this.agent.onGone(event.cause);
        return;
      case 'StasisStart':
        if (isAgentLeg) void this.agent.onAnswered();
        return;
      default:
        return;
    }
  }

  // ---- what the verbs may do with the caller (QueueCaller) --------------------------------

  async playAndWait(media: string[], label: string): Promise<void> {
    const playback = await this.playbacks.play(media, this.language);
    const how = await playback.ended;
    if (how === 'failed' && this.state !== 'ended') this.log.warn('playback failed', { label });
  }

  async hangupCaller(why: CallerEndReason): Promise<void> {
    if (this.state === 'ended') return;
    this.endedBy ??= why;
    await this.ctx.control.hangup(this.channel.id, 'normal').catch(() => undefined);
    // StasisEnd follows and ends the session; end() is idempotent.
  }

  async endCall(why: OverflowEndReason, how: 'hangup' | 'continued'): Promise<void> {
    this.endedBy ??= why;
    if (how === 'hangup') await this.ctx.control.hangup(this.channel.id, 'normal').catch(() => undefined);
    // StasisEnd follows (hang-up, or the dialplan taking the channel back) and ends the session.
  }

  leaveQueue(reason: QueueExitReason): void {
    this.ctx.queues.dequeue(this.item.id);
    this.place.close(reason);
  }

  leaveForCallback(stored: StoredCallback): number | undefined {
    this.convertedToCallback = true;
    this.place.close('callback_booked', stored.id);
    return this.ctx.queues.convertToCallback(this.item, stored);
  }

  leaveForEarlierCallback(callbackId: string): void {
    this.ctx.queues.dequeue(this.item.id);
    this.convertedToCallback = true;
    this.place.close('callback_booked', callbackId);
  }

  record(action: string, detail: Record<string, unknown>): void {
    this.place.record(action, detail);
  }

  bindLeg(channelId: string): void {
    this.ctx.bind(channelId, this);
  }

  unbindLeg(channelId: string): void {
    this.ctx.unbind(channelId);
  }

  /** Overflow verb `queue:<id>`: the caller waits on in another queue, at the place its rules give. */
  moveTo(queue: QueueConfig): void {
    const now = this.ctx.clock.now();
    const first = { queueId: this.movedFrom[0] ?? this.queue.id, arrivedAt: this.firstArrivedAt ?? this.item.arrivedAt };
    this.firstArrivedAt = first.arrivedAt;
    this.movedFrom.push(this.queue.id);
    const { openEntryId, visit } = this.place.startVisit();
    const from = this.item;
    this.queue = queue;
    this.wait.moved(queue, now);
    // The route's priority follows the caller into the new queue (it replaces the queue's, as on entry).
    const priority = callerPriority(queue.priority, this.routeId ? this.ctx.config.routes[this.routeId]?.priority : undefined);
    this.item = { ...this.item, queueId: queue.id, priority, arrivedAt: now, seq: this.item.seq };
    this.seqIsShared = false;
    this.ctx.queues.moveCaller(from, this.item);
    this.step('overflow_done');
    this.ctx.milestone('caller_moved', { channelId: this.channel.id, to: queue.id, from: this.movedFrom[this.movedFrom.length - 1] });
    void this.ctx.places
      .move(openEntryId, {
        channel: this.channel,
        queueId: queue.id,
        priority,
        arrivedAt: now,
        routeId: this.routeId,
        first,
      })
      .then((p) => {
        if (p) this.place.joinedQueue(p.entryId, visit);
      });
    this.wait.next();
  }

  /** Overflow verb `external`: the caller and the answered outside number in one mixing bridge. */
  async connectTo(legId: string): Promise<boolean> {
    // While overflowing, neither an agent nor press 1 can take the caller (the table refuses).
    if (this.state !== 'overflowing') {
      await this.ctx.control.hangup(legId).catch(() => undefined);
      return false;
    }
    await this.wait.stopPrompts();
    let bridged = true;
    await this.intoMixingBridge(legId, 'transfer').catch((e: unknown) => {
      bridged = false;
      this.log.warn('could not connect the caller to the outside number', { error: String(e) });
    });
    // Not bridged (the caller is still on hold), or the caller hung up meanwhile: the outside number is let go.
    if (!bridged || !this.step('transferred')) {
      await Promise.all([this.ctx.control.hangup(legId).catch(() => undefined), bridged ? undefined : this.dropMixingBridge()]);
      return false;
    }
    this.transferLeg = legId;
    this.ctx.milestone('caller_transferred', { channelId: this.channel.id, legId });
    this.log.info('caller connected to an outside number');
    return true;
  }

  // ---- connecting a live caller to an agent ---------------------------------------------

  /** Called by dispatch: this caller is at the head and `agentId` is free. */
  connectToAgent(agentId: string): Promise<void> {
    return this.agent.ring(agentId);
  }

  /** The caller leaves hold for one mixing bridge with `legId` (an agent, or an outside number). */
  async intoMixingBridge(legId: string, purpose: 'call' | 'transfer'): Promise<void> {
    const bridgeId = `call-${this.channel.id}`;
    this.mixingBridgeId = bridgeId;
    await this.ctx.control.createBridge(bridgeId, 'mixing', `queue ${this.queue.id} ${purpose}`).catch((e: unknown) => {
      if (!alreadyExists(e)) throw e; // made by a try before this one
    });
    // addChannel takes the caller out of its holding bridge: until it is done, the caller is on hold.
    await this.ctx.control.addToBridge(bridgeId, [this.channel.id, legId]);
    await this.hold.leave().catch(() => undefined);
  }

  async dropMixingBridge(): Promise<void> {
    const bridgeId = this.mixingBridgeId;
    this.mixingBridgeId = undefined;
    if (bridgeId) await this.ctx.control.destroyBridge(bridgeId).catch(() => undefined);
  }

  // ---- the end ----------------------------------------------------------------------------

  async end(reason: CallerEndReason): Promise<void> {
    const previous = this.state;
    if (!this.step('end')) return;
    // The channel is gone or about to be hung up: its playbacks end with it (no stop is sent).
    this.playbacks.settleAll();
    // Every verb goes with the call: no timer, no prompt, no outside leg ringing on.
    const verbsKilled = this.wait.kill();
    if (!this.convertedToCallback) this.ctx.queues.dequeue(this.item.id);
    const callerLeft = reason === 'caller_hung_up' || reason === 'caller_gone';
    this.place.close(callerLeft ? 'caller_hung_up' : 'ended_by_plugin');
    this.ctx.queues.releaseFromService(this.item.id);
    this.ctx.unbind(this.channel.id);
    this.log.info('caller session ended', { reason, state: previous });
    this.ctx.milestone('caller_left', { channelId: this.channel.id, reason, convertedToCallback: this.convertedToCallback });
    const { control } = this.ctx;
    // Hung up already by the caller, or by the plugin; else the plugin ends the call now.
    if (!callerLeft && this.endedBy === undefined) await control.hangup(this.channel.id).catch(() => undefined);
    if (this.transferLeg) {
      const t = this.transferLeg;
      this.transferLeg = undefined;
      this.ctx.unbind(t);
      await control.hangup(t).catch(() => undefined);
    }
    await this.agent.end(previous);
    await verbsKilled;
    await this.hold.kill();
    if (this.mixingBridgeId) await control.destroyBridge(this.mixingBridgeId).catch(() => undefined);
    this.ctx.queues.dispatchSoon();
  }
}
