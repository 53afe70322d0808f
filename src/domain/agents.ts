/**
 * Agent availability and selection. Agents are plain state snapshots; the app keeps them up to
 * date from ARI device-state events and its own call tracking.
 */

/** ARI device states (DeviceStateChanged / deviceStates resource). */
export type DeviceState = 'NOT_INUSE' | 'INUSE' | 'BUSY' | 'INVALID' | 'UNAVAILABLE' | 'RINGING' | 'RINGINUSE' | 'ONHOLD' | 'UNKNOWN';

export interface AgentQueueMembership {
  queueId: string;
  /** Preference of this agent for this queue: HIGHER is preferred (tie-break in pickAgent). */
  priority: number;
}

export interface AgentState {
  id: string;
  name: string;
  /** Dial string, e.g. PJSIP/1001. */
  endpoint: string;
  queues: AgentQueueMembership[];
  personalNumber?: string;
  loggedIn: boolean;
  paused: boolean;
  deviceState: DeviceState;
  /** On a call placed or bridged by this app (device state can lag behind our own knowledge). */
  onPluginCall: boolean;
  /** Epoch ms until which the agent is in wrap-up after a call; free once now >= wrapUpUntil. */
  wrapUpUntil: number;
  /** Epoch ms the agent last became idle; smaller = idle longer = served first. */
  idleSince: number;
}

export interface AvailabilityOptions {
  /**
   * Treat UNKNOWN device state as free. Default false: Asterisk reports UNKNOWN when it cannot
   * tell (e.g. some endpoints without subscriptions), and ringing a busy phone is worse than
   * waiting for a clear state. Enable for endpoint types known to never report state.
   */
  unknownIsFree?: boolean;
}

export function isAgentAvailable(agent: AgentState, now: number, opts: AvailabilityOptions = {}): boolean {
  if (!agent.loggedIn || agent.paused || agent.onPluginCall) return false;
  if (now < agent.wrapUpUntil) return false;
  return agent.deviceState === 'NOT_INUSE' || (agent.deviceState === 'UNKNOWN' && opts.unknownIsFree === true);
}

/** The agent's priority for a queue, or undefined when not a member. */
export function queuePriority(agent: AgentState, queueId: string): number | undefined {
  return agent.queues.find((q) => q.queueId === queueId)?.priority;
}

/**
 * Chooses who takes the next item of `queueId`: among available members not excluded, the one
 * idle longest (smallest idleSince) so work spreads fairly; ties go to the higher queue priority,
 * then the smaller id so the choice is deterministic.
 */
export function pickAgent(
  agents: readonly AgentState[],
  queueId: string,
  now: number,
  exclude?: (agentId: string) => boolean,
  opts: AvailabilityOptions = {},
): AgentState | undefined {
  let best: AgentState | undefined;
  let bestPriority = 0;
  for (const agent of agents) {
    const priority = queuePriority(agent, queueId);
    if (priority === undefined) continue;
    if (!isAgentAvailable(agent, now, opts)) continue;
    if (exclude?.(agent.id)) continue;
    if (best === undefined || isBetter(agent, priority, best, bestPriority)) {
      best = agent;
      bestPriority = priority;
    }
  }
  return best;
}

function isBetter(a: AgentState, aPriority: number, b: AgentState, bPriority: number): boolean {
  if (a.idleSince !== b.idleSince) return a.idleSince < b.idleSince;
  if (aPriority !== bPriority) return aPriority > bPriority;
  return a.id < b.id;
}
