import { isGone } from '../ari/call-control';
import { ownChannelId } from './channel-ids';
import { CallerEndReason, QueueCaller } from './queue-caller';
import { QueueCallerState } from './queue-caller-states';

/** What the connection needs of the caller's session beyond the verbs' port. */
export interface AgentConnectionHost extends QueueCaller {
  /**
   * The caller and `legId` in one mixing bridge; the caller leaves hold only once it is in it, so
   * a rejection leaves it on hold. Rejects when the bridge could not be made.
   */
  intoMixingBridge(legId: string, purpose: 'call' | 'transfer'): Promise<void>;
  /** The mixing bridge of a connection that failed goes (never made, or already gone, is fine). */
  dropMixingBridge(): Promise<void>;
  end(reason: CallerEndReason): Promise<void>;
}

interface AgentLeg {
  channelId: string;
  agentId: string;
  answered: boolean;
  /** Hung up, rang out or refused (its channel's hang-up or end was seen). */
  gone: boolean;
}

/** How many times a bridge that Asterisk refused is tried while the agent waits on the line. */
const BRIDGE_TRIES = 2;

/**
 * A live caller's connection to an agent: the agent's phone rung when the caller's turn comes,
 * and the mixing bridge when the agent answers. The caller is the agent's only once both are in
 * the bridge: an agent who answers and leaves before that, or a bridge Asterisk refuses, sends the
 * caller back to waiting at its place (issue 18: never a silent hang-up, never a lost place).
 */
export class AgentConnection {
  private leg: AgentLeg | undefined;
  private bridgedAt = 0;

  constructor(private readonly caller: AgentConnectionHost) {}

  /** The agent's channel, while the agent is rung, answering or connected. */
  get legId(): string | undefined {
    return this.leg?.channelId;
  }

  /** Called by dispatch: this caller is at the head and `agentId` is free. */
  async ring(agentId: string): Promise<void> {
    const { caller } = this;
    const { ctx } = caller;
    const agent = ctx.agents.get(agentId);
    if (!agent || !caller.step('agent_ringing')) {
      ctx.queues.releaseFromService(caller.item.id);
      if (agent) ctx.agents.release(agentId, { talked: false });
      return;
    }
    const channelId = ownChannelId('agent', ctx.config.ari.app);
    this.leg = { channelId, agentId, answered: false, gone: false };
    caller.bindLeg(channelId);
    const name = (caller.channel.caller.name || caller.callerNumber || 'Caller').replace(/["<>]/g, '');
    caller.log.info('ringing agent for live caller', { agentId, agentChannelId: channelId });
    try {
      await ctx.control.originate({
        channelId,
        endpoint: agent.endpoint,
        appArgs: ['agent-live', caller.channel.id],
        callerId: caller.wait.offer.canOffer ? `"${name}" <${caller.callerNumber}>` : undefined,
        timeoutSec: ctx.config.callback.agentRingTimeoutSec,
      });
      // The call ended while the originate was under way: the end's hang-up came before the
      // channel existed (a 404), so the phone would ring on for nobody (fuzzer seed 18 #120).
      if (caller.state === 'ended') await ctx.control.hangup(channelId).catch(() => undefined);
    } catch (e) {
      caller.log.warn('agent could not be rung', { agentId, error: String(e) });
      await this.onGone(undefined);
    }
  }

  /** The agent's leg entered Stasis: answered. */
  async onAnswered(): Promise<void> {
    const leg = this.leg;
    const { caller } = this;
    if (!leg || leg.answered || leg.gone) return;
    leg.answered = true;
    if (!caller.step('agent_answered')) {
      // The caller left (or took a callback) while the agent's phone rang.
      await caller.ctx.control.hangup(leg.channelId).catch(() => undefined);
      return;
    }
    // The caller's prompt ends first (none is bridged behind its last words); its offers and
    // announcements go on if the agent is not connected after all.
    caller.wait.pause();
    await caller.wait.stopPrompts();
    let error: unknown;
    let added = false;
    for (let i = 0; i < BRIDGE_TRIES && !leg.gone && caller.state === 'bridging'; i++) {
      error = undefined;
      try {
        await caller.intoMixingBridge(leg.channelId, 'call');
        added = true;
        break;
      } catch (e) {
        error = e;
        // A channel not found (the caller or the agent went, its events maybe lost in a gap) is
        // not tried again: the agent waited a second more in silence for nothing (the fuzzer).
        if (isGone(e)) break;
      }
    }
    // Ended meanwhile (the caller hung up): the end took the leg and the bridge.
    if (caller.state !== 'bridging') return;
    // Not in the bridge: the caller never left hold.
    if (!added) return this.backToWaiting(leg, error);
    caller.step('bridge_made');
    await caller.wait.kill();
    // Which agent took the caller: the day report counts each agent's calls from it.
    caller.record('connected', { agentId: leg.agentId });
    caller.leaveQueue('connected');
    this.bridgedAt = caller.ctx.clock.now();
    caller.ctx.milestone('caller_connected', { channelId: caller.channel.id, agentId: leg.agentId });
    caller.log.info('caller connected to agent', {
      agentId: leg.agentId,
      waitedSec: Math.round((this.bridgedAt - caller.item.arrivedAt) / 1000),
    });
    // The agent hung up once in the bridge, before its answer came back: the call is over.
    if (leg.gone) await this.onGone(undefined);
  }

  /** The agent's leg hung up, rang out or could not be rung. */
  async onGone(cause: number | undefined): Promise<void> {
    const leg = this.leg;
    const { caller } = this;
    const { ctx } = caller;
    if (!leg) return;
    leg.gone = true;
    // Answered and left while the bridge is being made: onAnswered sees it once its requests are back.
    if (caller.state === 'bridging') return;
    this.leg = undefined;
    caller.unbindLeg(leg.channelId);
    if (caller.step('agent_missed')) {
      // Rang out, busy or unreachable: the caller keeps the place and another agent is tried.
      caller.log.info('agent did not take the live call', { agentId: leg.agentId, cause });
      this.waitOn(leg);
      return;
    }
    if (caller.state === 'bridged') {
      ctx.agents.release(leg.agentId, { talked: true, handleSec: (ctx.clock.now() - this.bridgedAt) / 1000 });
      await caller.end('agent_hung_up');
      return;
    }
    ctx.agents.release(leg.agentId, { talked: false });
  }

  /** The call is over: the agent's leg, if any, is hung up and the agent released. */
  async end(previous: QueueCallerState): Promise<void> {
    const leg = this.leg;
    if (!leg) return;
    const { caller } = this;
    const { ctx } = caller;
    this.leg = undefined;
    caller.unbindLeg(leg.channelId);
    if (!leg.gone) await ctx.control.hangup(leg.channelId).catch(() => undefined);
    const talked = previous === 'bridged';
    ctx.agents.release(leg.agentId, { talked, handleSec: talked ? (ctx.clock.now() - this.bridgedAt) / 1000 : undefined });
  }

  /**
   * The agent answered but is not connected (left before the bridge, or Asterisk refused the
   * bridge): the caller never left hold, and waits on at its place.
   */
  private async backToWaiting(leg: AgentLeg, error: unknown): Promise<void> {
    const { caller } = this;
    const { ctx } = caller;
    this.leg = undefined;
    caller.unbindLeg(leg.channelId);
    if (leg.gone) caller.log.info('agent answered and left before the bridge; the caller waits on at its place', { agentId: leg.agentId });
    else
      caller.log.warn('could not bridge caller and agent; the caller waits on at its place', {
        agentId: leg.agentId,
        error: String(error),
      });
    caller.step('agent_missed');
    this.waitOn(leg);
    await Promise.all([leg.gone ? undefined : ctx.control.hangup(leg.channelId).catch(() => undefined), caller.dropMixingBridge()]);
  }

  /** The agent is free again and not offered this caller at once; the caller's wait goes on. */
  private waitOn(leg: AgentLeg): void {
    const { caller } = this;
    const { ctx } = caller;
    ctx.queues.declined(caller.item.id, leg.agentId);
    ctx.agents.release(leg.agentId, { talked: false });
    ctx.queues.releaseFromService(caller.item.id);
    caller.wait.next();
    ctx.queues.dispatchSoon();
  }
}
