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
 * - A leader that loses its database session while alive (network, database restart) must stop
 *   before anyone else can lead: it checks its session every `heartbeatMs` and gives up the lead
 *   (`lost`) when a check fails or takes longer than `checkTimeoutMs`. The database notices a
 *   silent client only after the TCP keepalives set on the session (idle 5 s + 3 × 1 s), so the
 *   old leader has stopped well before the lock can pass on.
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
}

export interface Term {
  term: number;
  previousHolder: string | null;
}

export interface LeadershipEvents {
  lost: [string];
}

/** The 64-bit advisory lock key of a group (first 8 bytes of its SHA-256, as a signed bigint). */
export function advisoryKey(groupKey: string): string {
  return createHash('sha256').update(`direct-callback:${groupKey}`).digest().readBigInt64BE(0).toString();
}

export class Leadership extends EventEmitter<LeadershipEvents> {
  private client: Client | undefined;
  /** The session blocked in pg_advisory_lock while another process leads. */
  private waiting: Client | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private leading = false;
  private released = false;

  constructor(private readonly opts: LeadershipOptions) {
    super();
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Resolves once this process leads (at once when nobody else does). `onWaiting` is called if
   * another process holds the lead, so that the wait is visible in the logs.
   */
  async acquire(onWaiting?: (holder: string | null) => void): Promise<Term> {
    const key = advisoryKey(this.opts.groupKey);
    for (;;) {
      if (this.released) throw new Error('leadership released');
      const client = new Client({ connectionString: this.opts.databaseUrl, application_name: 'direct-callback-leadership', keepAlive: true, keepAliveInitialDelayMillis: 1000 });
      client.on('error', (e) => this.onLost(`database session error: ${e.message}`));
      this.waiting = client;
      try {
        await client.connect();
        // Server side: a client that vanishes silently is noticed after about 8 s.
        await client.query('SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = 3');
        const free = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key]);
        if (!free.rows[0]?.ok) {
          const current = await client.query<{ holder: string }>('SELECT holder FROM leadership WHERE group_key = $1', [this.opts.groupKey]).catch(() => ({ rows: [] as { holder: string }[] }));
          onWaiting?.(current.rows[0]?.holder ?? null);
          await client.query('SELECT pg_advisory_lock($1::bigint)', [key]);
        }
        if (this.released) {
          await client.end().catch(() => undefined);
          throw new Error('leadership released while waiting');
        }
        const r = await client.query<{ term: string; previous: string | null }>(
          `WITH prev AS (SELECT holder FROM leadership WHERE group_key = $1)
           INSERT INTO leadership (group_key, term, holder) VALUES ($1, 1, $2)
           ON CONFLICT (group_key) DO UPDATE SET term = leadership.term + 1, holder = EXCLUDED.holder, since = now()
           RETURNING term, (SELECT holder FROM prev) AS previous`,
          [this.opts.groupKey, this.opts.holder],
        );
        this.waiting = undefined;
        this.client = client;
        this.leading = true;
        this.startHeartbeat();
        return { term: Number(r.rows[0]?.term ?? 1), previousHolder: r.rows[0]?.previous ?? null };
      } catch (e) {
        await client.end().catch(() => undefined);
        if (this.released) throw e;
        this.opts.logger.warn('leadership: database not reachable; retrying', { error: e instanceof Error ? e.message : String(e) });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private startHeartbeat(): void {
    const every = this.opts.heartbeatMs ?? 1000;
    const limit = this.opts.checkTimeoutMs ?? 2000;
    const beat = () => {
      const client = this.client;
      if (!client || !this.leading) return;
      let settled = false;
      const timer = setTimeout(() => {
        if (!settled) this.onLost(`database session did not answer within ${limit} ms`);
      }, limit);
      client.query('SELECT 1').then(
        () => {
          settled = true;
          clearTimeout(timer);
          if (this.leading) this.heartbeat = setTimeout(beat, every);
        },
        (e: unknown) => {
          settled = true;
          clearTimeout(timer);
          this.onLost(`database session lost: ${e instanceof Error ? e.message : String(e)}`);
        },
      );
    };
    this.heartbeat = setTimeout(beat, every);
  }

  private onLost(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    if (this.heartbeat) clearTimeout(this.heartbeat);
    this.opts.logger.error('leadership lost: stopping all ARI requests', { why, group: this.opts.groupKey });
    const c = this.client;
    this.client = undefined;
    void c?.end().catch(() => undefined);
    this.emit('lost', why);
  }

  /** Gives the lead up (clean stop): the lock is released with the session. */
  async release(): Promise<void> {
    this.released = true;
    this.leading = false;
    if (this.heartbeat) clearTimeout(this.heartbeat);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
    await this.waiting?.end().catch(() => undefined);
  }
}
