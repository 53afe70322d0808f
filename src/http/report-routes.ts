import { AdminOperations } from '../engine/admin-port';
import { DayFigures, DayReport, DayReportQueryError } from '../store/day-report-queries';
import { ApiError, JsonSchema, RouteSpec } from './route-spec';
import { errors, ID } from './route-schemas';

/**
 * GET /api/v1/reports/day: the day's figures per queue, hour and agent, as JSON or (Accept:
 * text/csv) as CSV. Read only: admin and supervisor tokens.
 */

export interface ReportRouteDeps {
  admin: Pick<AdminOperations, 'now' | 'dayReport'>;
  /** config.reports: the defaults of a request that names neither. */
  reports: { serviceLevelSec: number; timeZone: string };
}

const num = { type: 'number' } as const;
const int = { type: 'integer' } as const;
const nnum = { type: ['number', 'null'] } as const;
const FIGURES: Record<string, JsonSchema> = {
  callersEntered: int,
  callsAnswered: int,
  abandoned: int,
  offersMade: int,
  offersAccepted: int,
  callbacksRequested: int,
  callbacksCompleted: int,
  callbacksCancelled: int,
  callbacksFailed: int,
  failedReasons: { type: 'object', additionalProperties: int, description: 'reason -> callbacks (failed or expired)' },
  serviceLevel: {
    type: 'object',
    properties: { withinSec: num, eligible: int, met: int, share: { ...nnum, description: 'met / eligible; null without callers' } },
  },
};
const HOUR: JsonSchema = {
  type: 'object',
  properties: {
    start: { type: 'string', format: 'date-time' },
    label: { type: 'string', description: 'Local clock, HH:MM' },
    callersWaiting: { ...num, description: 'Mean over the hour (time-weighted)' },
    callersWaitingAtEnd: int,
    callbacksOwed: { ...num, description: 'Mean over the hour (time-weighted)' },
    callbacksOwedAtEnd: int,
    conversations: int,
    requestToConversationMedianSec: nnum,
    requestToConversationP90Sec: nnum,
  },
};
const DAY_REPORT: JsonSchema = {
  type: 'object',
  properties: {
    date: { type: 'string', format: 'date' },
    timeZone: { type: 'string' },
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    serviceLevelSec: num,
    queueId: { type: 'string' },
    total: { type: 'object', properties: FIGURES },
    queues: {
      type: 'array',
      items: { type: 'object', properties: { queueId: { type: 'string' }, ...FIGURES, hours: { type: 'array', items: HOUR } } },
    },
    hours: { type: 'array', items: HOUR },
    agents: {
      type: 'array',
      items: { type: 'object', properties: { agentId: { type: 'string' }, calls: int, directCalls: int, callbacks: int } },
    },
    generatedAt: { type: 'string', format: 'date-time' },
  },
};

/** The calendar day of `epochMs` in a time zone, YYYY-MM-DD. */
export function localDate(epochMs: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(epochMs);
  const part = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** Whether the client asked for CSV rather than JSON (the first of the two it names wins). */
export function wantsCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(',').map((t) => (t.split(';')[0] ?? '').trim().toLowerCase());
  const csv = types.indexOf('text/csv');
  const json = types.findIndex((t) => t === 'application/json' || t === '*/*');
  return csv >= 0 && (json < 0 || csv < json);
}

/**
 * One CSV field. A text field that a spreadsheet would run as a formula (=, +, -, @) is prefixed
 * with a quote: queue ids and failure reasons come from the database.
 */
function field(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(Math.round(v * 1e6) / 1e6);
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const CSV_HEADER = ['section', 'queue', 'hour_start', 'hour', 'agent', 'metric', 'value'];

function figureRows(queue: string, f: DayFigures): (string | number | null)[][] {
  const row = (metric: string, value: number | null) => ['day', queue, null, null, null, metric, value];
  return [
    row('callers_entered', f.callersEntered),
    row('calls_answered', f.callsAnswered),
    row('abandoned', f.abandoned),
    row('offers_made', f.offersMade),
    row('offers_accepted', f.offersAccepted),
    row('callbacks_requested', f.callbacksRequested),
    row('callbacks_completed', f.callbacksCompleted),
    row('callbacks_cancelled', f.callbacksCancelled),
    row('callbacks_failed', f.callbacksFailed),
    ...Object.entries(f.failedReasons)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([reason, n]) => row(`failed_reason:${reason}`, n)),
    row('service_level_eligible', f.serviceLevel.eligible),
    row('service_level_met', f.serviceLevel.met),
    row('service_level_share', f.serviceLevel.share),
  ];
}

/**
 * The report as one CSV table in long form (one figure a line), which a spreadsheet pivots: the
 * day per queue and in total, each hour per queue and in total, each agent.
 */
export function dayReportCsv(r: DayReport): string {
  const rows: (string | number | null)[][] = [CSV_HEADER];
  rows.push(...figureRows('total', r.total));
  for (const q of r.queues) rows.push(...figureRows(q.queueId, q));
  for (const [queue, hours] of [['total', r.hours] as const, ...r.queues.map((q) => [q.queueId, q.hours] as const)]) {
    for (const h of hours) {
      const row = (metric: string, value: number | null) => ['hour', queue, h.start, h.label, null, metric, value];
      rows.push(
        row('callers_waiting', h.callersWaiting),
        row('callers_waiting_at_end', h.callersWaitingAtEnd),
        row('callbacks_owed', h.callbacksOwed),
        row('callbacks_owed_at_end', h.callbacksOwedAtEnd),
        row('conversations', h.conversations),
        row('request_to_conversation_median_sec', h.requestToConversationMedianSec),
        row('request_to_conversation_p90_sec', h.requestToConversationP90Sec),
      );
    }
  }
  for (const a of r.agents) {
    const row = (metric: string, value: number) => ['agent', null, null, null, a.agentId, metric, value];
    rows.push(row('calls', a.calls), row('direct_calls', a.directCalls), row('callbacks', a.callbacks));
  }
  return rows.map((cells) => cells.map(field).join(',')).join('\r\n') + '\r\n';
}

export function reportRoutes({ admin, reports }: ReportRouteDeps): RouteSpec[] {
  return [
    {
      method: 'GET',
      path: '/reports/day',
      summary: 'The figures of one day',
      description:
        'Per queue and in total: callers entered, answered, abandoned; offers made and accepted; callbacks requested, completed, cancelled and failed (with reasons); the service level. Per hour: callers waiting and callbacks owed, request-to-conversation median and 90th percentile. Per agent: calls, direct calls and callbacks. `Accept: text/csv` answers one CSV table, one figure a line.',
      tag: 'reports',
      access: 'supervisor',
      produces: ['text/csv'],
      query: {
        type: 'object',
        additionalProperties: false,
        properties: {
          date: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'YYYY-MM-DD; default: today in the time zone' },
          queue: { type: 'string', pattern: ID, description: 'One queue (direct:<agent> for direct calls); default: every queue' },
          timeZone: { type: 'string', pattern: '^[A-Za-z0-9_+/-]{1,64}$', description: 'IANA time zone; default reports.timeZone' },
          serviceLevelSec: { type: 'integer', minimum: 1, maximum: 86400, description: 'Default reports.serviceLevelSec' },
        },
      },
      responses: { '200': { description: 'The day report', schema: DAY_REPORT }, ...errors('400', '401', '403') },
      handler: async (req) => {
        const timeZone = typeof req.query.timeZone === 'string' ? req.query.timeZone : reports.timeZone;
        const serviceLevelSec = typeof req.query.serviceLevelSec === 'number' ? req.query.serviceLevelSec : reports.serviceLevelSec;
        let date = typeof req.query.date === 'string' ? req.query.date : undefined;
        let report: DayReport;
        try {
          date ??= localDate(admin.now(), timeZone);
          const queueId = typeof req.query.queue === 'string' ? req.query.queue : undefined;
          report = await admin.dayReport({ date, timeZone, serviceLevelSec, now: admin.now(), ...(queueId ? { queueId } : {}) });
        } catch (e) {
          if (e instanceof DayReportQueryError) throw new ApiError(400, e.message, e.field);
          if (e instanceof RangeError) throw new ApiError(400, `timeZone: unknown time zone '${timeZone}'`, 'timeZone');
          throw e;
        }
        if (wantsCsv(req.accept)) return { body: dayReportCsv(report), contentType: 'text/csv; charset=utf-8' };
        return { body: report };
      },
    },
  ];
}
