/**
 * Per-queue operating hours in the queue's own time zone (IANA name, resolved with
 * Intl.DateTimeFormat; Node 20 ships full ICU). No hours configured means always open.
 *
 * Semantics:
 * - A weekly range { day, open, close } opens at local wall-clock `open` on `day` and closes at
 *   `close`; the closing instant itself is closed ([open, close)). Ranges may overlap (union).
 * - close '24:00' means midnight at the end of the day. close < open is an OVERNIGHT range that
 *   ends on the next day ('fri' 22:00-02:00 closes Saturday 02:00). close == open is an error
 *   (ambiguous between nothing and 24 hours: write 00:00-24:00).
 * - closedDates are local 'YYYY-MM-DD' days on which no range OPENS. An overnight range belongs to
 *   the day it opens: Dec 24 22:00-02:00 still runs until 02:00 on a closed Dec 25.
 * - DST: wall-clock times map to instants like Temporal's 'compatible' disambiguation. A time in
 *   the spring-forward gap (02:30 in Paris on the last Sunday of March) is moved forward by the
 *   gap (03:30 local); an ambiguous fall-back time (02:30 twice) is the FIRST occurrence. So a
 *   09:00-17:00 day is always 09:00-17:00 local, a 22:00-06:00 night is 7 h long on
 *   spring-forward and 9 h on fall-back, and a 02:00-03:00 range vanishes on a spring-forward day.
 */

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

export interface WeeklyRange {
  day: Weekday;
  /** 'HH:MM', 00:00-23:59 */
  open: string;
  /** 'HH:MM', 00:00-24:00; earlier than open = overnight */
  close: string;
}

export interface OperatingHours {
  /** IANA time zone, e.g. 'Europe/Paris'. */
  timeZone: string;
  weekly: WeeklyRange[];
  /** Local dates without any opening, 'YYYY-MM-DD'. */
  closedDates?: string[];
}

const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']; // index = Date#getUTCDay()
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Validation

function parseHHMM(s: unknown, allow24: boolean): number | null {
  if (typeof s !== 'string' || s.length !== 5 || s[2] !== ':') return null;
  const digits = s.slice(0, 2) + s.slice(3);
  for (let i = 0; i < 4; i++) if (digits.charCodeAt(i) < 48 || digits.charCodeAt(i) > 57) return null;
  const h = Number(digits.slice(0, 2));
  const m = Number(digits.slice(2));
  if (m > 59) return null;
  if (h === 24 && m === 0 && allow24) return 24 * 60;
  return h <= 23 ? h * 60 + m : null;
}

interface LocalDate {
  y: number;
  m: number; // 1-12
  d: number;
}

function parseLocalDate(s: unknown): LocalDate | null {
  if (typeof s !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(s)) return null;
  const y = Number(s.slice(0, 4));
  const m = Number(s.slice(5, 7));
  const d = Number(s.slice(8, 10));
  const t = new Date(Date.UTC(y, m - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d) return null;
  return { y, m, d };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Configuration errors; empty when the hours are usable. */
export function validateOperatingHours(h: OperatingHours): string[] {
  const errors: string[] = [];
  if (typeof h.timeZone !== 'string' || h.timeZone === '') errors.push('timeZone is required (IANA name, e.g. Europe/Paris)');
  else {
    try {
      formatterFor(h.timeZone);
    } catch {
      errors.push(`unknown time zone ${JSON.stringify(h.timeZone)}`);
    }
  }
  if (!Array.isArray(h.weekly)) errors.push('weekly must be a list of { day, open, close }');
  else {
    h.weekly.forEach((r, i) => {
      const where = `weekly[${i}]`;
      if (!WEEKDAYS.includes(r.day))
        errors.push(`${where}: day must be one of mon, tue, wed, thu, fri, sat, sun, got ${JSON.stringify(r.day)}`);
      const open = parseHHMM(r.open, false);
      const close = parseHHMM(r.close, true);
      if (open === null) errors.push(`${where}: open must be HH:MM between 00:00 and 23:59, got ${JSON.stringify(r.open)}`);
      if (close === null) errors.push(`${where}: close must be HH:MM between 00:00 and 24:00, got ${JSON.stringify(r.close)}`);
      if (open !== null && close !== null && open === close)
        errors.push(`${where}: open equals close (${r.open}); write 00:00-24:00 for a whole day`);
    });
  }
  if (h.closedDates !== undefined) {
    if (!Array.isArray(h.closedDates)) errors.push('closedDates must be a list of YYYY-MM-DD');
    else
      for (const d of h.closedDates)
        if (parseLocalDate(d) === null) errors.push(`closedDates: not a YYYY-MM-DD calendar date: ${JSON.stringify(d)}`);
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Time zone arithmetic

/** Local wall-clock fields of `ms` in the zone, encoded as if they were UTC (seconds precision). */
function wallAsUtc(f: Intl.DateTimeFormat, ms: number): number {
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(ms)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
}

/** UTC offset (ms) of the zone at instant `ms`. */
function offsetAt(f: Intl.DateTimeFormat, ms: number): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallAsUtc(f, whole) - whole;
}

/**
 * The instant of a local wall-clock time ('compatible' disambiguation, see the header). Assumes
 * at most one offset change within a day either side, which holds for every real zone.
 */
function localToEpoch(f: Intl.DateTimeFormat, wall: number): number {
  const before = offsetAt(f, wall - DAY_MS);
  const after = offsetAt(f, wall + DAY_MS);
  const candidates: number[] = [];
  for (const off of before === after ? [before] : [before, after]) {
    const t = wall - off;
    if (offsetAt(f, t) === off) candidates.push(t);
  }
  if (candidates.length > 0) return Math.min(...candidates);
  return wall - before; // in the gap: keep the pre-transition offset, which lands after the gap
}

// ---------------------------------------------------------------------------------------------
// Queries

interface Prepared {
  f: Intl.DateTimeFormat;
  byDay: Map<number, { open: number; close: number }[]>; // weekday index -> minutes; close may be > 1440 for overnight
  closed: Set<string>;
}

const preparedCache = new WeakMap<OperatingHours, Prepared>();

function prepare(h: OperatingHours): Prepared {
  const hit = preparedCache.get(h);
  if (hit) return hit;
  const errors = validateOperatingHours(h);
  if (errors.length > 0) throw new RangeError(`invalid operating hours: ${errors.join('; ')}`);
  const byDay = new Map<number, { open: number; close: number }[]>();
  for (const r of h.weekly) {
    const open = parseHHMM(r.open, false) as number;
    let close = parseHHMM(r.close, true) as number;
    if (close < open) close += 24 * 60; // overnight
    const idx = WEEKDAYS.indexOf(r.day);
    const list = byDay.get(idx) ?? [];
    list.push({ open, close });
    byDay.set(idx, list);
  }
  const p: Prepared = { f: formatterFor(h.timeZone), byDay, closed: new Set(h.closedDates ?? []) };
  preparedCache.set(h, p);
  return p;
}

/** Local midnight (as UTC-encoded wall time) of the local day containing `ms`. */
function localDayStart(p: Prepared, ms: number): number {
  const wall = wallAsUtc(p.f, ms);
  return wall - (((wall % DAY_MS) + DAY_MS) % DAY_MS);
}

function isoDate(dayWall: number): string {
  return new Date(dayWall).toISOString().slice(0, 10);
}

/** Ranges opening on the local day `dayWall` as [openMs, closeMs) instants, empty ones dropped. */
function rangesOn(p: Prepared, dayWall: number): [number, number][] {
  if (p.closed.has(isoDate(dayWall))) return [];
  const out: [number, number][] = [];
  for (const r of p.byDay.get(new Date(dayWall).getUTCDay()) ?? []) {
    const open = localToEpoch(p.f, dayWall + r.open * MINUTE_MS);
    const close = localToEpoch(p.f, dayWall + r.close * MINUTE_MS);
    if (open < close) out.push([open, close]);
  }
  return out;
}

/** Always true for undefined hours (no hours configured = always open). Throws RangeError on invalid hours. */
export function isOpen(hours: OperatingHours | undefined, nowMs: number): boolean {
  if (hours === undefined) return true;
  const p = prepare(hours);
  const today = localDayStart(p, nowMs);
  for (const day of [today - DAY_MS, today]) {
    for (const [open, close] of rangesOn(p, day)) if (open <= nowMs && nowMs < close) return true;
  }
  return false;
}

/**
 * nowMs when open now; otherwise the instant of the next opening; null when the hours never
 * open again (no weekly ranges). Throws RangeError on invalid hours.
 */
export function nextOpening(hours: OperatingHours | undefined, nowMs: number): number | null {
  if (hours === undefined || isOpen(hours, nowMs)) return nowMs;
  const p = prepare(hours);
  if (p.byDay.size === 0) return null;
  // Each closed date removes at most one day and the week repeats, so this horizon is exact
  // (+7 more days for ranges emptied by a DST gap).
  const horizon = p.closed.size + 15;
  const today = localDayStart(p, nowMs);
  for (let i = 0; i <= horizon; i++) {
    let best: number | null = null;
    for (const [open] of rangesOn(p, today + i * DAY_MS)) if (open > nowMs && (best === null || open < best)) best = open;
    if (best !== null) return best;
  }
  return null;
}

/** Local 'YYYY-MM-DD' of an instant in a zone (for building closedDates, logs, tests). */
export function localDateOf(timeZone: string, nowMs: number): string {
  return isoDate(wallAsUtc(formatterFor(timeZone), nowMs));
}
