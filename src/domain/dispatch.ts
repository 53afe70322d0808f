import { AgentState, AvailabilityOptions, isAgentAvailable, pickAgent, queuePriority } from './agents';
import { QueueOrder } from './queue-order';
import { compareWorkItems, WorkItem, WorkItemKind } from './work-item';

/**
 * Which (item, agent) pairs to start now, for live callers and callbacks alike.
 *
 * The app calls planAssignments after ANY change (arrival, hang-up, agent state, timer, call
 * outcome) and starts exactly the pairs returned; the function is idempotent given the same
 * input, so over-calling is harmless. After starting a pair the app must reflect it in the next
 * input (agent reserved / busy, callback inFlight, caller in itemsInService), otherwise the
 * same pair is planned again.
 *
 * Rules:
 *  - Strict order per queue: each queue is walked from its head. An item is "effectively at the
 *    head" once everything ahead of it is either assigned in this round or not serviceable right
 *    now (already in service, callback in flight, callback notBefore in the future). So a live
 *    caller at the head takes the first agent and callbacks behind it wait for another free
 *    agent; with two free agents, the head and the next item both start.
 *  - Across queues, items are served in global compareWorkItems order (priority, then oldest
 *    arrival): an agent serving several queues goes to the queue whose head is oldest.
 *  - Agent choice is pickAgent (longest idle, then higher queue priority, then id), excluding
 *    agents reserved by the app, already assigned in this round, and agents who declined or
 *    missed this item within their decline window.
 *  - A callback owed by one agent (ownerAgentId) goes only to that agent, who need not be a
 *    member of the queue (direct calls are owed personally).
 *  - An item that no currently free agent may take (e.g. its owner is busy, or every free agent
 *    declined it) does not block the items behind it; it keeps its place and is served when an
 *    eligible agent frees up. Blocking would stall a whole queue on one agent.
 *  - Each agent appears at most once and each item at most once, so never more calls start than
 *    free agents and a callback gets at most one attempt per round.
 * Known trade-off: this is greedy in service order, not a maximum matching. If the longest-idle
 * agent is the only one serving a second queue, it may take the first queue's head while the
 * second queue's head waits for the next free agent; strict fairness by age was preferred.
 */

export interface AgentDecline {
  agentId: string;
  /** Epoch ms until which this agent is not offered the item again. */
  until: number;
}

export interface PendingCallback {
  itemId: string;
  queueId: string;
  /** Callback owed by one agent (direct calls): only that agent may take it. */
  ownerAgentId?: string;
  /** Agents who skipped / did not answer; not offered it again until `until`. */
  declinedBy: AgentDecline[];
  /** A dial attempt is in progress. */
  inFlight: boolean;
  /** Retry spacing: not dispatched before this epoch ms. */
  notBefore?: number;
}

export interface QueueSnapshot {
  queueId: string;
  order: QueueOrder;
}

export interface DispatchInput {
  now: number;
  queues: readonly QueueSnapshot[];
  /** Pending callbacks by item id. A callback item without an entry here is not dispatched. */
  callbacks: ReadonlyMap<string, PendingCallback>;
  agents: readonly AgentState[];
  /** Agents the app has already committed (dialling, previewing) and must not be planned. */
  agentsReserved: ReadonlySet<string>;
  /**
   * The callbacks with an owner, when the caller keeps them apart: saves scanning every pending
   * callback on each plan, since few are owed. Defaults to scanning `callbacks`.
   */
  owedCallbacks?: Iterable<PendingCallback>;
  /** Per queue: no callback of that queue before this time (e.g. outside operating hours). */
  queueNotBefore?: ReadonlyMap<string, number>;
}

export interface AssignmentInput extends DispatchInput {
  /**
   * Items that cannot take an agent now (a caller ringing an agent, or entering a number, storing
   * a booking, in an overflow verb); skipped without blocking the items behind them.
   */
  itemsInService?: { has(itemId: string): boolean };
  /** Declines for live callers (an agent let the caller ring out), by item id. */
  callerDeclines?: ReadonlyMap<string, readonly AgentDecline[]>;
  availability?: AvailabilityOptions;
}

export interface Assignment {
  itemId: string;
  queueId: string;
  kind: WorkItemKind;
  agentId: string;
}

interface Cursor {
  queueId: string;
  order: QueueOrder;
  index: number;
}

function declinedNow(declines: readonly AgentDecline[] | undefined, agentId: string, now: number): boolean {
  return declines !== undefined && declines.some((d) => d.agentId === agentId && d.until > now);
}

export function planAssignments(input: AssignmentInput): Assignment[] {
  const { now, callbacks, agents, agentsReserved } = input;
  const availability = input.availability ?? {};
  const inService = input.itemsInService;
  const used = new Set<string>();
  const assignments: Assignment[] = [];

  const free = agents.filter((a) => !agentsReserved.has(a.id) && isAgentAvailable(a, now, availability));
  const agentById = new Map(free.map((a) => [a.id, a]));

  // Owners of pending owed callbacks, so a queue is not dropped while its owner-only work can still go.
  const ownersByQueue = new Map<string, Set<string>>();
  for (const cb of input.owedCallbacks ?? callbacks.values()) {
    if (cb.ownerAgentId === undefined || cb.inFlight) continue;
    let set = ownersByQueue.get(cb.queueId);
    if (set === undefined) ownersByQueue.set(cb.queueId, (set = new Set()));
    set.add(cb.ownerAgentId);
  }

  /** Not serviceable right now by anyone; skipped without blocking the queue. */
  const isDormant = (item: WorkItem): boolean => {
    if (inService?.has(item.id)) return true;
    if (item.kind === 'caller') return false;
    const cb = callbacks.get(item.id);
    if (cb === undefined || cb.inFlight) return true;
    const queueFloor = input.queueNotBefore?.get(cb.queueId);
    if (queueFloor !== undefined && queueFloor > now) return true;
    return cb.notBefore !== undefined && cb.notBefore > now;
  };

  /** Whether any still-unused free agent could take something from this queue. */
  const queueHasHope = (queueId: string): boolean =>
    free.some((a) => !used.has(a.id) && (queuePriority(a, queueId) !== undefined || ownersByQueue.get(queueId)?.has(a.id) === true));

  const chooseAgent = (item: WorkItem, queueId: string): AgentState | undefined => {
    if (item.kind === 'callback') {
      const cb = callbacks.get(item.id);
      if (cb === undefined) return undefined;
      if (cb.ownerAgentId !== undefined) {
        const owner = agentById.get(cb.ownerAgentId);
        if (owner === undefined || used.has(owner.id) || declinedNow(cb.declinedBy, owner.id, now)) return undefined;
        return owner;
      }
      return pickAgent(free, queueId, now, (id) => used.has(id) || declinedNow(cb.declinedBy, id, now), availability);
    }
    const declines = input.callerDeclines?.get(item.id);
    return pickAgent(free, queueId, now, (id) => used.has(id) || declinedNow(declines, id, now), availability);
  };

  /** The cursor's effective head after skipping dormant items, or undefined at the end. */
  const effectiveHead = (c: Cursor): WorkItem | undefined => {
    for (let item = c.order.at(c.index); item !== undefined; item = c.order.at(++c.index)) {
      if (!isDormant(item)) return item;
    }
    return undefined;
  };

  let cursors: Cursor[] = input.queues.map((q) => ({ queueId: q.queueId, order: q.order, index: 0 }));
  while (used.size < free.length && cursors.length > 0) {
    // Drop queues that are exhausted or that no remaining free agent could serve.
    cursors = cursors.filter((c) => effectiveHead(c) !== undefined && queueHasHope(c.queueId));
    let best: { cursor: Cursor; item: WorkItem } | undefined;
    for (const cursor of cursors) {
      const item = effectiveHead(cursor);
      if (item !== undefined && (best === undefined || compareWorkItems(item, best.item) < 0)) best = { cursor, item };
    }
    if (best === undefined) break;
    const { cursor, item } = best;
    const agent = chooseAgent(item, cursor.queueId);
    if (agent !== undefined) {
      used.add(agent.id);
      assignments.push({ itemId: item.id, queueId: cursor.queueId, kind: item.kind, agentId: agent.id });
    }
    // Assigned, or nobody free may take it: either way the next item becomes the effective head.
    cursor.index++;
  }
  return assignments;
}

/**
 * Only the callbacks to start now. Live callers still take their places in the plan (a caller at
 * the head gets an agent first), their pairs are just not returned. Prefer planAssignments in
 * the app; this view exists for callers that only run the callback side.
 */
export function planDispatch(input: DispatchInput): Assignment[] {
  return planAssignments(input).filter((a) => a.kind === 'callback');
}
