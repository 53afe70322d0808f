import { AriChannel, AriEvent } from '../ari/ari-events';
import { AgentState, FeatureCodeKind, featureCodeChange } from '../domain';
import { Logger, callLogger } from '../logging/logger';
import { CallContext, ChannelSession } from './call-context';
import { ChannelPlaybacks } from './playback';
import { agentLanguage, PROMPTS, promptLanguageFor } from './prompts';

/** What each code plays once the change is made. */
const CONFIRMATION: Record<FeatureCodeKind, string> = {
  'agent-login': PROMPTS.agentLoggedIn,
  'agent-logout': PROMPTS.agentLoggedOut,
  'agent-pause': PROMPTS.agentPaused,
  'agent-unpause': PROMPTS.agentUnpaused,
};

/**
 * A prompt whose PlaybackFinished never comes (an event lost in a WebSocket gap) must not keep the
 * agent's phone off-hook: the longest confirmation lasts about 4 s.
 */
const PLAYBACK_BOUND_MS = 15_000;

/** What a feature code needs from the application: presence, besides the usual call context. */
export type FeatureCodeContext = Pick<CallContext, 'config' | 'control' | 'clock' | 'logger' | 'bind' | 'unbind' | 'agents'>;

/**
 * One feature code dialled on an agent's phone (`Stasis(<app>,agent-login,<endpoint>)` and
 * agent-logout, agent-pause, agent-unpause): the call is answered, the agent's presence changed and
 * stored (source `feature_code`, so it outlives a restart and reaches every instance), a short
 * confirmation played in the agent's language, and the call hung up. A phone that is no agent's,
 * or a change that could not be stored, hears `feature-code-failed` instead, and the error log
 * names the endpoint, so the administrator can correct `agents[].endpoint`.
 */
export class FeatureCodeSession implements ChannelSession {
  readonly kind = 'feature-code';
  private readonly log: Logger;
  private readonly playbacks: ChannelPlaybacks;
  private gone = false;
  private ended = false;

  /**
   * @param target what the dialplan passed (`${CHANNEL(endpoint)}`, or an agent id)
   * @param agent the agent it names, or undefined (see featureCodeAgent)
   */
  constructor(
    private readonly ctx: FeatureCodeContext,
    private readonly channel: AriChannel,
    private readonly feature: FeatureCodeKind,
    private readonly target: string,
    private readonly agent: AgentState | undefined,
  ) {
    this.playbacks = new ChannelPlaybacks(ctx, channel.id);
    this.log = callLogger(ctx.logger, { callId: channel.id, kind: this.kind, callerNumber: channel.caller.number });
  }

  async start(): Promise<void> {
    const { ctx, agent } = this;
    ctx.bind(this.channel.id, this);
    try {
      await ctx.control.answer(this.channel.id);
    } catch (e) {
      // Hung up before the answer: nothing was asked of the plugin yet, so nothing changes.
      this.log.info('feature code call gone before it was answered', { feature: this.feature, endpoint: this.target, error: String(e) });
      return this.end();
    }
    if (!agent) {
      this.log.error('feature code from a phone that is no agent; set agents[].endpoint (or the id) to what the dialplan passes', {
        feature: this.feature,
        endpoint: this.target,
      });
      await this.playToEnd(PROMPTS.featureCodeFailed, promptLanguageFor(this.channel.language, undefined));
      return this.end();
    }
    let stored = true;
    try {
      await ctx.agents.setPresence(agent.id, featureCodeChange(this.feature), 'feature_code');
    } catch (e) {
      // Applied on this instance only: a restart or another instance would not know it. The agent
      // hears that it failed and dials again (a repeated code is harmless).
      stored = false;
      this.log.warn('feature code applied but not stored; the agent is told to try again', {
        feature: this.feature,
        agentId: agent.id,
        error: String(e),
      });
    }
    if (stored)
      this.log.info('agent presence changed by feature code', { feature: this.feature, agentId: agent.id, endpoint: this.target });
    await this.playToEnd(stored ? CONFIRMATION[this.feature] : PROMPTS.featureCodeFailed, agentLanguage(ctx.config, agent.id));
    return this.end();
  }

  onEvent(event: AriEvent): void {
    this.playbacks.onEvent(event);
    if (event.type === 'StasisEnd' || event.type === 'ChannelHangupRequest' || event.type === 'ChannelDestroyed') {
      // The agent hung up during the prompt: the change stands; nothing waits for the prompt's end.
      this.gone = true;
      this.playbacks.settleAll();
    }
  }

  private async playToEnd(media: string, language: string): Promise<void> {
    if (this.gone) return;
    const prompt = this.playbacks.create([media], language);
    if (!(await prompt.start())) {
      this.log.warn('feature code prompt not played', { media });
      return;
    }
    await prompt.untilEnded(PLAYBACK_BOUND_MS);
  }

  private async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (!this.gone) await this.ctx.control.hangup(this.channel.id).catch(() => undefined);
    this.ctx.unbind(this.channel.id);
  }
}
