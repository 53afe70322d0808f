/**
 * One entry in a queue: a live caller waiting on the line, or a pending callback that keeps the
 * caller's original place. Both kinds share one order so accepting a callback never costs the
 * customer their position.
 */
export type WorkItemKind = 'caller' | 'callback';

export interface WorkItem {
  id: string;
  queueId: string;
  kind: WorkItemKind;
  /**
   * Higher is served first. A live caller's comes from its route or its queue (callerPriority); a
   * callback booked by a caller keeps that caller's priority, never more.
   */
  priority: number;
  /** Epoch ms that fixes the place in the queue; a callback keeps the caller's original arrival. */
  arrivedAt: number;
  /** Monotonic tie-breaker for items with the same priority and arrival time. */
  seq: number;
}

/**
 * Strict service order: priority descending, then arrivedAt ascending, then seq ascending.
 * The final id comparison only matters if two items share a seq (a bug upstream); it keeps the
 * order total so sorted-array lookups stay exact.
 */
export function compareWorkItems(a: WorkItem, b: WorkItem): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.arrivedAt !== b.arrivedAt) return a.arrivedAt - b.arrivedAt;
  if (a.seq !== b.seq) return a.seq - b.seq;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The priorities a route (`routes.<id>.priority`) or an API request may set: whole numbers in this
 * range, higher served first. Bounded so that a typo (100000 for 100) is refused, not obeyed, and
 * so that the stored integer columns hold any of them.
 */
export const ITEM_PRIORITY_MIN = -1000;
export const ITEM_PRIORITY_MAX = 1000;

export function isItemPriority(n: number): boolean {
  return Number.isInteger(n) && n >= ITEM_PRIORITY_MIN && n <= ITEM_PRIORITY_MAX;
}

/**
 * A live caller's priority: the one its route sets, when it sets one, in place of the queue's
 * `priority`. Decided once, when the caller enters: nothing else (booking a callback, a retry, a
 * restart) raises or lowers it, so a callback never gets ahead of a caller of the same priority
 * who arrived earlier.
 */
export function callerPriority(queuePriority: number, routePriority: number | undefined): number {
  return routePriority ?? queuePriority;
}

/**
 * A process-local monotonic seq, for a caller whose queue entry is not stored yet: once it is,
 * the caller takes the database's seq (work_item_seq), which every instance shares.
 */
export function createSeqCounter(start = 1): () => number {
  let next = start;
  return () => next++;
}
