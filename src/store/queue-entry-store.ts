import { Knex } from 'knex';
import { WorkItemKind } from '../domain/work-item';
import { announceChange } from './change-feed';

/**
 * Where a live caller's place is stored: written when the caller enters a queue, closed when the
 * caller leaves (with why). Another instance counts these callers in its positions; a restarted
 * or adopting instance finds a caller's exact place here, so a crash never moves a caller back.
 */
export interface NewQueueEntry {
  id: string;
  queueId: string;
  /** A caller moved here by an overflow action: the queue and arrival it first had (reports). */
  firstQueueId?: string;
  firstArrivedAt?: Date;
  priority: number;
  arrivedAt: Date;
  asteriskId: string;
  channelId: string;
  /** The Stasis app holding the channel (several instances may share one Asterisk). */
  app: string;
  channelCreatedAt: Date | null;
  instanceId: string;
  routeId: string | null;
  callerNumber: string | null;
  callerName: string | null;
  language: string | null;
}

export interface QueueEntry extends NewQueueEntry {
  firstQueueId: string;
  firstArrivedAt: Date;
  seq: number;
  closedAt: Date | null;
  closeReason: string | null;
  callbackId: string | null;
}

/** An open item in the shared order (queue_order): where it stands and the priority that puts it there. */
export interface OrderedItem {
  position: number;
  kind: WorkItemKind;
  id: string;
  priority: number;
  arrivedAt: Date;
  seq: number;
  routeId: string | null;
}

/** Why a live caller left its queue (stored with the entry, counted in reports). */
export type QueueExitReason =
  'caller_hung_up' | 'connected' | 'callback_booked' | 'moved' | 'voicemail' | 'external' | 'message' | 'gone' | 'ended_by_plugin';

interface Row {
  id: string;
  queue_id: string;
  first_queue_id: string;
  first_arrived_at: Date | string | null;
  priority: number;
  arrived_at: Date | string;
  seq: string | number;
  asterisk_id: string;
  channel_id: string;
  app: string;
  channel_created_at: Date | string | null;
  instance_id: string;
  route_id: string | null;
  caller_number: string | null;
  caller_name: string | null;
  language: string | null;
  closed_at: Date | string | null;
  close_reason: string | null;
  callback_id: string | null;
}

const date = (v: Date | string | null): Date | null => (v === null ? null : v instanceof Date ? v : new Date(v));

/** A row as pg returns it, or as a NOTIFY payload carries it (row_to_json: dates as strings). */
export function toQueueEntry(r: Row): QueueEntry {
  return {
    id: r.id,
    queueId: r.queue_id,
    firstQueueId: r.first_queue_id,
    firstArrivedAt: date(r.first_arrived_at) ?? (date(r.arrived_at) as Date),
    priority: r.priority,
    arrivedAt: date(r.arrived_at) as Date,
    seq: Number(r.seq),
    asteriskId: r.asterisk_id,
    channelId: r.channel_id,
    app: r.app,
    channelCreatedAt: date(r.channel_created_at),
    instanceId: r.instance_id,
    routeId: r.route_id,
    callerNumber: r.caller_number,
    callerName: r.caller_name,
    language: r.language,
    closedAt: date(r.closed_at),
    closeReason: r.close_reason,
    callbackId: r.callback_id,
  };
}

export class QueueEntryStore {
  constructor(private readonly db: Knex) {}

  /**
   * Stores a caller's place, or returns the one already open for this channel (a caller adopted
   * after a restart keeps its stored place; only the instance holding it changes, and the priority
   * follows the holder's, so that every instance orders the caller as the one serving it does).
   */
  async open(e: NewQueueEntry): Promise<QueueEntry> {
    const rows = await this.db.raw<{ rows: Row[] }>(
      `INSERT INTO queue_entries (id, queue_id, first_queue_id, first_arrived_at, priority, arrived_at, asterisk_id, channel_id, app, channel_created_at, instance_id, route_id, caller_number, caller_name, language)
       VALUES (:id, :queueId, :firstQueueId, :firstArrivedAt, :priority, :arrivedAt, :asteriskId, :channelId, :app, :channelCreatedAt, :instanceId, :routeId, :callerNumber, :callerName, :language)
       ON CONFLICT (asterisk_id, channel_id) WHERE closed_at IS NULL
       DO UPDATE SET instance_id = EXCLUDED.instance_id, priority = EXCLUDED.priority, updated_at = now()
       RETURNING *`,
      {
        ...e,
        firstQueueId: e.firstQueueId ?? e.queueId,
        firstArrivedAt: e.firstArrivedAt ?? e.arrivedAt,
        callerName: e.callerName !== null ? e.callerName.slice(0, 200) : null,
      },
    );
    const row = rows.rows[0];
    announceChange(this.db, 'queue_entries', row);
    return toQueueEntry(row);
  }

  async findOpen(asteriskId: string, channelId: string): Promise<QueueEntry | undefined> {
    const r = (await this.db('queue_entries').where({ asterisk_id: asteriskId, channel_id: channelId }).whereNull('closed_at').first()) as
      Row | undefined;
    return r ? toQueueEntry(r) : undefined;
  }

  /** Closes an open entry; false when it was already closed (by another path or instance). */
  async close(id: string, reason: QueueExitReason, opts: { callbackId?: string; now?: Date } = {}): Promise<boolean> {
    const rows = (await this.db('queue_entries')
      .where({ id })
      .whereNull('closed_at')
      .update({
        closed_at: opts.now ?? this.db.fn.now(),
        close_reason: reason,
        callback_id: opts.callbackId ?? null,
        updated_at: this.db.fn.now(),
      })
      .returning('*')) as Row[];
    if (rows[0]) announceChange(this.db, 'queue_entries', rows[0]);
    return rows.length === 1;
  }

  /** An overflow action taken for this caller, with what triggered it (reports). */
  async recordAction(entryId: string, action: string, detail: Record<string, unknown>): Promise<void> {
    await this.db('queue_entry_actions').insert({ entry_id: entryId, action, detail: JSON.stringify(detail) });
  }

  async actions(entryId: string): Promise<{ action: string; detail: Record<string, unknown>; at: Date }[]> {
    return this.db('queue_entry_actions')
      .where({ entry_id: entryId })
      .orderBy('id')
      .select<{ action: string; detail: Record<string, unknown>; at: Date }[]>('action', 'detail', 'at');
  }

  async listOpen(): Promise<QueueEntry[]> {
    const rows = (await this.db('queue_entries')
      .whereNull('closed_at')
      .orderBy([{ column: 'priority', order: 'desc' }, 'arrived_at', 'seq'])) as Row[];
    return rows.map(toQueueEntry);
  }

  /**
   * One queue's open items as the database orders them for every instance (the view queue_order,
   * sql/009_item_priority.sql): live callers of all instances and open callbacks, priority first.
   */
  async openOrder(queueId: string): Promise<OrderedItem[]> {
    const rows = await this.db('queue_order').where({ queue_id: queueId }).orderBy('position').select<
      {
        kind: WorkItemKind;
        id: string;
        priority: number;
        arrived_at: Date;
        seq: string | number;
        route_id: string | null;
        position: string | number;
      }[]
    >('kind', 'id', 'priority', 'arrived_at', 'seq', 'route_id', 'position');
    return rows.map((r) => ({
      position: Number(r.position),
      kind: r.kind,
      id: r.id,
      priority: r.priority,
      arrivedAt: r.arrived_at,
      seq: Number(r.seq),
      routeId: r.route_id,
    }));
  }

  async get(id: string): Promise<QueueEntry | undefined> {
    const r = (await this.db('queue_entries').where({ id }).first()) as Row | undefined;
    return r ? toQueueEntry(r) : undefined;
  }

  /** Entries changed since `since` (the slow re-read behind the change notifications). */
  async changedSince(since: Date): Promise<QueueEntry[]> {
    const rows = (await this.db('queue_entries').where('updated_at', '>=', since).orderBy('updated_at')) as Row[];
    return rows.map(toQueueEntry);
  }
}
