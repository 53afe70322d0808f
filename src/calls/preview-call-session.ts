import { randomUUID } from 'node:crypto';
import { AriEvent, HANGUP_CAUSE } from '../ari/ari-events';
import { QueueConfig } from '../config/config';
import { crashPoint } from '../config/crash-points';
import { interpretPreviewDigit, TimerHandle } from '../domain';
import { Logger, callLogger } from '../logging/logger';
import { AttemptRow, StoredCallback } from '../store/callback-store';
import { CallContext, ChannelSession } from './call-context';
import { ChannelPlaybacks } from './playback';
import {
  claimCallback,
  completeAttempt,
  customerLegOutcome,
  endAttempt,
  LeaseKeeper,
  noteAttemptStep,
  waitAtMost,
} from './callback-attempt';
import { ownChannelId } from './channel-ids';
import { PreviewAgentLeg } from './preview-agent-leg';
import { dialFailureOutcome } from './dial-gate';
import { Leg, LegPair, SurvivorHandling } from './leg';
import { PreviewCustomerLeg } from './preview-customer-leg';
import { agentLanguage, PROMPTS, promptLanguageFor } from './prompts';

/** The legs and attempt row of an attempt a previous process started (PreviewCallSession.resume). */
export interface ResumedAttempt {
  attempt: AttemptRow;
  agentChannelId: string;
  customerChannelId: string;
}

/** How long hang-ups wait for the completion to be stored before going ahead (it is still written after). */
const COMPLETION_WAIT_MS = 2000;

type State = 'claiming' | 'ringing_agent' | 'previewing' | 'dialling_customer' | 'guarding' | 'bridged' | 'telling_agent' | 'ended';

/**
 * One attempt to call a customer back, agent first ("preview call"): the agent's phone rings
 * showing the customer; on answer a whisper says who is to be called; on 1 the customer is dialled
 * and both are bridged. Owns the attempt's two legs (PreviewAgentLeg, PreviewCustomerLeg) and
 * decides what each of their steps means for the attempt.
 *
 * Durability: the claim (lease) and attempt row are committed before the agent is rung, and the
 * customer channel id is written before the customer is dialled, so a restart can tell what
 * happened and never dials the same attempt twice.
 */
export class PreviewCallSession implements ChannelSession {
  readonly kind = 'preview-call';
  private state: State = 'claiming';
  private readonly log: Logger;
  private readonly bridgeId = `cb-bridge-${randomUUID()}`;
  private readonly playbacks: ChannelPlaybacks;
  private readonly agentLeg: PreviewAgentLeg;
  private readonly customerLeg: PreviewCustomerLeg;
  private readonly legs: LegPair;
  private attempt: AttemptRow | undefined;
  private callback: StoredCallback;
  private decisionTimer: TimerHandle | undefined;
  private lease: LeaseKeeper | undefined;
  private bridgedAt = 0;
  /** The completion being written since the bridge (retried through a database outage). */
  private completion: Promise<StoredCallback | undefined> | undefined;

  constructor(
    private readonly ctx: CallContext,
    callback: StoredCallback,
    private readonly queue: QueueConfig,
    private readonly agentId: string,
    /** An attempt a previous process left with the customer dialled (see resume()). */
    private readonly resumed?: ResumedAttempt,
  ) {
    this.callback = callback;
    const agentChannelId = resumed?.agentChannelId ?? ownChannelId('cb-agent', ctx.config.ari.app);
    const customerChannelId = resumed?.customerChannelId ?? ownChannelId('cb-customer', ctx.config.ari.app);
    this.playbacks = new ChannelPlaybacks(ctx, agentChannelId);
    this.log = callLogger(ctx.logger, { callId: agentChannelId, kind: this.kind, queueId: callback.queueId, callbackId: callback.id });
    this.agentLeg = new PreviewAgentLeg(ctx, agentChannelId, agentLanguage(ctx.config, agentId), this.playbacks, this.log);
    this.customerLeg = new PreviewCustomerLeg(ctx, customerChannelId, queue, this.playbacks);
    const { leg: agent } = this.agentLeg;
    const { leg: customer } = this.customerLeg;
    // First, so that the rule decides from the state before the session's own handlers run.
    this.legs = new LegPair(agent, customer, (gone, cause) => this.survivorHandling(gone, cause));
    agent.on('answered', () => void this.onAgentAnswered());
    agent.on('gone', (_leg, cause) => void this.onAgentGone(cause));
    customer.on('answered', () => void this.onCustomerAnswered());
    customer.on('gone', (_leg, cause) => void this.onCustomerGone(cause));
  }

  get callbackId(): string {
    return this.callback.id;
  }

  get agent(): string {
    return this.agentId;
  }

  /** The agent has answered and not yet accepted or skipped. */
  get isPreviewing(): boolean {
    return this.state === 'previewing';
  }

  /** What the agent panel shows about the customer. */
  get customer(): StoredCallback {
    return this.callback;
  }

  async start(): Promise<void> {
    const { ctx } = this;
    const agent = ctx.agents.get(this.agentId);
    if (!agent) return this.abandon('agent_unknown');
    const claimed = await claimCallback(ctx, this.callback, this.agentId, this.agentLeg.channelId, this.log);
    if (!claimed) {
      this.log.info('callback already claimed elsewhere or no longer pending');
      return this.abandon('not_claimable');
    }
    this.callback = claimed.callback;
    crashPoint('preview.after_claim');
    this.own(claimed.attempt);
    this.state = 'ringing_agent';
    try {
      await this.agentLeg.originate(agent.endpoint, this.callback, (e) => this.onEvent(e));
      crashPoint('preview.after_agent_originate');
      ctx.milestone('agent_leg_originated', { callbackId: this.callback.id, agentId: this.agentId, channelId: this.agentLeg.channelId });
      this.log.info('agent leg originated', { agentId: this.agentId });
    } catch (e) {
      this.log.warn('agent leg could not be originated', { agentId: this.agentId, error: String(e) });
      await this.finish('agent_unreachable');
    }
  }

  /**
   * Takes up an attempt a previous process left after the agent's 1 (lease already this process's,
   * old prompts stopped): a customer still ringing is waited for; one who answered hears the
   * guard's "press 1" (or is bridged), so an answered customer is never dialled again.
   */
  async resume(customerAnswered: boolean): Promise<void> {
    if (!this.resumed || this.state !== 'claiming') return;
    this.own(this.resumed.attempt);
    this.state = 'dialling_customer';
    this.agentLeg.leg.adopt('answered');
    this.customerLeg.leg.adopt(customerAnswered ? 'answered' : 'dialling');
    this.log.info('callback attempt resumed after a restart', { agentId: this.agentId, customerAnswered });
    if (customerAnswered) await this.onCustomerAnswered();
  }

  /** The attempt is this process's: its lease is kept and both legs' events come here. */
  private own(attempt: AttemptRow): void {
    this.attempt = attempt;
    this.lease = new LeaseKeeper(this.ctx, this.callback.id, this.log, attempt.attemptNo);
    this.lease.start();
    this.ctx.bind(this.agentLeg.channelId, this);
    this.ctx.bind(this.customerLeg.channelId, this);
  }

  /** Each leg takes its channel's events (and tells the session through its listeners); the keys are the session's. */
  onEvent(event: AriEvent): void {
    this.playbacks.onEvent(event);
    if (this.agentLeg.leg.onEvent(event)) {
      if (event.type === 'ChannelDtmfReceived') void this.onAgentDigit(event.digit);
    } else if (this.customerLeg.leg.onEvent(event)) {
      if (event.type === 'ChannelDtmfReceived' && this.state === 'guarding' && this.customerLeg.guardPassedBy(event.digit))
        void this.onGuardPassed();
    }
  }

  // ---- agent side -------------------------------------------------------------------------

  private async onAgentAnswered(): Promise<void> {
    if (this.state !== 'ringing_agent' || !this.attempt) return;
    this.state = 'previewing';
    crashPoint('preview.after_agent_answer');
    this.ctx.milestone('agent_leg_answered', { callbackId: this.callback.id, agentId: this.agentId });
    // The whisper never waits for the history write (a slow database meant 2.5 s of dead air).
    const noted = noteAttemptStep(this.ctx, this.log, this.attempt, this.callback.id, 'agent_answered', { agentId: this.agentId });
    await Promise.all([noted, this.agentLeg.whisper(this.callback, this.queue)]);
    // No decision in time counts as a skip: the callback must not stall on an absent agent.
    this.decisionTimer = this.ctx.clock.setTimer(
      () => void this.decline('agent_no_decision'),
      this.ctx.config.callback.previewDecisionSec * 1000,
    );
  }

  private async onAgentDigit(digit: string): Promise<void> {
    if (this.state !== 'previewing') return;
    const action = interpretPreviewDigit(digit);
    if (action === 'accept') await this.accept();
    else if (action === 'skip') await this.decline('agent_declined');
  }

  /** The agent accepted (phone key 1 or the web panel). */
  async accept(): Promise<boolean> {
    if (this.state !== 'previewing' || !this.attempt) return false;
    this.state = 'dialling_customer';
    this.clearDecisionTimer();
    this.ctx.milestone('agent_accepted', { callbackId: this.callback.id, agentId: this.agentId });
    this.log.info('agent accepted; dialling customer');
    crashPoint('preview.after_accept');
    // The agent hears ringing from the 1 on, and the whisper stops, while the dial is recorded:
    // both requests go out now and run alongside the write. The customer leg is created and
    // dialled only after the write has committed (and after both are answered, so a late ring
    // can never arrive after the bridge's ring stop).
    const whisperStopped = this.agentLeg.stopWhisper();
    const ringing = this.agentLeg.ring();
    try {
      // One statement for both steps. Written before dialling: after a crash this attempt is
      // known to have called the customer, and is never dialled again.
      await this.ctx.store.markAttemptSteps(this.attempt.id, this.callback.id, ['agent_accepted', 'customer_dialled'], {
        agentId: this.agentId,
        customerChannelId: this.customerLeg.channelId,
        now: new Date(this.ctx.clock.now()),
      });
    } catch (e) {
      this.log.error('could not record the dial; not dialling', { error: String(e) });
      await Promise.all([whisperStopped, ringing]);
      await this.tellAgentAndFinish('failed', PROMPTS.customerFailed);
      return true;
    }
    await Promise.all([whisperStopped, ringing]);
    // The agent may have hung up during the write: the customer is then never called.
    if (this.state !== 'dialling_customer') return true;
    crashPoint('preview.after_customer_recorded');
    try {
      await this.customerLeg.dial(this.callback.customerNumber, this.callback.id, this.agentLeg.channelId, (e) => this.onEvent(e));
      crashPoint('preview.after_customer_dial');
      this.ctx.milestone('customer_leg_dialled', { callbackId: this.callback.id, channelId: this.customerLeg.channelId });
    } catch (e) {
      this.log.warn('customer leg could not be dialled', { endpoint: this.customerLeg.endpoint, error: String(e) });
      await this.tellAgentAndFinish(dialFailureOutcome(e), PROMPTS.customerFailed);
    }
    return true;
  }

  /** The agent skipped (2, the panel, or no decision): the callback stays at the head for another agent. */
  async decline(outcome: 'agent_declined' | 'agent_no_decision' = 'agent_declined'): Promise<boolean> {
    if (this.state !== 'previewing') return false;
    this.clearDecisionTimer();
    this.ctx.milestone('agent_declined', { callbackId: this.callback.id, agentId: this.agentId });
    this.log.info('agent skipped the callback', { outcome });
    await this.finish(outcome);
    return true;
  }

  /** How the attempt ends when the agent's leg goes, by how far it got (a ring timeout: no StasisStart). */
  private async onAgentGone(cause: number | undefined): Promise<void> {
    const outcome: Partial<Record<State, string>> = {
      ringing_agent: cause === HANGUP_CAUSE.USER_BUSY ? 'agent_busy' : 'agent_no_answer',
      previewing: 'agent_hung_up_in_preview',
      dialling_customer: 'agent_abandoned', // the pair's rule stops the customer's ringing
      bridged: 'answered',
    };
    // Gone while being told why the attempt ended: the telling is over (no PlaybackFinished comes).
    if (this.state === 'telling_agent') this.playbacks.settleAll();
    const ending = outcome[this.state];
    if (ending) await this.finish(ending, cause);
  }

  // ---- customer side ----------------------------------------------------------------------

  private async onCustomerAnswered(): Promise<void> {
    if (this.state !== 'dialling_customer' || !this.attempt) return;
    this.ctx.milestone('customer_leg_answered', { callbackId: this.callback.id, channelId: this.customerLeg.channelId });
    crashPoint('preview.after_customer_answer');
    await noteAttemptStep(this.ctx, this.log, this.attempt, this.callback.id, 'customer_answered', {});
    if (this.queue.guard.enabled) {
      // "Press 1 to be connected": an answering machine never presses 1.
      this.state = 'guarding';
      // The customer hears the language the caller booked in (stored with the callback).
      await this.customerLeg.guard(promptLanguageFor(this.callback.language, this.queue), () => void this.onGuardTimeout());
      return;
    }
    await this.bridgeAgentAndCustomer();
  }

  private async onGuardPassed(): Promise<void> {
    if (this.state !== 'guarding') return;
    this.customerLeg.clearGuardTimer();
    this.state = 'dialling_customer';
    await this.customerLeg.stopGuardPrompt();
    await this.bridgeAgentAndCustomer();
  }

  private async onGuardTimeout(): Promise<void> {
    if (this.state !== 'guarding') return;
    this.log.info('customer did not press 1 after answering: treated as no answer (answering machine guard)');
    await this.ctx.store
      .recordEvent(this.callback.id, 'customer_no_answer', { detail: { reason: 'guard_timeout' } })
      .catch(() => undefined);
    await this.tellAgentAndFinish('no_answer', PROMPTS.customerNoAnswer);
  }

  private async bridgeAgentAndCustomer(): Promise<void> {
    if (this.state !== 'dialling_customer' || !this.attempt) return;
    try {
      await this.agentLeg.ringStop();
      await this.ctx.control.createBridge(this.bridgeId, 'mixing', `callback ${this.callback.id}`);
      await this.ctx.control.addToBridge(this.bridgeId, [this.agentLeg.channelId, this.customerLeg.channelId]);
    } catch (e) {
      this.log.warn('could not bridge agent and customer', { error: String(e) });
      await this.finish('bridge_failed');
      return;
    }
    this.state = 'bridged';
    this.bridgedAt = this.ctx.clock.now();
    this.ctx.milestone('bridged', { callbackId: this.callback.id, bridgeId: this.bridgeId });
    crashPoint('preview.after_bridge');
    this.log.info('agent and customer bridged');
    // The callback has happened: completing it now means a crash during the talk never re-dials.
    this.completion = completeAttempt(this.ctx, this.log, this.attempt, this.callback, this.lease, this.agentId);
    const completed = await waitAtMost(this.ctx, this.completion, COMPLETION_WAIT_MS);
    if (completed) this.callback = completed;
  }

  /**
   * The pair's rule: after a conversation the other leg goes once the callback is stored completed;
   * a customer gone before it (ringing, or not past the guard) is told to the agent first; else at once.
   */
  private survivorHandling(gone: Leg, cause: number | undefined): SurvivorHandling {
    if (this.state === 'bridged') return { first: () => this.completionWritten() };
    if (gone !== this.customerLeg.leg || (this.state !== 'dialling_customer' && this.state !== 'guarding')) return 'hang_up';
    const prompt = this.state === 'guarding' ? PROMPTS.customerNoAnswer : customerLegOutcome(cause).prompt;
    return { first: () => this.agentLeg.tell(prompt) };
  }

  private async onCustomerGone(cause: number | undefined): Promise<void> {
    this.customerLeg.clearGuardTimer();
    if (this.state === 'guarding' || this.state === 'dialling_customer') {
      // Answered and hung up without pressing 1 is not a conversation: try again later.
      const outcome = this.state === 'guarding' ? 'no_answer' : customerLegOutcome(cause).outcome;
      this.log.info('customer leg failed', { outcome, cause });
      this.state = 'telling_agent';
      this.ctx.milestone('callback_attempt_failed', { callbackId: this.callback.id, outcome, cause });
      await this.legs.survivorHandled();
      await this.finish(outcome, cause);
      return;
    }
    if (this.state === 'bridged') await this.finish('answered', cause);
  }

  private async tellAgentAndFinish(outcome: string, prompt: string): Promise<void> {
    if (this.state === 'ended' || this.state === 'telling_agent') return;
    this.state = 'telling_agent';
    this.ctx.milestone('callback_attempt_failed', { callbackId: this.callback.id, outcome });
    if (!this.agentLeg.gone) await this.agentLeg.tell(prompt);
    await this.finish(outcome);
  }

  // ---- the end of the attempt ----------------------------------------------------------------

  private async finish(outcome: string, cause?: number): Promise<void> {
    if (this.state === 'ended') return;
    const wasBridged = this.state === 'bridged';
    this.state = 'ended';
    this.customerLeg.clearGuardTimer();
    // The completed status is written before anything else is torn down (within a bound: in a
    // database outage it goes on being written, the lease kept, while the legs are let go).
    await this.completionWritten();
    this.clearDecisionTimer();
    this.playbacks.settleAll();
    await this.legs.hangUpBoth();
    await this.ctx.control.destroyBridge(this.bridgeId).catch(() => undefined);
    // Late events (StasisEnd, ChannelDestroyed) for our legs are expected; unbind after a grace.
    this.ctx.clock.setTimer(() => {
      this.ctx.unbind(this.agentLeg.channelId);
      this.ctx.unbind(this.customerLeg.channelId);
    }, 5000);
    const talkedSec = wasBridged ? (this.ctx.clock.now() - this.bridgedAt) / 1000 : undefined;
    this.ctx.agents.release(this.agentId, { talked: wasBridged || this.customerLeg.dialled, handleSec: talkedSec });
    if (outcome === 'answered') this.log.info('callback call ended', { talkedSec });
    this.callback = await endAttempt(this.ctx, this.log, {
      callback: this.callback,
      attempt: this.attempt,
      queue: this.queue,
      agentId: this.agentId,
      outcome,
      cause,
      customerDialled: this.customerLeg.dialled,
      lease: this.lease,
      completion: this.completion,
    });
  }

  private async completionWritten(): Promise<void> {
    if (this.completion) await waitAtMost(this.ctx, this.completion, COMPLETION_WAIT_MS);
  }

  /** Nothing was claimed or rung: hand the callback back to dispatch as it was. */
  private abandon(reason: string): void {
    this.state = 'ended';
    this.log.info('preview call not started', { reason });
    this.ctx.agents.release(this.agentId, { talked: false });
    this.ctx.queues.callbackAttemptEnded(reason === 'not_claimable' ? { ...this.callback, status: 'cancelled' } : this.callback);
  }

  private clearDecisionTimer(): void {
    if (this.decisionTimer) this.ctx.clock.clearTimer(this.decisionTimer);
    this.decisionTimer = undefined;
  }
}
