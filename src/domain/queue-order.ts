import { compareWorkItems, WorkItem, WorkItemKind } from './work-item';

/**
 * One queue's strict order, shared by live callers and pending callbacks.
 *
 * Stored as an array kept sorted by compareWorkItems plus an id -> item map. Finding an item's
 * index is a map lookup followed by a binary search on the comparator (O(log n)), so position()
 * stays cheap in a long queue. Insert/remove are an O(log n) search plus an array splice; new
 * arrivals usually land at the tail, where the splice is effectively an append.
 *
 * Items are copied and frozen on add: a caller mutating its object afterwards (e.g. changing
 * priority) would otherwise silently break the sort invariant. To change an item, remove and add it.
 */
export class QueueOrder {
  private readonly sorted: WorkItem[] = [];
  private readonly byId = new Map<string, WorkItem>();
  private readonly kindCounts: Record<WorkItemKind, number> = { caller: 0, callback: 0 };

  constructor(items: Iterable<WorkItem> = []) {
    for (const item of items) this.add(item);
  }

  get size(): number {
    return this.sorted.length;
  }

  /** Adds an item; throws if the id is already present (a duplicate would corrupt positions). */
  add(item: WorkItem): void {
    if (this.byId.has(item.id)) throw new Error(`QueueOrder: duplicate item id ${item.id}`);
    const stored: WorkItem = Object.freeze({ ...item });
    this.sorted.splice(this.lowerBound(stored), 0, stored);
    this.byId.set(stored.id, stored);
    this.kindCounts[stored.kind] += 1;
  }

  /** Removes an item; returns false when it was not present. */
  remove(id: string): boolean {
    const index = this.indexOf(id);
    if (index === undefined) return false;
    const [removed] = this.sorted.splice(index, 1);
    this.byId.delete(id);
    this.kindCounts[removed.kind] -= 1;
    return true;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): WorkItem | undefined {
    return this.byId.get(id);
  }

  /** 1-based place in the queue (items ahead + 1), or undefined when absent. */
  position(id: string): number | undefined {
    const index = this.indexOf(id);
    return index === undefined ? undefined : index + 1;
  }

  /**
   * Number of items ahead of `id` (undefined when absent). With `kind`, counts only items of
   * that kind ahead, which is a linear scan of the items ahead.
   */
  itemsAhead(id: string, kind?: WorkItemKind): number | undefined {
    const index = this.indexOf(id);
    if (index === undefined) return undefined;
    if (kind === undefined) return index;
    let n = 0;
    for (let i = 0; i < index; i++) if (this.sorted[i].kind === kind) n++;
    return n;
  }

  /** First item in order, or the first one matching `filter` (scans from the front). */
  head(filter?: (item: WorkItem) => boolean): WorkItem | undefined {
    if (filter === undefined) return this.sorted[0];
    for (const item of this.sorted) if (filter(item)) return item;
    return undefined;
  }

  /** Item at a 0-based index in service order; O(1), lets planners walk the queue without copying it. */
  at(index: number): WorkItem | undefined {
    return this.sorted[index];
  }

  /** Snapshot copy in service order; safe to hold while the queue changes. */
  items(): readonly WorkItem[] {
    return this.sorted.slice();
  }

  count(kind?: WorkItemKind): number {
    return kind === undefined ? this.sorted.length : this.kindCounts[kind];
  }

  private indexOf(id: string): number | undefined {
    const item = this.byId.get(id);
    if (item === undefined) return undefined;
    // The order is total (compareWorkItems ends on id), so the lower bound is the item itself.
    return this.lowerBound(item);
  }

  /** First index whose item is not before `item` in service order. */
  private lowerBound(item: WorkItem): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareWorkItems(this.sorted[mid], item) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
