import { EventEmitter } from 'node:events';
import { Client } from 'pg';
import type { Knex } from 'knex';

/**
 * The database's change notifications (`LISTEN direct_callback`, announced by every writer after
 * COMMIT, see announceChange): another instance's new callback, a claim, a caller entering or
 * leaving a queue, an agent logging in. One dedicated connection; after it is lost and
 * re-established, a `resync` event asks the listener to re-read what it may have missed.
 */
export interface ChangeFeedEvents {
  change: [{ table: string; row: Record<string, unknown> }];
  resync: [];
  error: [Error];
}

export const CHANGE_CHANNEL = 'direct_callback';

export class ChangeFeed extends EventEmitter<ChangeFeedEvents> {
  private client: Client | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private delayMs = 200;

  constructor(private readonly url: string) {
    super();
  }

  /** Resolves once listening (or rejects the first time the database cannot be reached). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.url, application_name: 'direct-callback-feed', keepAlive: true });
    client.on('notification', (n) => {
      if (n.channel !== CHANGE_CHANNEL || !n.payload) return;
      try {
        const parsed = JSON.parse(n.payload) as { table?: unknown; row?: unknown };
        if (typeof parsed.table === 'string' && parsed.row && typeof parsed.row === 'object')
          this.emit('change', { table: parsed.table, row: parsed.row as Record<string, unknown> });
      } catch (e) {
        this.emit('error', e instanceof Error ? e : new Error(String(e)));
      }
    });
    const lost = (e?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (e) this.emit('error', e);
      this.scheduleReconnect();
    };
    client.on('error', (e) => lost(e));
    client.on('end', () => lost());
    await client.connect();
    await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.delayMs = 200;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().then(
        () => this.emit('resync'),
        (e: unknown) => {
          this.emit('error', e instanceof Error ? e : new Error(String(e)));
          this.delayMs = Math.min(5000, this.delayMs * 2);
          this.scheduleReconnect();
        },
      );
    }, this.delayMs);
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}

/** The tables whose changes other instances follow. */
export type AnnouncedTable = 'callback_requests' | 'queue_entries' | 'agent_presence';

/**
 * Announces a committed change (the row as the database returned it) to every listening
 * instance. It is its own statement after COMMIT, not a trigger in the writing transaction:
 * PostgreSQL serializes the commits of transactions that NOTIFY, WAL flush included, which caps
 * every writer at one commit per disk flush. An announcement lost on the way is caught by the
 * listeners' slow re-read, so this never fails the write it follows.
 */
export function announceChange(db: Knex, table: AnnouncedTable, row: object): void {
  // In the order of the writes: two announcements sent on different pool connections could
  // otherwise overtake each other (a claim's after its attempt's end).
  const payload = JSON.stringify({ table, row });
  const previous = announcing.get(db) ?? Promise.resolve();
  const next = previous
    .then(() => db.raw('SELECT pg_notify(?, ?)', [CHANGE_CHANNEL, payload]))
    .then(
      () => undefined,
      () => undefined,
    );
  announcing.set(db, next);
}

const announcing = new WeakMap<Knex, Promise<void>>();

/** Resolves once every announcement queued on `db` so far was sent (or failed): before a pool is destroyed. */
export function announcementsSent(db: Knex): Promise<void> {
  return announcing.get(db) ?? Promise.resolve();
}
