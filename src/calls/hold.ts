import { alreadyExists, isGone } from '../ari/call-control';
import { holdingBridgeIdOf } from './channel-ids';
import { CallerVerb, QueueCaller, QueueCallerAdoption } from './queue-caller';

/**
 * Hold: the caller waits in a holding bridge of its own, with music. The bridge is named after
 * the channel, so a process that adopts the caller after a crash finds and reuses it. Prompts
 * play over the music; it is stopped only while the caller types a number and before the plugin
 * hangs up.
 */
export class Hold implements CallerVerb {
  readonly bridgeId: string;

  constructor(private readonly caller: Pick<QueueCaller, 'ctx' | 'channel' | 'queue' | 'log'>) {
    this.bridgeId = holdingBridgeIdOf(caller.channel.id);
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
      // An adopted caller is already answered: a real Asterisk holds `answer` until the
      // channel's running playback (the old process's offer) ends, so it is never re-sent.
      // The holding bridge and its music are made while the channel is answered: neither needs
      // the caller, so a burst of arrivals waits two round trips before the offer, not four.
      if (adoption?.inHoldingBridge) {
        // Still in its holding bridge: adding it again would make Asterisk take it out and put
        // it back, a break in the music, after waiting behind any prompt still playing. Only the
        // music is started again: the previous process may have stopped it (the caller was
        // typing a number).
        await control.startBridgeMoh(this.bridgeId);
        log.info('adopted caller kept in its holding bridge');
      } else {
        const answered = adoption && channel.state === 'Up' ? Promise.resolve() : control.answer(channel.id);
        const bridgeReady = control
          .createBridge(this.bridgeId, 'holding', `queue ${this.caller.queue.id}`)
          .catch((e: unknown) => {
            if (!alreadyExists(e)) throw e; // the previous process's holding bridge: reused
          })
          .then(() => control.startBridgeMoh(this.bridgeId));
        // Both settle before either's failure is acted on (no request left running unobserved).
        const [a, b] = await Promise.allSettled([answered, bridgeReady]);
        if (a.status === 'rejected') throw a.reason;
        if (b.status === 'rejected') throw b.reason;
        await control.addToBridge(this.bridgeId, [channel.id]);
      }
    } catch (e) {
      if (isGone(e)) return 'caller_gone';
      log.error('could not put the caller on hold; queued anyway', { error: String(e), adopted: adoption !== undefined });
    }
    return 'held';
  }

  musicOn(): Promise<void> {
    return this.caller.ctx.control.startBridgeMoh(this.bridgeId).catch(() => undefined);
  }

  musicOff(): Promise<void> {
    return this.caller.ctx.control.stopBridgeMoh(this.bridgeId).catch(() => undefined);
  }

  /** The caller leaves hold for a conversation; rejects when the bridge could not be destroyed. */
  leave(): Promise<void> {
    return this.caller.ctx.control.destroyBridge(this.bridgeId);
  }

  /** The call is over: the bridge goes (already gone is fine). */
  kill(): Promise<void> {
    return this.caller.ctx.control.destroyBridge(this.bridgeId).catch(() => undefined);
  }
}
