import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Knex } from 'knex';
import { CallMilestone } from '../calls/call-context';
import { WaitErrorTracker } from '../domain/estimated-wait';
import { AdminOperations } from '../engine/admin-port';
import { readStandbyLeaders } from './standby-leaders';

/**
 * Prometheus metrics for one running plugin, in a registry of its own (several plugins in one
 * process, as in the tests, do not mix). Live figures are read from the engine at scrape time.
 *
 * Figures from the database never hold a scrape: they are cached for DB_CACHE_MS (a fast scraper
 * cannot load the database), a stale cache starts one read in the background (never two at once,
 * so a stalled database holds at most one connection), the scrape waits for it at most
 * DB_SCRAPE_WAIT_MS and otherwise answers with the last figures read, and the read itself is
 * cancelled after DB_READ_TIMEOUT_MS. `direct_callback_db_figures_age_seconds` tells how old they are.
 */
export const DB_CACHE_MS = 5000;
export const DB_SCRAPE_WAIT_MS = 250;
export const DB_READ_TIMEOUT_MS = 3000;

/** What the metrics read of the engine: live queue figures, the wait model, and the milestones. */
export type MetricsSource = Pick<AdminOperations, 'now' | 'queueIds' | 'queueFigures' | 'estimatedWaitSec' | 'onMilestone'> &
  /** Without it (a stub), request-to-conversation is not observed. */
  Partial<Pick<AdminOperations, 'callbacks'>>;

/** Request to conversation: from seconds (a caller's callback at once) to a day (scheduled, retried). */
export const REQUEST_TO_CONVERSATION_BUCKETS = [30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];

interface DbFigures {
  at: number;
  byStatus: Map<string, number>;
  byOutcome: Map<string, number>;
  /** Per queue: the open callback owed longest, since when (epoch ms; a scheduled one from its time). */
  oldestOwed: Map<string, number>;
  /** Standby groups (leadership rows): whether a session holds the group's advisory lock now. */
  leaders: Map<string, boolean>;
}

export interface MetricsDeps {
  app: { readonly admin: MetricsSource };
  db: Knex;
  isAriConnected: () => boolean;
}

interface Entry {
  queueId: string;
  estimatedSec: number;
  enteredAt: number;
}

export class PluginMetrics {
  readonly registry = new Registry();
  private readonly waitErrors = new Map<string, WaitErrorTracker>();
  /** Callers waiting: the estimate they were given at entry (channel id -> entry). */
  private readonly entries = new Map<string, Entry>();
  private readonly channelQueue = new Map<string, string>();
  private dbCache: DbFigures | undefined;
  private dbRead: Promise<void> | undefined;
  private readonly startedAt: number;
  private readonly offers: Counter<'queue'>;
  private readonly accepted: Counter<'queue'>;
  private readonly requestToConversation: Histogram<'queue'>;
  private readonly dbReadErrors: Counter;
  private readonly source: MetricsSource;
  private readonly unsubscribe: () => void;

  constructor(private readonly deps: MetricsDeps) {
    const r = this.registry;
    const source = (this.source = deps.app.admin);
    this.startedAt = source.now();
    collectDefaultMetrics({ register: r, prefix: 'direct_callback_process_' });
    const queues = () => source.queueIds().map((id) => ({ id, f: source.queueFigures(id) }));
    new Gauge({
      name: 'direct_callback_queue_callers',
      help: 'Live callers waiting in the queue',
      labelNames: ['queue'],
      registers: [r],
      collect() {
        this.reset();
        for (const q of queues()) if (q.f) this.set({ queue: q.id }, q.f.callers);
      },
    });
    new Gauge({
      name: 'direct_callback_queue_callbacks',
      help: 'Pending callbacks holding a place in the queue',
      labelNames: ['queue'],
      registers: [r],
      collect() {
        this.reset();
        for (const q of queues()) if (q.f) this.set({ queue: q.id }, q.f.callbacks);
      },
    });
    new Gauge({
      name: 'direct_callback_queue_estimated_wait_seconds',
      help: 'Estimated wait for a caller joining the queue now',
      labelNames: ['queue'],
      registers: [r],
      collect() {
        this.reset();
        for (const q of queues()) if (q.f) this.set({ queue: q.id }, q.f.estimatedWaitSec);
      },
    });
    new Gauge({
      name: 'direct_callback_queue_agents',
      help: 'Agents of the queue: staffed (logged in, not paused) and available (free now)',
      labelNames: ['queue', 'state'],
      registers: [r],
      collect() {
        this.reset();
        for (const q of queues()) {
          if (!q.f) continue;
          this.set({ queue: q.id, state: 'staffed' }, q.f.agentsStaffed);
          this.set({ queue: q.id, state: 'available' }, q.f.agentsAvailable);
        }
      },
    });
    const waitErrors = this.waitErrors;
    new Gauge({
      name: 'direct_callback_wait_estimate_error_seconds',
      help: 'Estimated minus actual wait of connected callers: mean absolute error (stat=mae) and mean signed bias (stat=bias; positive = over-estimate), last 200 calls',
      labelNames: ['queue', 'stat'],
      registers: [r],
      collect() {
        this.reset();
        for (const [queue, t] of waitErrors) {
          const mae = t.meanAbsoluteErrorSec();
          const bias = t.meanBiasSec();
          if (mae !== undefined) this.set({ queue, stat: 'mae' }, mae);
          if (bias !== undefined) this.set({ queue, stat: 'bias' }, bias);
        }
      },
    });
    new Gauge({
      name: 'direct_callback_wait_estimate_samples',
      help: 'Connected callers whose wait estimate was measured (window of the error gauge)',
      labelNames: ['queue'],
      registers: [r],
      collect() {
        this.reset();
        for (const [queue, t] of waitErrors) this.set({ queue }, t.count);
      },
    });
    new Gauge({
      name: 'direct_callback_ari_connected',
      help: '1 while the ARI connection (WebSocket) is up, else 0',
      registers: [r],
      collect() {
        this.set(deps.isAriConnected() ? 1 : 0);
      },
    });
    // collect() is called with the gauge as `this`; these reach the metrics object.
    // Before the first read succeeds the database series are left out rather than shown as 0.
    const dbFigures = (): Promise<DbFigures | undefined> => this.dbFigures();
    new Gauge({
      name: 'direct_callback_callbacks',
      help: `Stored callbacks by status (database, cached up to ${DB_CACHE_MS / 1000} s; see direct_callback_db_figures_age_seconds)`,
      labelNames: ['status'],
      registers: [r],
      async collect() {
        const figures = await dbFigures();
        this.reset();
        if (!figures) return;
        for (const status of ['pending', 'in_progress', 'completed', 'failed', 'cancelled', 'expired'])
          this.set({ status }, figures.byStatus.get(status) ?? 0);
      },
    });
    new Gauge({
      name: 'direct_callback_attempts',
      help: `Finished callback attempts by outcome (database, cached up to ${DB_CACHE_MS / 1000} s; see direct_callback_db_figures_age_seconds)`,
      labelNames: ['outcome'],
      registers: [r],
      async collect() {
        const figures = await dbFigures();
        this.reset();
        for (const [outcome, n] of figures?.byOutcome ?? []) this.set({ outcome }, n);
      },
    });
    const dbAgeSec = (): number => (source.now() - (this.dbCache?.at ?? this.startedAt)) / 1000;
    new Gauge({
      name: 'direct_callback_db_figures_age_seconds',
      help: 'Age of the database figures served (since the plugin started, until the first read succeeds); grows while the database does not answer',
      registers: [r],
      async collect() {
        await dbFigures();
        this.set(dbAgeSec());
      },
    });
    this.offers = new Counter({
      name: 'direct_callback_offers_total',
      help: 'Callback offers played to waiting callers',
      labelNames: ['queue'],
      registers: [r],
    });
    this.accepted = new Counter({
      name: 'direct_callback_offers_accepted_total',
      help: 'Offers accepted: callbacks stored after the caller pressed 1',
      labelNames: ['queue'],
      registers: [r],
    });
    new Gauge({
      name: 'direct_callback_oldest_owed_callback_age_seconds',
      help: `Age of the open callback owed longest, per queue (since its request, or its scheduled time; database, cached up to ${DB_CACHE_MS / 1000} s)`,
      labelNames: ['queue'],
      registers: [r],
      async collect() {
        const figures = await dbFigures();
        this.reset();
        const now = source.now();
        for (const [queue, since] of figures?.oldestOwed ?? []) this.set({ queue }, Math.max(0, (now - since) / 1000));
      },
    });
    new Gauge({
      name: 'direct_callback_standby_group_leader',
      help: 'Per standby group: 1 while a process holds its leadership lock, else 0 (database; every member reports it)',
      labelNames: ['group'],
      registers: [r],
      async collect() {
        const figures = await dbFigures();
        this.reset();
        for (const [group, led] of figures?.leaders ?? []) this.set({ group }, led ? 1 : 0);
      },
    });
    this.dbReadErrors = new Counter({
      name: 'direct_callback_db_read_errors_total',
      help: "The metrics' database reads that failed or timed out (the database figures then age)",
      registers: [r],
    });
    this.requestToConversation = new Histogram({
      name: 'direct_callback_request_to_conversation_seconds',
      help: "Callbacks: from the request to the start of the conversation with an agent (observed by the process that bridged it; owed callbacks' queues as 'direct')",
      labelNames: ['queue'],
      buckets: REQUEST_TO_CONVERSATION_BUCKETS,
      registers: [r],
    });
    this.unsubscribe = source.onMilestone((name, data) => this.milestone(name, data));
  }

  stop(): void {
    this.unsubscribe();
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private milestone(name: CallMilestone, data: Record<string, unknown>): void {
    const channelId = typeof data.channelId === 'string' ? data.channelId : undefined;
    const queueOf = () => (data.direct === true ? 'direct' : ((channelId && this.channelQueue.get(channelId)) ?? 'unknown'));
    switch (name) {
      case 'caller_entered': {
        if (!channelId || typeof data.queueId !== 'string') return;
        const position = typeof data.position === 'number' ? data.position : 1;
        this.channelQueue.set(channelId, data.queueId);
        // The estimate this caller was given at entry, compared with the wait measured at connect.
        this.entries.set(channelId, {
          queueId: data.queueId,
          estimatedSec: this.source.estimatedWaitSec(data.queueId, position),
          enteredAt: this.source.now(),
        });
        this.trim();
        return;
      }
      case 'caller_connected': {
        const e = channelId ? this.entries.get(channelId) : undefined;
        if (!e || !channelId) return;
        this.entries.delete(channelId);
        let t = this.waitErrors.get(e.queueId);
        if (!t) this.waitErrors.set(e.queueId, (t = new WaitErrorTracker({ window: 200 })));
        t.record(e.estimatedSec, (this.source.now() - e.enteredAt) / 1000);
        return;
      }
      case 'offer_played':
        this.offers.inc({ queue: queueOf() });
        return;
      case 'callback_stored':
        this.accepted.inc({ queue: queueOf() });
        if (channelId) this.entries.delete(channelId);
        return;
      case 'bridged':
        if (typeof data.callbackId === 'string') this.observeConversation(data.callbackId, this.source.now());
        return;
      case 'caller_left':
        if (channelId) {
          this.entries.delete(channelId);
          this.channelQueue.delete(channelId);
        }
        return;
      default:
        return;
    }
  }

  /**
   * The callback's request time is in its row, not in the milestone: read it (one row by key,
   * once per conversation) and observe the time up to the bridge.
   */
  private observeConversation(callbackId: string, bridgedAt: number): void {
    this.source.callbacks?.get(callbackId).then(
      (cb) => {
        if (!cb) return;
        const queue = cb.queueId.startsWith('direct:') ? 'direct' : cb.queueId;
        this.requestToConversation.observe({ queue }, Math.max(0, (bridgedAt - cb.requestedAt.getTime()) / 1000));
      },
      () => this.dbReadErrors.inc(),
    );
  }

  /** Bounds the per-channel maps if hang-up milestones were ever missed. */
  private trim(): void {
    for (const m of [this.entries, this.channelQueue] as Map<string, unknown>[]) {
      while (m.size > 10000) {
        const first = m.keys().next();
        if (first.done) break;
        m.delete(first.value);
      }
    }
  }

  /** The freshest database figures available within DB_SCRAPE_WAIT_MS (see the class comment). */
  private async dbFigures(): Promise<DbFigures | undefined> {
    if (this.dbCache && this.source.now() - this.dbCache.at < DB_CACHE_MS) return this.dbCache;
    this.dbRead ??= this.readDb().finally(() => {
      this.dbRead = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, DB_SCRAPE_WAIT_MS);
      timer.unref();
    });
    await Promise.race([this.dbRead, waited]);
    clearTimeout(timer);
    return this.dbCache;
  }

  private async readDb(): Promise<void> {
    try {
      const byStatus = await this.deps
        .db('callback_requests')
        .select('status')
        .count<{ status: string; n: string }[]>({ n: '*' })
        .groupBy('status')
        .timeout(DB_READ_TIMEOUT_MS, { cancel: true });
      const byOutcome = await this.deps
        .db('callback_attempts')
        .whereNotNull('outcome')
        .select('outcome')
        .count<{ outcome: string; n: string }[]>({ n: '*' })
        .groupBy('outcome')
        .timeout(DB_READ_TIMEOUT_MS, { cancel: true });
      const oldest = await this.deps
        .db('callback_requests')
        .whereIn('status', ['pending', 'in_progress'])
        .where((q) => {
          void q.whereNull('not_before').orWhere('not_before', '<=', new Date(this.source.now()));
        })
        .select('queue_id')
        .min<{ queue_id: string; since: Date }[]>({ since: this.deps.db.raw('greatest(requested_at, arrived_at)') })
        .groupBy('queue_id')
        .timeout(DB_READ_TIMEOUT_MS, { cancel: true });
      this.dbCache = {
        at: this.source.now(),
        byStatus: new Map(byStatus.map((x) => [x.status, Number(x.n)])),
        byOutcome: new Map(byOutcome.map((x) => [x.outcome, Number(x.n)])),
        oldestOwed: new Map(oldest.map((x) => [x.queue_id, new Date(x.since).getTime()])),
        leaders: await readStandbyLeaders(this.deps.db, DB_READ_TIMEOUT_MS),
      };
    } catch {
      // Database down, locked or slow: keep the last figures (a scrape must not fail); their age shows.
      this.dbReadErrors.inc();
    }
  }
}
