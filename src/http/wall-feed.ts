import { AdminOperations } from '../engine/admin-port';
import { Logger } from '../logging/logger';
import { DayFigures, DayReport, HourFigures } from '../store/day-report-queries';

/**
 * The wallboard's one producer. However many screens watch, the process builds one frame a
 * second from the engine's memory (admin.wallSnapshot()) and the day report, serializes it once,
 * and writes that same text to every viewer. The day report is the only database read; it is
 * refreshed at most every `dayRefreshMs`, one read at a time, and shared by all. Nobody watching:
 * no timer, no read.
 */

// The engine's shapes, named through its admin port (the only way in from the HTTP surface).
type WallSnapshot = ReturnType<AdminOperations['wallSnapshot']>;
type WallQueue = WallSnapshot['queues'][number];
type WallAgent = WallSnapshot['agents'][number];

export interface WallAgentRow extends WallAgent {
  /** Queue callers and direct calls the agent answered today (the day report). */
  callsToday: number;
  /** Callback conversations the agent had today (the day report). */
  callbacksToday: number;
}

export interface WallDay {
  date: string;
  timeZone: string;
  serviceLevelSec: number;
  total: DayFigures;
  hours: HourFigures[];
  generatedAt: string;
}

export interface WallFrame {
  at: string;
  queues: WallQueue[];
  agents: WallAgentRow[];
  /** The day so far; null until the first report was read. */
  day: WallDay | null;
  /** True when the last read of the day report failed: `day` is older than it should be. */
  dayStale: boolean;
}

export interface WallFeedOptions {
  timeZone: string;
  serviceLevelSec: number;
  /** How often viewers get a frame (the live ages tick in whole seconds). */
  tickMs?: number;
  /** The day report is read again at most this often. */
  dayRefreshMs?: number;
}

type Viewer = (eventText: string) => void;

/** YYYY-MM-DD of an instant in a time zone. */
export function localDate(at: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
  const part = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

export class WallFeed {
  private readonly viewers = new Set<Viewer>();
  private timer: NodeJS.Timeout | undefined;
  private latest: string | undefined;
  private day: DayReport | undefined;
  private dayNextRead = 0;
  private dayReading: Promise<void> | undefined;
  private dayStale = false;
  private readonly tickMs: number;
  private readonly dayRefreshMs: number;
  /** Frames built (for the tests: the same for one viewer or many). */
  runs = 0;
  /** Day reports read from the database. */
  dayReads = 0;

  constructor(
    private readonly admin: Pick<AdminOperations, 'now' | 'wallSnapshot' | 'dayReport'>,
    private readonly opts: WallFeedOptions,
    private readonly logger: Logger,
  ) {
    this.tickMs = opts.tickMs ?? 1000;
    this.dayRefreshMs = opts.dayRefreshMs ?? 5000;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Adds a viewer: it gets the latest frame at once, then every frame. Returns the unsubscribe. */
  subscribe(viewer: Viewer): () => void {
    this.viewers.add(viewer);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref();
      this.tick();
    } else if (this.latest) viewer(this.latest);
    return () => {
      this.viewers.delete(viewer);
      if (this.viewers.size === 0) this.stopTimer();
    };
  }

  /** One frame now, for a single request (GET /api/v1/wall): waits for the day report when it is due. */
  async current(): Promise<WallFrame> {
    if (this.dayDue()) await this.readDay();
    else if (this.dayReading) await this.dayReading;
    return this.build();
  }

  stop(): void {
    this.viewers.clear();
    this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.latest = undefined;
  }

  private tick(): void {
    if (this.dayDue()) void this.readDay().then(() => this.viewers.size > 0 && this.publish());
    this.publish();
  }

  private publish(): void {
    let frame: WallFrame;
    try {
      frame = this.build();
    } catch (e) {
      this.logger.error('wallboard: the snapshot failed', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      return;
    }
    this.latest = `event: wall\ndata: ${JSON.stringify(frame)}\n\n`;
    for (const v of this.viewers) v(this.latest);
  }

  private today(): string {
    return localDate(this.admin.now(), this.opts.timeZone);
  }

  /** Due when the last read (success or failure) is dayRefreshMs old: a failing database is not hammered either. */
  private dayDue(): boolean {
    return !this.dayReading && this.admin.now() >= this.dayNextRead;
  }

  /** One read at a time; a failure keeps the last report and marks it stale. */
  private readDay(): Promise<void> {
    this.dayReading ??= (async () => {
      const date = this.today();
      this.dayReads += 1;
      try {
        const report = await this.admin.dayReport({ date, timeZone: this.opts.timeZone, serviceLevelSec: this.opts.serviceLevelSec });
        this.day = report;
        if (this.dayStale) this.logger.info('wallboard: the day report reads again');
        this.dayStale = false;
      } catch (e) {
        if (!this.dayStale)
          this.logger.warn('wallboard: the day report could not be read', { error: e instanceof Error ? e.message : String(e) });
        this.dayStale = true;
      }
      this.dayNextRead = this.admin.now() + this.dayRefreshMs;
      this.dayReading = undefined;
    })();
    return this.dayReading;
  }

  private build(): WallFrame {
    this.runs += 1;
    const live = this.admin.wallSnapshot();
    const report = this.day;
    const today = new Map((report?.agents ?? []).map((a) => [a.agentId, a]));
    return {
      at: live.at,
      queues: live.queues,
      agents: live.agents.map((a) => {
        const t = today.get(a.id);
        return { ...a, callsToday: t ? t.calls + t.directCalls : 0, callbacksToday: t?.callbacks ?? 0 };
      }),
      day: report
        ? {
            date: report.date,
            timeZone: report.timeZone,
            serviceLevelSec: report.serviceLevelSec,
            total: report.total,
            hours: report.hours,
            generatedAt: report.generatedAt,
          }
        : null,
      dayStale: this.dayStale,
    };
  }
}
