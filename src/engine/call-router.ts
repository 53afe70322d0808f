import { randomUUID } from 'node:crypto';
import { AriChannel, AriEvent, channelIdOf, StasisStartEvent } from '../ari/ari-events';
import { CallContext, ChannelSession } from '../calls/call-context';
import { QueueCallerAdoption, QueueCallerSession } from '../calls/queue-caller-session';
import { DirectCallSession } from '../calls/direct-call-session';
import { FeatureCodeSession } from '../calls/feature-code-session';
import { featureCodeAgent, FeatureCodeKind, isFeatureCodeKind } from '../domain';
import { PROMPTS, promptLanguageFor } from '../calls/prompts';
import { holdingBridgeIdOf } from '../calls/channel-ids';
import { AgentDirectory } from './agent-directory';
import { Dispatcher } from './dispatcher';
import { QueueBook } from './queue-book';
import { ariTime, SharedState } from './shared-state';

/**
 * Where a call enters. Every ARI event is routed here: to the session that owns its channel, or,
 * for a StasisStart nobody owns, to a new session chosen by the Stasis arguments the dialplan gave
 * (`queue,<id>[,route=<id>]`, `direct,<agent or number>`, an agent's feature code
 * `agent-login|agent-logout|agent-pause|agent-unpause,<endpoint or agent id>`). The channel →
 * session table is the one routing table of the process.
 */
export class CallRouter {
  private readonly sessions = new Map<string, ChannelSession>();

  constructor(
    private readonly ctx: CallContext,
    private readonly book: QueueBook,
    private readonly agents: AgentDirectory,
    private readonly dispatcher: Dispatcher,
    private readonly places: Pick<SharedState, 'findOpenPlace'>,
    private readonly nextSeq: () => number,
  ) {}

  bind(channelId: string, session: ChannelSession): void {
    this.sessions.set(channelId, session);
  }

  unbind(channelId: string): void {
    this.sessions.delete(channelId);
  }

  boundChannelIds(): string[] {
    return [...this.sessions.keys()];
  }

  get liveSessions(): number {
    return new Set(this.sessions.values()).size;
  }

  route(event: AriEvent): void {
    const channelId = channelIdOf(event);
    if (channelId === undefined) return;
    const session = this.sessions.get(channelId);
    if (session) {
      try {
        session.onEvent(event);
      } catch (e) {
        this.ctx.logger.error('session failed to handle event', {
          type: event.type,
          channelId,
          error: e instanceof Error ? e.stack : String(e),
        });
      }
      return;
    }
    if (event.type === 'StasisStart') void this.onStasisStart(event);
  }

  private async onStasisStart(event: StasisStartEvent): Promise<void> {
    const [kind, target, ...options] = event.args;
    const channel = event.channel;
    if (kind === 'queue') return this.enterQueue(channel, target, options);
    if (kind === 'direct') return this.onDirectCall(event, target ?? '');
    if (isFeatureCodeKind(kind)) return this.onFeatureCode(channel, kind, target ?? '');
    this.ctx.logger.warn('unexpected Stasis arguments; hanging up', { channelId: channel.id, args: event.args });
    await this.ctx.control.hangup(channel.id).catch(() => undefined);
  }

  /** A caller joins a queue (`queue,<queue id>[,route=<id>]`), or is adopted back into it. */
  async enterQueue(channel: AriChannel, queueId: string | undefined, options: string[], adoption?: QueueCallerAdoption): Promise<void> {
    const queue = queueId ? this.book.queue(queueId) : undefined;
    if (!queue) {
      this.ctx.logger.error('call for an unknown queue; check extensions.conf', { channelId: channel.id, queueId });
      await this.ctx.control.hangup(channel.id).catch(() => undefined);
      return;
    }
    const routeId = options.map((o) => /^route=(.+)$/.exec(o)?.[1]).find((r) => r !== undefined);
    if (routeId !== undefined && !(routeId in this.ctx.config.routes))
      this.ctx.logger.warn('unknown route in Stasis arguments; queue rule applies', { routeId });
    const session = new QueueCallerSession(this.ctx, channel, queue.config, routeId, this.nextSeq(), adoption);
    this.dispatcher.registerCaller(session.itemId, session);
    await session.start();
  }

  /**
   * A queue caller a previous process left in Stasis (crash, restart) rejoins its queue at the
   * place stored for it, or, when none is stored, at the channel's creation time (the call
   * entered the queue when it was created). `bridgeId`: the bridge Asterisk lists it in, if any.
   */
  async adoptQueueCaller(channel: AriChannel, args: string[], bridgeId: string | undefined): Promise<void> {
    const [, argQueueId, ...options] = args;
    // The stored place says which queue the caller is in now (an overflow action may have moved it).
    const stored = await this.places.findOpenPlace(channel.id);
    const queueId = stored?.queueId ?? argQueueId;
    const routeOptions = stored?.routeId ? [`route=${stored.routeId}`] : options;
    await this.enterQueue(channel, queueId, routeOptions, {
      arrivedAt: stored?.arrivedAt.getTime() ?? ariTime(channel.creationtime) ?? this.ctx.clock.now(),
      inHoldingBridge: bridgeId === holdingBridgeIdOf(channel.id),
    });
  }

  /**
   * A call to a personal number: `direct,<agent id>` or `direct,<the dialled number>`. An agent
   * without a personal number configured gets no direct calls (the prerequisite of the feature).
   */
  private async onDirectCall(event: StasisStartEvent, target: string): Promise<void> {
    const channel = event.channel;
    const agent =
      this.agents.all().find((a) => a.id === target) ??
      this.agents.all().find((a) => a.personalNumber !== undefined && a.personalNumber === target);
    if (!agent || agent.personalNumber === undefined) {
      this.ctx.logger.error(
        agent
          ? 'direct call to an agent without a personal number; configure agents[].personalNumber'
          : 'direct call to an unknown agent or number; check extensions.conf',
        {
          channelId: channel.id,
          target,
        },
      );
      this.bind(channel.id, { kind: 'rejected-direct', onEvent: () => undefined });
      const now = new Date(this.ctx.clock.now());
      await this.ctx.store
        .recordDirectCall({
          channelId: channel.id,
          agentId: agent?.id ?? null,
          dialled: target,
          callerNumber: channel.caller.number || null,
          callerName: channel.caller.name || null,
          startedAt: now,
          endedAt: now,
          outcome: 'no_personal_number',
          reason: agent ? 'agent_has_no_personal_number' : 'unknown_target',
        })
        .catch((e: unknown) => this.ctx.logger.warn('direct call record not saved', { error: String(e) }));
      try {
        await this.ctx.control.answer(channel.id);
        await this.playToEnd(channel.id, [PROMPTS.noPersonalNumber], promptLanguageFor(channel.language, undefined));
      } finally {
        await this.ctx.control.hangup(channel.id).catch(() => undefined);
        this.unbind(channel.id);
      }
      return;
    }
    await new DirectCallSession(this.ctx, channel, agent, target).start();
  }

  /** An agent's feature code: the agent is the one whose endpoint (or id) the dialplan passed. */
  private async onFeatureCode(channel: AriChannel, kind: FeatureCodeKind, target: string): Promise<void> {
    await new FeatureCodeSession(this.ctx, channel, kind, target, featureCodeAgent(this.agents.all(), target)).start();
  }

  /** Plays media and resolves when it finished (or after a bound, if the event never comes). */
  private async playToEnd(channelId: string, media: string[], lang: string): Promise<void> {
    const id = `sys-${randomUUID()}`;
    const finished = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 30000);
      this.bind(channelId, {
        kind: 'system-message',
        onEvent: (e) => {
          if ((e.type === 'PlaybackFinished' && e.playback.id === id) || e.type === 'StasisEnd' || e.type === 'ChannelHangupRequest') {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await this.ctx.control.play(channelId, media, id, lang);
    await finished;
  }
}
