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
  /** Higher is served first. */
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
 * A process-local monotonic seq, for a caller whose queue entry is not stored yet: once it is,
 * the caller takes the database's seq (work_item_seq), which every instance shares.
 */
export function createSeqCounter(start = 1): () => number {
  let next = start;
  return () => next++;
}
