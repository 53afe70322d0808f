import { AriChannel, AriEvent, channelIdOf, StasisStartEvent } from '../ari/ari-events';
import { isGone } from '../ari/call-control';
import { CallContext, ChannelSession } from '../calls/call-context';
import { QueueCallerAdoption, QueueCallerSession } from '../calls/queue-caller-session';
import { DirectCallSession } from '../calls/direct-call-session';
import { FeatureCodeSession } from '../calls/feature-code-session';
import { callerPriority, featureCodeAgent, FeatureCodeKind } from '../domain';
import { decideAdmission, DIALPLAN_STATUS_VARIABLE, DialplanReturnStatus, HeldCallers, parseStasisArgs } from '../domain/admission';
import { PROMPTS, promptLanguageFor } from '../calls/prompts';
import { isHoldingBridgeOf, isOwnChannel } from '../calls/channel-ids';
import { ChannelPlaybacks } from '../calls/playback';
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
 *
 * A call it does not take (unknown queue or target, arguments it does not know, a queue or the
 * process at its `maxCallers`) goes back to the dialplan, unanswered, with DIRECT_CALLBACK_STATUS
 * saying why (domain/admission.ts). Each new call's handling runs detached from the event: a
 * failure in it ends that call, with a reason in the log, and never the process.
 */
/** The wait before a continue Asterisk refused is asked for again. */
const CONTINUE_RETRY_MS = 200;

/** The longest a system message ("not assigned") is waited for before the call is hung up anyway. */
const SYSTEM_MESSAGE_BOUND_MS = 30_000;

export class CallRouter {
  private readonly sessions = new Map<string, ChannelSession>();
  /**
   * Each distinct session bound, with how many channels it is bound by: admission and the live
   * counts read it without walking (and copying) every channel of 10,000 held callers per arrival.
   */
  private readonly bindings = new Map<ChannelSession, number>();
  /** Distinct bound sessions that count as held callers (queue and direct), ended ones included. */
  private heldKindSessions = 0;

  constructor(
    private readonly ctx: CallContext,
    private readonly book: QueueBook,
    private readonly agents: AgentDirectory,
    private readonly dispatcher: Dispatcher,
    private readonly places: Pick<SharedState, 'findOpenPlace'>,
    private readonly nextSeq: () => number,
  ) {}

  bind(channelId: string, session: ChannelSession): void {
    const previous = this.sessions.get(channelId);
    if (previous === session) return;
    if (previous) this.released(previous);
    this.sessions.set(channelId, session);
    const n = this.bindings.get(session) ?? 0;
    this.bindings.set(session, n + 1);
    if (n === 0 && isHeldKind(session)) this.heldKindSessions += 1;
  }

  unbind(channelId: string): void {
    const session = this.sessions.get(channelId);
    if (!session) return;
    this.sessions.delete(channelId);
    this.released(session);
  }

  private released(session: ChannelSession): void {
    const n = (this.bindings.get(session) ?? 1) - 1;
    if (n > 0) {
      this.bindings.set(session, n);
      return;
    }
    this.bindings.delete(session);
    if (isHeldKind(session)) this.heldKindSessions -= 1;
  }

  boundChannelIds(): string[] {
    return [...this.sessions.keys()];
  }

  /** A session of this process holds this channel now. */
  isBound(channelId: string): boolean {
    return this.sessions.has(channelId);
  }

  get liveSessions(): number {
    return this.bindings.size;
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
    if (event.type === 'StasisStart') this.startCall(event);
  }

  /**
   * A new call's handling, detached from the event: whatever rejects in it (the caller hanging up
   * midway, Asterisk refusing a step) ends that call only. Left unhandled, a rejection reaches
   * the uncaught-exception handler, which ends the process and every other call with it.
   */
  private startCall(event: StasisStartEvent): void {
    this.onStasisStart(event).catch((e: unknown) => this.callFailed(event, e));
  }

  private callFailed(event: StasisStartEvent, e: unknown): void {
    const channelId = (event.channel as AriChannel | undefined)?.id;
    if (isGone(e)) {
      this.ctx.logger.info('caller gone while the call was being set up', { channelId, args: event.args });
      return;
    }
    this.ctx.logger.error('call handling failed; ending the call', {
      channelId,
      args: event.args,
      error: e instanceof Error ? e.stack : String(e),
    });
    if (typeof channelId === 'string') void this.ctx.control.hangup(channelId).catch(() => undefined);
  }

  private async onStasisStart(event: StasisStartEvent): Promise<void> {
    const channel = event.channel;
    if (isOwnChannel(channel.id, this.ctx.config.ari.app)) {
      // A leg the plugin created whose session has ended (the caller left while it rang): no
      // dialplan of the administrator's is behind it to return to.
      this.ctx.logger.warn('a leg of ours entered Stasis after its call ended; hanging up', { channelId: channel.id, args: event.args });
      await this.ctx.control.hangup(channel.id).catch(() => undefined);
      return;
    }
    const entry = parseStasisArgs(event.args);
    switch (entry.kind) {
      case 'queue':
        return this.onQueueCall(event, entry.queueId, entry.options);
      case 'direct':
        return this.onDirectCall(event, entry.target);
      case 'feature-code':
        return this.onFeatureCode(channel, entry.code, entry.target);
      case 'malformed':
        this.ctx.logger.error('Stasis arguments the plugin does not know; returned to the dialplan (check extensions.conf)', {
          channelId: channel.id,
          args: event.args,
          why: entry.why,
        });
        return this.returnToDialplan(channel, 'BAD_ARGUMENTS');
    }
  }

  /** A new caller for a queue: an unknown queue, or one at its cap, sends it back to the dialplan. */
  private async onQueueCall(event: StasisStartEvent, queueId: string, options: string[]): Promise<void> {
    const channel = event.channel;
    const queue = this.book.queue(queueId);
    if (!queue) {
      this.ctx.logger.error('call for an unknown queue; returned to the dialplan (check extensions.conf)', {
        channelId: channel.id,
        queueId,
        args: event.args,
      });
      return this.returnToDialplan(channel, 'UNKNOWN_QUEUE');
    }
    if (!this.admitted(event, queueId, queue.config.maxCallers)) return this.returnToDialplan(channel, 'FULL');
    return this.enterQueue(channel, queueId, options);
  }

  /**
   * Admission control (domain/admission.ts): counts the inbound callers this process holds in
   * Stasis now, before anything is answered, so that a caller turned away reaches the dialplan's
   * fallback unanswered. Synchronous with the event: a burst of arrivals is counted one by one.
   */
  private admitted(event: StasisStartEvent, queueId: string | undefined, queueMax: number | undefined): boolean {
    const limits = { process: this.ctx.config.limits.maxCallers, queue: queueMax };
    // The held-kind sessions bound are at least the callers held (process and queue alike): below
    // every cap, the caller is admitted without counting exactly. Only near a cap is the exact
    // count taken, a walk over every session (one per arrival at 10,000 held was a fifth of the
    // plugin's CPU; docs/benchmarks.md, 2026-12-07).
    const upperBound = { process: this.heldKindSessions, queue: this.heldKindSessions };
    if (decideAdmission(upperBound, limits).admitted) return true;
    const held = this.heldCallers(queueId);
    const decision = decideAdmission(held, limits);
    if (decision.admitted) return true;
    this.ctx.logger.warn('caller turned away: callers held at the cap; returned to the dialplan', {
      channelId: event.channel.id,
      args: event.args,
      limit: decision.limit,
      max: decision.max,
      held: decision.held,
    });
    return false;
  }

  /** The inbound callers (queue and direct) this process holds in Stasis, and those of one queue. */
  private heldCallers(queueId: string | undefined): HeldCallers {
    const held = { process: 0, queue: 0 };
    for (const session of this.bindings.keys()) {
      if (session instanceof QueueCallerSession) {
        if (session.state === 'ended') continue;
        held.process += 1;
        if (session.queue.id === queueId) held.queue += 1;
      } else if (session instanceof DirectCallSession) held.process += 1;
    }
    return held;
  }

  /**
   * The call leaves the plugin for the dialplan, at the step after its Stasis() (measured:
   * docs/asterisk-facts.md), with DIRECT_CALLBACK_STATUS set first: the administrator's
   * fallback runs (the sample rings the members, or voicemail) instead of a silent hang-up.
   */
  private async returnToDialplan(channel: AriChannel, status: DialplanReturnStatus): Promise<void> {
    const { control, logger } = this.ctx;
    // Owned while it leaves: a reconciliation meanwhile must not adopt it.
    this.bind(channel.id, { kind: 'returning-to-dialplan', onEvent: () => undefined });
    try {
      try {
        await control.setChannelVariable(channel.id, DIALPLAN_STATUS_VARIABLE, status);
      } catch (e) {
        if (isGone(e)) throw e;
        // The fallback still runs, without the reason: better than leaving the caller here.
        logger.warn('could not set the status for the dialplan; returning without it', { channelId: channel.id, status, error: String(e) });
      }
      // Refused once (a 500), asked again after a moment: hanging up skips the fallback.
      await control.continueInDialplan(channel.id).catch(async (e: unknown) => {
        if (isGone(e)) throw e;
        await new Promise<void>((resolve) => this.ctx.clock.setTimer(resolve, CONTINUE_RETRY_MS));
        await control.continueInDialplan(channel.id);
      });
      logger.info('call returned to the dialplan', { channelId: channel.id, status });
    } catch (e) {
      if (isGone(e)) {
        logger.info('caller hung up before returning to the dialplan', { channelId: channel.id, status });
        return;
      }
      logger.error('could not return the call to the dialplan; hanging up', { channelId: channel.id, status, error: String(e) });
      await control.hangup(channel.id).catch(() => undefined);
    } finally {
      this.unbind(channel.id);
    }
  }

  /** A caller joins a queue (`queue,<queue id>[,route=<id>]`), or is adopted back into it. */
  async enterQueue(channel: AriChannel, queueId: string | undefined, options: string[], adoption?: QueueCallerAdoption): Promise<void> {
    const queue = queueId ? this.book.queue(queueId) : undefined;
    if (!queue) {
      // Only an adopted caller gets here (a new one is checked in onQueueCall): its queue left the
      // configuration across a restart. It was answered and held by the previous process, so it
      // is not sent into the fallback halfway through its call.
      this.ctx.logger.error('adopted caller of a queue no longer configured; hanging up', { channelId: channel.id, queueId });
      await this.ctx.control.hangup(channel.id).catch(() => undefined);
      return;
    }
    const routeId = options.map((o) => /^route=(.+)$/.exec(o)?.[1]).find((r) => r !== undefined);
    const route = routeId !== undefined && Object.hasOwn(this.ctx.config.routes, routeId) ? this.ctx.config.routes[routeId] : undefined;
    if (routeId !== undefined && !route) this.ctx.logger.warn('unknown route in Stasis arguments; queue rule applies', { routeId });
    // The route's priority, stated once here: the caller's item, stored place and any callback it books carry it.
    const priority = callerPriority(queue.config.priority, route?.priority);
    if (priority !== queue.config.priority)
      this.ctx.logger.info("route sets the caller's priority", { channelId: channel.id, routeId, priority });
    const config = priority === queue.config.priority ? queue.config : { ...queue.config, priority };
    const session = new QueueCallerSession(this.ctx, channel, config, routeId, this.nextSeq(), adoption);
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
      holdingBridgeId: bridgeId !== undefined && isHoldingBridgeOf(bridgeId, this.ctx.config.ari.app) ? bridgeId : undefined,
    });
  }

  /**
   * A call to a personal number: `direct,<agent id>` or `direct,<the dialled number>`. A target
   * that is no agent and no agent's number goes back to the dialplan (UNKNOWN_TARGET). An agent
   * without a personal number configured gets no direct calls (the prerequisite of the feature):
   * the caller hears "this number is not assigned".
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
          : 'direct call to an unknown agent or number; returned to the dialplan (check extensions.conf)',
        { channelId: channel.id, target, args: event.args },
      );
      // "Not assigned", played to its end on a restart-safe id (a process restarted meanwhile stops it).
      const playbacks = new ChannelPlaybacks(this.ctx, channel.id);
      const message = playbacks.create([PROMPTS.noPersonalNumber], promptLanguageFor(channel.language, undefined));
      this.bind(channel.id, {
        kind: 'rejected-direct',
        onEvent: (e) => {
          playbacks.onEvent(e);
          if (e.type === 'StasisEnd' || e.type === 'ChannelHangupRequest') playbacks.settleAll();
        },
      });
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
      if (!agent) return this.returnToDialplan(channel, 'UNKNOWN_TARGET');
      try {
        await this.ctx.control.answer(channel.id);
        if (await message.start()) await message.untilEnded(SYSTEM_MESSAGE_BOUND_MS);
        else this.ctx.logger.info('"not assigned" message not played (the caller left, or Asterisk refused it)', { channelId: channel.id });
      } catch (e) {
        // The caller hung up during the message (or Asterisk refused it): this call ends here.
        if (!isGone(e)) this.ctx.logger.warn('"not assigned" message not played', { channelId: channel.id, error: String(e) });
      } finally {
        await this.ctx.control.hangup(channel.id).catch(() => undefined);
        this.unbind(channel.id);
      }
      return;
    }
    if (!this.admitted(event, undefined, undefined)) return this.returnToDialplan(channel, 'FULL');
    await new DirectCallSession(this.ctx, channel, agent, target).start();
  }

  /** An agent's feature code: the agent is the one whose endpoint (or id) the dialplan passed. */
  private async onFeatureCode(channel: AriChannel, kind: FeatureCodeKind, target: string): Promise<void> {
    await new FeatureCodeSession(this.ctx, channel, kind, target, featureCodeAgent(this.agents.all(), target)).start();
  }
}

/** The sessions admission counts as held callers (domain/admission.ts): queue callers and direct calls. */
function isHeldKind(session: ChannelSession): boolean {
  return session instanceof QueueCallerSession || session instanceof DirectCallSession;
}
