import { alreadyExists, AriRequestError, isGone } from '../ari/call-control';
import { holdingBridgeIdOf, quietBridgeIdOf } from './channel-ids';
import { HoldingBridges } from './holding-bridges';
import { CallerVerb, QueueCaller, QueueCallerAdoption } from './queue-caller';
import { QueueCallerState } from './queue-caller-states';
import { RefusedRequestRetry } from './refused-request-retry';

/** Where a caller is held in its bridge: before its place is taken, waiting, and while its booking is stored. */
const WAITS_ON_HOLD: ReadonlySet<QueueCallerState> = new Set(['entering', 'waiting', 'storing']);

/** `addChannel` to a bridge that is gone (the caller's own absence is "Channel not found"). */
const bridgeGone = (e: unknown): boolean => e instanceof AriRequestError && /bridge not found/i.test(e.message);

/**
 * A caller Asterisk refused to put in its holding bridge (a 500) is put in again this often, a
 * few times, while it still waits at its place: otherwise it waited without music until an agent
 * took it, hearing only its prompts (the fuzzer: silence while its booking ran).
 */
export const HOLD_RETRY_MS = 500;
const HOLD_RETRIES = 6;

/**
 * Hold: the caller waits in its queue's holding bridge, shared with every caller of the queue this
 * app holds, with music started once on the bridge (HoldingBridges). A prompt is played on the
 * caller's channel: in the bridge it replaces the music for that caller only, and the caller's
 * digits arrive during music and prompt alike (docs/asterisk-facts.md, "One holding bridge
 * shared"). The bridge's music cannot be stopped for one caller, so a caller who types a number is
 * moved to a quiet bridge of its own meanwhile (`quiet`) and back after (`backToMusic`).
 */
export class Hold implements CallerVerb {
  /** The shared bridge this caller is held in: one of its queue's on arrival (an overflow move keeps it there). */
  private bridgeId: string;
  /** The caller's quiet bridge while it types a number. */
  private quietId: string | undefined;
  /** The tries to put a caller Asterisk refused in its bridge, while it waits there. */
  private putBack: RefusedRequestRetry | undefined;

  constructor(private readonly caller: Pick<QueueCaller, 'ctx' | 'channel' | 'queue' | 'log' | 'state'>) {
    this.bridgeId = holdingBridgeIdOf(caller.ctx.config.ari.app, caller.queue.id);
  }

  private get bridges(): HoldingBridges {
    return HoldingBridges.of(this.caller.ctx.control);
  }

  private get name(): string {
    return `queue ${this.caller.queue.id}`;
  }

  /**
   * Answers the caller and puts it on hold. Only a caller who is gone stops the call: a request
   * that timed out or was refused is logged, and the caller is queued as it is (an agent's bridge
   * takes the call either way).
   */
  async run(adoption: QueueCallerAdoption | undefined): Promise<'held' | 'caller_gone'> {
    const { ctx, channel, log } = this.caller;
    const { control } = ctx;
    try {
      if (adoption?.holdingBridgeId !== undefined) {
        // Still in a shared holding bridge: adding it again would make Asterisk take it out and
        // put it back, a break in the music, after waiting behind any prompt still playing. The
        // bridge's music is started once by this process (the previous one may have died first).
        this.bridgeId = adoption.holdingBridgeId;
        const found = await this.bridges.join(this.bridgeId, channel.id, this.name, true).catch((e: unknown) => {
          // Only a bridge found gone is made again; a music request that failed otherwise leaves
          // the caller where it is (the outer catch: queued anyway).
          if (!bridgeGone(e)) throw e;
          this.bridges.forget(this.bridgeId);
          log.warn('the holding bridge of an adopted caller is gone; making it again', { error: String(e) });
          return false;
        });
        if (found) {
          log.info('adopted caller kept in its holding bridge', { bridgeId: this.bridgeId });
          return 'held';
        }
        await this.enter();
        return 'held';
      }
      // An adopted caller is already answered: a real Asterisk holds `answer` until the
      // channel's running playback (the old process's offer) ends, so it is never re-sent.
      // The bridge and its music are made while the channel is answered: neither needs the
      // caller, so a burst of arrivals waits two round trips before the offer, not four.
      const answered = adoption && channel.state === 'Up' ? Promise.resolve() : control.answer(channel.id);
      this.bridgeId = this.bridges.place(ctx.config.ari.app, this.caller.queue.id, channel.id);
      const bridgeReady = this.bridges.join(this.bridgeId, channel.id, this.name);
      // Both settle before either's failure is acted on (no request left running unobserved).
      const [a, b] = await Promise.allSettled([answered, bridgeReady]);
      if (a.status === 'rejected') throw a.reason;
      if (b.status === 'rejected') throw b.reason;
      await this.enter();
    } catch (e) {
      if (isGone(e) && !bridgeGone(e)) return 'caller_gone';
      log.error('could not put the caller on hold; queued anyway, and put on hold again shortly', {
        error: String(e),
        adopted: adoption !== undefined,
      });
      this.enterLater(HOLD_RETRIES);
    }
    return 'held';
  }

  /**
   * A try under way to put a refused caller in its bridge: dispatch passes the caller over
   * meanwhile (readyForAgent), since an add to the holding bridge that landed after the agent's
   * mixing bridge took the caller would take it back out of the conversation.
   */
  get retrying(): boolean {
    return this.putBack?.underWay ?? false;
  }

  /** Into the shared bridge every HOLD_RETRY_MS, while the caller still waits there (not typing, not connected, not gone). */
  private enterLater(tries: number): void {
    const { ctx, log } = this.caller;
    this.putBack?.cancel();
    this.putBack = new RefusedRequestRetry(ctx.clock, {
      everyMs: HOLD_RETRY_MS,
      tries,
      attempt: () => this.enter(),
      wanted: () => WAITS_ON_HOLD.has(this.caller.state) && this.quietId === undefined,
      final: (e) => isGone(e) && !bridgeGone(e),
      onSettled: (outcome, e) => {
        if (outcome === 'done') log.info('caller put on hold after a refusal', { bridgeId: this.bridgeId });
        if (outcome === 'given_up') log.error('could not put the caller on hold; it waits without music', { error: String(e) });
        ctx.queues.dispatchSoon();
      },
    }).startIn(HOLD_RETRY_MS);
  }

  /**
   * While the caller types a number it hears its prompts and silence, not the music: it is moved
   * to a holding bridge of its own without music (the shared bridge's music cannot be stopped for
   * one caller). It stays a member of the shared bridge, which is kept for its return.
   */
  async quiet(): Promise<void> {
    const { control } = this.caller.ctx;
    const id = quietBridgeIdOf(this.caller.channel.id);
    this.quietId = id;
    try {
      await control.createBridge(id, 'holding', `${this.name} typing`).catch((e: unknown) => {
        if (!alreadyExists(e)) throw e;
      });
      await control.addToBridge(id, [this.caller.channel.id]);
    } catch (e) {
      this.caller.log.warn('could not move the typing caller out of the music', { error: String(e) });
    }
  }

  /** The caller is done typing: back in the shared bridge, with the music; its quiet bridge goes. */
  async backToMusic(): Promise<void> {
    const quietId = this.quietId;
    if (quietId === undefined) return;
    this.quietId = undefined;
    await this.enter().catch((e: unknown) => this.caller.log.warn('could not put the caller back on music', { error: String(e) }));
    await this.caller.ctx.control.destroyBridge(quietId).catch(() => undefined);
  }

  /**
   * The caller leaves hold for a conversation (the mixing bridge's `addChannel` takes it out of the
   * holding bridge); the last caller out destroys the shared bridge. Never rejects.
   */
  async leave(): Promise<void> {
    this.putBack?.cancel();
    const quietId = this.quietId;
    this.quietId = undefined;
    await Promise.all([
      this.bridges.leave(this.bridgeId, this.caller.channel.id),
      quietId !== undefined ? this.caller.ctx.control.destroyBridge(quietId).catch(() => undefined) : undefined,
    ]);
  }

  /** The call is over: as leave (a bridge already gone is fine). */
  kill(): Promise<void> {
    return this.leave();
  }

  /** Into the shared bridge (moving the caller out of any other); made again once if found gone. */
  private async enter(): Promise<void> {
    const { control } = this.caller.ctx;
    const channelId = this.caller.channel.id;
    try {
      await control.addToBridge(this.bridgeId, [channelId]);
    } catch (e) {
      if (!bridgeGone(e)) throw e;
      this.bridges.forget(this.bridgeId);
      await this.bridges.join(this.bridgeId, channelId, this.name);
      await control.addToBridge(this.bridgeId, [channelId]);
    }
  }
}
