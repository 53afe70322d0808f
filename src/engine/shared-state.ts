import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/config';
import { AriChannel } from '../ari/ari-events';
import { Logger } from '../logging/logger';
import { CallbackRow, toCallback } from '../store/callback-store';
import { QueueEntry, QueueEntryStore, QueueExitReason, toQueueEntry } from '../store/queue-entry-store';
import { AgentPresenceStore, PresenceSource, toAgentPresence } from '../store/agent-presence-store';
import { ChangeFeed } from '../store/change-feed';
import { AgentDirectory } from './agent-directory';
import { QueueBook } from './queue-book';
import { StoreSync } from './store-sync';

/** `2026-11-24T10:00:00.123+0000` (ARI) → epoch ms, or undefined. */
export function ariTime(ts: string | undefined): number | undefined {
  if (!ts) return undefined;
  const ms = Date.parse(ts.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isFinite(ms) ? ms : undefined;
}

/** A stored place whose channel was created at another time belongs to an earlier channel with the same id. */
const CREATION_TIME_TOLERANCE_MS = 2000;

/** The stores shared with other instances through PostgreSQL, and the notifications of their changes. */
export interface SharedStores {
  entries: QueueEntryStore;
  presence: AgentPresenceStore;
  feed?: ChangeFeed;
}

export interface CallerPlaceInput {
  channel: AriChannel;
  queueId: string;
  priority: number;
  arrivedAt: number;
  routeId: string | undefined;
  first?: { queueId: string; arrivedAt: number };
}

export interface CallerPlace {
  entryId: string;
  arrivedAt: number;
  seq: number;
}

export interface SharedStateDeps {
  /** Absent, live callers are kept in memory only (an app without a database of places). */
  stores: SharedStores | undefined;
  config: AppConfig;
  logger: Logger;
  agents: AgentDirectory;
  book: QueueBook;
  storeSync: StoreSync;
  /** The Asterisk this process serves, once ARI answered. */
  asteriskId(): string | undefined;
  /** The callers this process's sessions hold. */
  ownCallerIds(): string[];
  dispatchSoon(): void;
}

/**
 * The state this process shares with other instances: live callers' places (their own are
 * written here, other Asterisks' join the order so that positions count them), agents' presence,
 * and the change notifications that wake this process when another writer commits.
 */
export class SharedState {
  private readonly stores: SharedStores | undefined;
  /** The newest stored presence applied per agent (its updated_at), so stale notifications are skipped. */
  private readonly presenceSeenAt = new Map<string, number>();
  private stopped = false;

  constructor(private readonly deps: SharedStateDeps) {
    this.stores = deps.stores;
    const feed = deps.stores?.feed;
    feed?.on('change', (c) => this.onChange(c.table, c.row));
    feed?.on('resync', () => void this.resync());
    feed?.on('error', (e) => deps.logger.warn('database change feed', { error: e.message }));
  }

  stop(): void {
    this.stopped = true;
  }

  /** Log-in and pause as last set (API, panel, feature code), whatever the config file says. */
  async restorePresence(): Promise<void> {
    if (!this.stores) return;
    try {
      for (const p of await this.stores.presence.all()) {
        this.presenceSeenAt.set(p.agentId, p.updatedAt.getTime());
        this.deps.agents.restorePresence(p.agentId, p.loggedIn, p.paused);
      }
    } catch (e) {
      this.deps.logger.warn('agent presence not restored from the database; the config applies', { error: String(e) });
    }
  }

  /** A presence change made here, stored; its own notification is then recognised as not newer. */
  async storePresence(
    agentId: string,
    change: { loggedIn?: boolean; paused?: boolean },
    now: { loggedIn: boolean; paused: boolean },
    source: PresenceSource,
  ): Promise<void> {
    if (!this.stores) return;
    const stored = await this.stores.presence.set(agentId, change, now, source);
    this.presenceSeenAt.set(agentId, Math.max(stored.updatedAt.getTime(), this.presenceSeenAt.get(agentId) ?? 0));
  }

  /**
   * Every open place from the database: other Asterisks' live callers join the order, and places
   * of this Asterisk that no live caller holds any more (the call ended while no process was
   * serving it) are closed.
   */
  async loadCallers(): Promise<void> {
    if (!this.stores || this.deps.asteriskId() === undefined) return;
    try {
      const open = await this.stores.entries.listOpen();
      const mine = new Set(this.deps.ownCallerIds());
      for (const e of open) {
        if (!this.holds(e)) this.placeRemoteCaller(e);
        else if (!mine.has(e.channelId)) this.closeQueueEntry(e.id, 'gone');
      }
    } catch (e) {
      this.deps.logger.warn('could not read the shared queue entries', { error: String(e) });
    }
  }

  /** After the change feed was lost: re-read what may have been missed. */
  async resync(): Promise<void> {
    await this.deps.storeSync.sync();
    await this.restorePresence();
    if (!this.stores) return;
    const { book } = this.deps;
    try {
      const open = await this.stores.entries.listOpen();
      const openIds = new Set(open.map((e) => e.id));
      for (const id of book.remoteCallerIds()) if (!openIds.has(id)) book.removeRemoteCaller(id);
      for (const e of open) if (!this.holds(e)) this.placeRemoteCaller(e);
    } catch (e) {
      this.deps.logger.warn('could not re-read the shared queue entries', { error: String(e) });
    }
    this.deps.dispatchSoon();
  }

  /**
   * Stores a live caller's place, or finds the one already stored for this channel (a caller
   * adopted after a restart keeps its place). Undefined without a database of places.
   */
  async storeQueueEntry(input: CallerPlaceInput): Promise<CallerPlace | undefined> {
    const entries = this.stores?.entries;
    const asteriskId = this.deps.asteriskId();
    if (!entries || asteriskId === undefined) return undefined;
    const { channel } = input;
    const created = ariTime(channel.creationtime);
    const fresh = () =>
      entries.open({
        id: randomUUID(),
        queueId: input.queueId,
        ...(input.first ? { firstQueueId: input.first.queueId, firstArrivedAt: new Date(input.first.arrivedAt) } : {}),
        priority: input.priority,
        arrivedAt: new Date(input.arrivedAt),
        asteriskId,
        channelId: channel.id,
        app: this.deps.config.ari.app,
        channelCreatedAt: created !== undefined ? new Date(created) : null,
        instanceId: this.deps.config.instanceId,
        routeId: input.routeId ?? null,
        callerNumber: channel.caller.number || null,
        callerName: channel.caller.name || null,
        language: channel.language ?? null,
      });
    try {
      let entry = await fresh();
      if (
        created !== undefined &&
        entry.channelCreatedAt &&
        Math.abs(entry.channelCreatedAt.getTime() - created) > CREATION_TIME_TOLERANCE_MS
      ) {
        this.deps.logger.warn('stored place belongs to an earlier channel with the same id; a new place is taken', {
          channelId: channel.id,
          entryId: entry.id,
        });
        await entries.close(entry.id, 'gone');
        entry = await fresh();
      }
      return { entryId: entry.id, arrivedAt: entry.arrivedAt.getTime(), seq: entry.seq };
    } catch (e) {
      this.deps.logger.warn('caller place not stored', { channelId: channel.id, error: String(e) });
      return undefined;
    }
  }

  /** The old place is closed first, so that the new one is never the old one found again. */
  async moveQueueEntry(oldEntryId: string | undefined, input: CallerPlaceInput): Promise<CallerPlace | undefined> {
    if (oldEntryId !== undefined)
      await this.stores?.entries
        .close(oldEntryId, 'moved')
        .catch((e: unknown) => this.deps.logger.warn('old place not closed on a move', { entryId: oldEntryId, error: String(e) }));
    return this.storeQueueEntry(input);
  }

  /** Retried with backoff: a place left open would count in other instances' positions until the next reconciliation. */
  closeQueueEntry(entryId: string, reason: QueueExitReason, callbackId?: string): void {
    const entries = this.stores?.entries;
    if (!entries) return;
    const attempt = (n: number): void => {
      entries.close(entryId, reason, { callbackId }).catch((e: unknown) => {
        if (n >= 5 || this.stopped) {
          this.deps.logger.warn('caller place not closed; the next reconciliation closes it', { entryId, reason, error: String(e) });
          return;
        }
        setTimeout(() => attempt(n + 1), 500 * 2 ** n).unref();
      });
    };
    attempt(0);
  }

  /** The open place stored for a channel of this Asterisk (a caller to adopt), if the database answers. */
  async findOpenPlace(channelId: string): Promise<QueueEntry | undefined> {
    const asteriskId = this.deps.asteriskId();
    if (!this.stores || asteriskId === undefined) return undefined;
    return this.stores.entries.findOpen(asteriskId, channelId).catch(() => undefined);
  }

  recordQueueEntryAction(entryId: string, action: string, detail: Record<string, unknown>): void {
    this.stores?.entries
      .recordAction(entryId, action, detail)
      .catch((e: unknown) => this.deps.logger.warn('overflow action not stored', { entryId, action, error: String(e) }));
  }

  /** A caller in this process's Stasis app on this process's Asterisk (else another instance's). */
  private holds(e: QueueEntry): boolean {
    return e.asteriskId === this.deps.asteriskId() && e.app === this.deps.config.ari.app;
  }

  private placeRemoteCaller(e: QueueEntry): void {
    const { book } = this.deps;
    book.removeRemoteCaller(e.id);
    if (e.closedAt !== null) return;
    book.addRemoteCaller({
      id: e.id,
      queueId: e.queueId,
      kind: 'caller',
      priority: e.priority,
      arrivedAt: e.arrivedAt.getTime(),
      seq: e.seq,
    });
  }

  /** A change another writer (instance, API, CLI) committed, announced by the database. */
  private onChange(table: string, row: Record<string, unknown>): void {
    try {
      if (table === 'callback_requests') {
        this.deps.storeSync.apply(toCallback(row as unknown as CallbackRow));
      } else if (table === 'queue_entries') {
        const e = toQueueEntry(row as unknown as Parameters<typeof toQueueEntry>[0]);
        // This process's own callers are its sessions: they are the truth about them.
        if (this.holds(e)) return;
        this.placeRemoteCaller(e);
      } else if (table === 'agent_presence') {
        const p = toAgentPresence(row as unknown as Parameters<typeof toAgentPresence>[0]);
        // A notification of this process's own earlier write may arrive after a later change.
        if (p.updatedAt.getTime() <= (this.presenceSeenAt.get(p.agentId) ?? 0)) return;
        this.presenceSeenAt.set(p.agentId, p.updatedAt.getTime());
        this.deps.agents.restorePresence(p.agentId, p.loggedIn, p.paused);
      }
      this.deps.dispatchSoon();
    } catch (e) {
      this.deps.logger.warn('change notification not applied', { table, error: String(e) });
    }
  }
}
