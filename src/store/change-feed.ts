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
 * At most this many announcements in one statement. Each payload is at most 8,000 bytes
 * (PostgreSQL's limit; a row is far less), so a statement stays well under a megabyte.
 */
export const MAX_ANNOUNCEMENTS_PER_STATEMENT = 200;

/**
 * The announcements of one pool, sent in the order of the writes: two sent on different pool
 * connections could otherwise overtake each other (a claim's after its attempt's end). One
 * statement is in flight at a time, and the announcements that queued meanwhile go out together
 * in the next one: a burst of 100 bookings announced one statement each held a pool connection
 * for 100 round trips (at 10,000 held callers the announcements were a third of the plugin's
 * statements). Notifications sent in one statement are delivered in their order.
 */
class Announcer {
  private readonly queued: string[] = [];
  private sending: Promise<void> | undefined;
  /**
   * Numbers every payload: PostgreSQL delivers identical payloads sent in one transaction once,
   * which would drop a row's second identical state after another between them (A, B, A).
   */
  private sent = 0;

  constructor(private readonly db: Knex) {}

  add(table: AnnouncedTable, row: object): void {
    this.queued.push(JSON.stringify({ table, row, n: this.sent++ }));
    this.sending ??= this.drain();
  }

  /** Resolves once everything added so far was sent (or failed). */
  idle(): Promise<void> {
    return this.sending ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    while (this.queued.length > 0) {
      const batch = this.queued.splice(0, MAX_ANNOUNCEMENTS_PER_STATEMENT);
      try {
        await this.db.raw('SELECT pg_notify(?, p) FROM unnest(CAST(? AS text[])) AS p', [CHANGE_CHANNEL, batch]);
      } catch (e) {
        // One payload PostgreSQL refuses must not take the others with it: they go one by one.
        // Any other failure (the database unreachable) would fail them one by one too, each after
        // the pool's wait: the batch is dropped, and the listeners' slow re-read catches up.
        if (batch.length > 1 && isRefusedPayload(e))
          for (const payload of batch) await this.db.raw('SELECT pg_notify(?, ?)', [CHANGE_CHANNEL, payload]).catch(() => undefined);
      }
    }
    this.sending = undefined;
  }
}

/** PostgreSQL's answer to a payload it will not send (over 8,000 bytes): invalid_parameter_value. */
function isRefusedPayload(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === '22023';
}

const announcers = new WeakMap<Knex, Announcer>();

/**
 * Announces a committed change (the row as the database returned it) to every listening
 * instance. It is its own statement after COMMIT, not a trigger in the writing transaction:
 * PostgreSQL serializes the commits of transactions that NOTIFY, WAL flush included, which caps
 * every writer at one commit per disk flush. An announcement lost on the way is caught by the
 * listeners' slow re-read, so this never fails the write it follows.
 */
export function announceChange(db: Knex, table: AnnouncedTable, row: object): void {
  let announcer = announcers.get(db);
  if (!announcer) announcers.set(db, (announcer = new Announcer(db)));
  announcer.add(table, row);
}

/** Resolves once every announcement queued on `db` so far was sent (or failed): before a pool is destroyed. */
export function announcementsSent(db: Knex): Promise<void> {
  return announcers.get(db)?.idle() ?? Promise.resolve();
}
