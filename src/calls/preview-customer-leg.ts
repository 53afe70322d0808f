import { AriEvent } from '../ari/ari-events';
import { QueueConfig } from '../config/config';
import { TimerHandle } from '../domain';
import { decideGuard, GuardDecision } from '../domain/policies';
import { CallContext } from './call-context';
import { gatedEndpoint, NumberRefusedAtDial } from './dial-gate';
import { Leg } from './leg';
import { watchRingingLeg } from './callback-attempt';
import { ChannelPlaybacks, Playback } from './playback';
import { PROMPTS } from './prompts';

/**
 * The customer's leg of a preview call: created and dialled only after the agent's 1 is
 * recorded, and, when the queue asks for it, guarded by "press 1 to be connected" once answered
 * (an answering machine never presses 1). The session decides what each step means; the leg
 * knows how far its channel got and makes its requests.
 */
export class PreviewCustomerLeg {
  /** How far the channel got; it dials only once the channel is in Stasis. */
  readonly leg: Leg;
  /** What the leg dials (set once the number passed the gate). */
  endpoint: string | undefined;
  private guardTimer: TimerHandle | undefined;
  private guardPlayback: Playback | undefined;
  private guardAnsweredAt = 0;

  constructor(
    private readonly ctx: CallContext,
    readonly channelId: string,
    private readonly queue: QueueConfig,
    private readonly playbacks: ChannelPlaybacks,
  ) {
    this.leg = new Leg(ctx, channelId);
  }

  /** The channel was created: from here on it is hung up at the end, and the attempt counts. */
  get dialled(): boolean {
    return this.leg.exists;
  }

  /**
   * Creates the leg, showing the queue's caller id, and dials it (callback.dialTemplate). A number
   * the queue's policy refuses is never dialled: NumberRefusedAtDial, and no channel exists.
   * `onLostEnd` gets the leg's end if Asterisk no longer has it and its events never came.
   */
  async dial(customerNumber: string, callbackId: string, originator: string, onLostEnd: (event: AriEvent) => void): Promise<void> {
    const gate = gatedEndpoint(this.ctx, this.queue, customerNumber);
    if (!gate.ok) throw new NumberRefusedAtDial(gate.reason);
    const endpoint = (this.endpoint = gate.endpoint);
    const outbound = this.queue.outboundCallerId;
    await this.leg.create({
      endpoint,
      appArgs: ['customer', callbackId],
      originator,
      // On a channel created over ARI only CONNECTEDLINE sets what the customer's phone shows.
      variables: { 'CONNECTEDLINE(num)': outbound.number, 'CONNECTEDLINE(name)': outbound.name, CALLBACK_ID: callbackId },
    });
    const ringSec = this.ctx.config.callback.customerRingTimeoutSec;
    await this.leg.dial(ringSec);
    watchRingingLeg(this.ctx, this.leg, ringSec, this.ctx.logger, onLostEnd);
  }

  /** "Press 1 to be connected"; `onTimeout` runs when no 1 comes in the queue's time. */
  async guard(language: string, onTimeout: () => void): Promise<void> {
    this.guardPlayback = await this.playbacks.play([PROMPTS.guard], language, this.channelId);
    this.guardAnsweredAt = this.ctx.clock.now();
    this.armGuardTimer(this.queue.guard.timeoutSec * 1000, onTimeout);
  }

  /** The guard's rule (src/domain/policies/answering-machine-guard.ts) lets this digit connect. */
  guardPassedBy(digit: string): boolean {
    return this.guardDecision(digit).kind === 'connect';
  }

  clearGuardTimer(): void {
    if (this.guardTimer) this.ctx.clock.clearTimer(this.guardTimer);
    this.guardTimer = undefined;
  }

  /** Resolves when the guard prompt has really ended (the bridge waits behind a playing one). */
  async stopGuardPrompt(): Promise<void> {
    await this.guardPlayback?.stop();
  }

  /** The end of the attempt: a dialled leg that is still there is hung up. */
  async hangup(): Promise<void> {
    await this.leg.hangup();
  }

  private armGuardTimer(ms: number, onTimeout: () => void): void {
    this.guardTimer = this.ctx.clock.setTimer(() => {
      const d = this.guardDecision(undefined);
      // A timer may fire a hair early against the clock: wait out the rest, then decide.
      if (d.kind === 'wait') this.armGuardTimer(Math.max(1, d.untilMs - this.ctx.clock.now()), onTimeout);
      else if (d.kind === 'treat_as_no_answer') onTimeout();
    }, ms);
  }

  private guardDecision(digit: string | undefined): GuardDecision {
    return decideGuard({
      answeredAtMs: this.guardAnsweredAt,
      nowMs: this.ctx.clock.now(),
      timeoutMs: this.queue.guard.timeoutSec * 1000,
      digit,
    });
  }
}
