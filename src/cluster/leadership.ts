import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { Logger } from '../logging/logger';

/**
 * Hot standby for one Asterisk: every plugin process of a standby group (the same Stasis app on
 * the same Asterisk) asks for a PostgreSQL session advisory lock; the one holding it leads, the
 * others block in `pg_advisory_lock` until it is free. Only the leader opens the ARI WebSocket.
 *
 * - A leader that dies (kill -9, host down) loses its database session, so the lock frees and a
 *   standby's blocked request returns at once.
 * - A leader whose session is lost while it lives (database restart, network) is `degraded`: it
 *   goes on serving the calls it has, since callers still reach agents without a database and,
 *   while the database cannot be reached, nobody else can take the lock either. It tries to take
 *   the lock again every `retryMs`:
 *   - taken: it leads again (`restored`);
 *   - held by another process: another leads, so it stops at once (`lost`), before its first
 *     request to Asterisk;
 *   - still held by its own vanished session (the server notices a silent client only after its
 *     TCP keepalives, set here to about 8 s): it waits and tries again.
 *   A new leader's WebSocket replaces the old one's app, so a degraded leader also stops when
 *   Asterisk tells it `ApplicationReplaced` (see plugin.ts).
 * - Each takeover increments the group's term in `leadership` (sql/004) and names the previous
 *   holder, whose callback claims the new leader may then treat as dead.
 */
export interface LeadershipOptions {
  databaseUrl: string;
  /** The standby group: processes with the same key share one lead. */
  groupKey: string;
  /** This process (instance id), stored as the holder. */
  holder: string;
  logger: Logger;
  heartbeatMs?: number;
  checkTimeoutMs?: number;
  retryMs?: number;
}

export interface Term {
  term: number;
  previousHolder: string | null;
}

export interface LeadershipEvents {
  degraded: [string];
  restored: [];
  lost: [string];
}

export type LeadershipState = 'waiting' | 'leading' | 'degraded' | 'lost' | 'released';

/** The 64-bit advisory lock key of a group (first 8 bytes of its SHA-256, as a signed bigint). */
export function advisoryKey(groupKey: string): string {
  return createHash('sha256').update(`direct-callback:${groupKey}`).digest().readBigInt64BE(0).toString();
}

export class Leadership extends EventEmitter<LeadershipEvents> {
  private client: Client | undefined;
  /** The session blocked in pg_advisory_lock while another process leads. */
  private waiting: Client | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private state: LeadershipState = 'waiting';
  private term = 0;
  private readonly key: string;

  constructor(private readonly opts: LeadershipOptions) {
    super();
    this.key = advisoryKey(opts.groupKey);
  }

  get current(): LeadershipState {
    return this.state;
  }

  /** This process may act on Asterisk: it leads, or led and nobody else has taken over. */
  get mayAct(): boolean {
    return this.state === 'leading' || this.state === 'degraded';
  }

  /** Read through a method: the state changes while acquire() awaits. */
  private released(): boolean {
    return this.state === 'released';
  }

  private newSession(): Client {
    const client = new Client({
      connectionString: this.opts.databaseUrl,
      application_name: 'direct-callback-leadership',
      keepAlive: true,
      keepAliveInitialDelayMillis: 1000,
    });
    client.on('error', (e) => this.sessionLost(client, `database session error: ${e.message}`));
    return client;
  }

  /** Server side: a client that vanishes silently is noticed after about 8 s (5 + 3 × 1). */
  private static async configure(client: Client): Promise<void> {
    await client.connect();
    await client.query('SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = 3');
  }

  /**
   * Resolves once this process leads (at once when nobody else does). `onWaiting` is called if
   * another process holds the lead, so that the wait is visible in the logs.
   */
  async acquire(onWaiting?: (holder: string | null) => void): Promise<Term> {
    for (;;) {
      if (this.released()) throw new Error('leadership released');
      const client = this.newSession();
      this.waiting = client;
      try {
        await Leadership.configure(client);
        const free = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [this.key]);
        if (!free.rows[0]?.ok) {
          onWaiting?.(await this.holderNow(client));
          await client.query('SELECT pg_advisory_lock($1::bigint)', [this.key]);
        }
        if (this.released()) throw new Error('leadership released while waiting');
        const r = await client.query<{ term: string; previous: string | null }>(
          `WITH prev AS (SELECT holder FROM leadership WHERE group_key = $1)
           INSERT INTO leadership (group_key, term, holder) VALUES ($1, 1, $2)
           ON CONFLICT (group_key) DO UPDATE SET term = leadership.term + 1, holder = EXCLUDED.holder, since = now()
           RETURNING term, (SELECT holder FROM prev) AS previous`,
          [this.opts.groupKey, this.opts.holder],
        );
        this.waiting = undefined;
        this.client = client;
        this.term = Number(r.rows[0]?.term ?? 1);
        this.state = 'leading';
        this.startHeartbeat();
        return { term: this.term, previousHolder: r.rows[0]?.previous ?? null };
      } catch (e) {
        this.waiting = undefined;
        await client.end().catch(() => undefined);
        if (this.released()) throw e;
        this.opts.logger.warn('leadership: database not reachable; retrying', { error: e instanceof Error ? e.message : String(e) });
        await new Promise((r) => setTimeout(r, this.opts.retryMs ?? 1000));
      }
    }
  }

  private async holderNow(client: Client): Promise<string | null> {
    const r = await client
      .query<{ holder: string; term: string }>('SELECT holder, term FROM leadership WHERE group_key = $1', [this.opts.groupKey])
      .catch(() => ({ rows: [] as { holder: string; term: string }[] }));
    return r.rows[0]?.holder ?? null;
  }

  private startHeartbeat(): void {
    const every = this.opts.heartbeatMs ?? 1000;
    const limit = this.opts.checkTimeoutMs ?? 2000;
    const beat = () => {
      const client = this.client;
      if (!client || this.state !== 'leading') return;
      let settled = false;
      const timer = setTimeout(() => {
        if (!settled) this.sessionLost(client, `database session did not answer within ${limit} ms`);
      }, limit);
      client.query('SELECT 1').then(
        () => {
          settled = true;
          clearTimeout(timer);
          if (this.state === 'leading' && this.client === client) this.heartbeat = setTimeout(beat, every);
        },
        (e: unknown) => {
          settled = true;
          clearTimeout(timer);
          this.sessionLost(client, `database session lost: ${e instanceof Error ? e.message : String(e)}`);
        },
      );
    };
    this.heartbeat = setTimeout(beat, every);
  }

  private sessionLost(client: Client, why: string): void {
    if (this.client !== client || this.state !== 'leading') return;
    this.client = undefined;
    if (this.heartbeat) clearTimeout(this.heartbeat);
    void client.end().catch(() => undefined);
    this.state = 'degraded';
    this.opts.logger.error('leadership: database session lost; serving on, taking the lock again as soon as the database answers', {
      why,
      group: this.opts.groupKey,
    });
    this.emit('degraded', why);
    this.scheduleRetake();
  }

  private scheduleRetake(): void {
    if (this.state !== 'degraded' || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.retake();
    }, this.opts.retryMs ?? 500);
  }

  private async retake(): Promise<void> {
    if (this.state !== 'degraded') return;
    const client = this.newSession();
    try {
      await Leadership.configure(client);
      const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [this.key]);
      if (got.rows[0]?.ok) {
        const r = await client.query<{ holder: string; term: string }>('SELECT holder, term FROM leadership WHERE group_key = $1', [
          this.opts.groupKey,
        ]);
        const row = r.rows[0];
        if (row && (row.holder !== this.opts.holder || Number(row.term) !== this.term)) {
          // The lock was free, but another process led meanwhile: its calls are not ours to touch.
          await client.end().catch(() => undefined);
          return this.lose(`another process (${row.holder}, term ${row.term}) led while this one was cut off`);
        }
        if (this.state !== 'degraded') {
          await client.end().catch(() => undefined);
          return;
        }
        this.client = client;
        this.state = 'leading';
        this.opts.logger.info('leadership: database session back; leading again', { group: this.opts.groupKey, term: this.term });
        this.startHeartbeat();
        this.emit('restored');
        return;
      }
      const holder = await this.holderNow(client);
      await client.end().catch(() => undefined);
      // Held by this very process's vanished session until the server notices it: try again.
      if (holder === this.opts.holder) return this.scheduleRetake();
      return this.lose(`another process leads: ${holder ?? 'unknown'}`);
    } catch {
      await client.end().catch(() => undefined);
      this.scheduleRetake(); // still no database: serve on
    }
  }

  /** Another process leads (or the lock is gone for good): nothing may be sent to Asterisk any more. */
  lose(why: string): void {
    if (this.state === 'lost' || this.state === 'released') return;
    this.state = 'lost';
    if (this.heartbeat) clearTimeout(this.heartbeat);
    if (this.retry) clearTimeout(this.retry);
    const c = this.client;
    this.client = undefined;
    void c?.end().catch(() => undefined);
    this.opts.logger.error('leadership lost: stopping all ARI requests', { why, group: this.opts.groupKey });
    this.emit('lost', why);
  }

  /** Gives the lead up (clean stop): the lock is released with the session. */
  async release(): Promise<void> {
    this.state = 'released';
    if (this.heartbeat) clearTimeout(this.heartbeat);
    if (this.retry) clearTimeout(this.retry);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
    await this.waiting?.end().catch(() => undefined);
  }
}
