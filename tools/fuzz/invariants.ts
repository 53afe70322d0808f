import { Knex } from 'knex';
import { PROMPTS } from '../../src/calls/prompts';
import { BACKGROUND_PROMPTS } from './people';
import { FuzzRig } from './rig';
import { CallerTrace, ScenarioTrace, trunkNational, Violation } from './scenario';

/**
 * The invariants checked after a scenario has quiesced, from what the simulator saw (who heard
 * what, who hung up, who was bridged), the database (what was committed) and the engine.
 */
export interface CallbackRow {
  id: string;
  status: string;
  customer_number: string;
  source_channel_id: string | null;
}

export interface AttemptRow {
  callback_id: string;
  customer_channel_id: string | null;
}

/**
 * A scenario's callbacks: to a number it dialled or was given, or booked by one of its calls (a
 * booking to a number a caller typed is in `trace.numbers` only once it is dialled).
 */
export function scenarioCallbacks(rig: FuzzRig, trace: ScenarioTrace): Knex.QueryBuilder {
  return rig.db('callback_requests').where((q) => {
    void q.whereRaw("right(regexp_replace(customer_number, '[^0-9]', '', 'g'), 10) = any(?)", [[...trace.numbers]]).orWhereIn(
      'source_channel_id',
      trace.callers.map((c) => c.person.call.id),
    );
  });
}

export async function scenarioRows(rig: FuzzRig, trace: ScenarioTrace): Promise<{ callbacks: CallbackRow[]; attempts: AttemptRow[] }> {
  const callbacks = await scenarioCallbacks(rig, trace).select<CallbackRow[]>('id', 'status', 'customer_number', 'source_channel_id');
  const attempts = callbacks.length
    ? await rig
        .db('callback_attempts')
        .select<AttemptRow[]>('callback_id', 'customer_channel_id')
        .whereIn(
          'callback_id',
          callbacks.map((c) => c.id),
        )
    : [];
  return { callbacks, attempts };
}

function national(n: string): string {
  const d = n.replace(/[^0-9]/g, '');
  return d.slice(-10);
}

/** Served, booked and confirmed, told and ended, returned to the dialplan: one, for each caller the plugin let go. */
/** What the simulator's events showed: channels that entered a mixing bridge, channels whose StasisStart was delivered. */
export interface SeenEvents {
  bridged: ReadonlySet<string>;
  entered: ReadonlySet<string>;
}

/**
 * `refused`: Asterisk refused some of the scenario's requests; a call it made fail may then end
 * with its reason in the log only (issue 18: "a failure in one call ends that call, with a reason").
 */
export function callerOutcome(c: CallerTrace, callbacks: CallbackRow[], seen: SeenEvents, refused = false): string | undefined {
  const call = c.person.call;
  const pbs = call.playbacks.filter((p) => p.startedAt !== null);
  const served = seen.bridged.has(call.id);
  const confirmed = pbs.some((p) => p.media.includes(PROMPTS.confirm));
  const rows = callbacks.filter((r) => r.source_channel_id === call.id);
  const booked = rows.length > 0;
  const liveBooking = rows.some((r) => r.status !== 'cancelled');
  const returned = call.continuedTo !== null;
  const told = pbs.some((p) => !BACKGROUND_PROMPTS.has(p.media[0] ?? ''));
  const byApp = call.hungUpBy === 'app';
  const who = `caller ${call.id} [${c.args.join(',')}]`;
  if (served && liveBooking) return `${who} was served by an agent and also has a callback booked (${rows.map((r) => r.status).join(',')})`;
  if (returned && (served || booked)) return `${who} was returned to the dialplan after being ${served ? 'served' : 'booked'}`;
  if (c.person.hungUpByPerson || call.hungUpBy === 'far-end') return undefined;
  // Declined by Asterisk (no app connected: the WebSocket was down): the plugin never had it.
  if (call.declined || !seen.entered.has(call.id)) return undefined;
  if (call.alive) return undefined; // left_in_stasis reports it
  if (served || (booked && confirmed) || returned || (byApp && told) || (byApp && refused)) return undefined;
  const heard = pbs.map((p) => p.media[0]).join(' ') || 'nothing';
  return `${who} ended by ${call.hungUpBy ?? 'unknown'} without being served, booked and confirmed, told, or returned (heard: ${heard}${booked ? '; booked but never confirmed' : ''})`;
}

export function checkScenario(
  trace: ScenarioTrace,
  rows: { callbacks: CallbackRow[]; attempts: AttemptRow[] },
  seen: SeenEvents,
): Violation[] {
  const out: Violation[] = [];
  const v = (invariant: Violation['invariant'], detail: string): void => void out.push({ scenario: trace.index, invariant, detail });
  for (const c of trace.callers) {
    const call = c.person.call;
    const confirm = call.playbacks.find((p) => p.startedAt !== null && p.media.includes(PROMPTS.confirm));
    if (confirm && !rows.callbacks.some((r) => r.source_channel_id === call.id))
      v('false_confirmation', `caller ${call.id} [${c.args.join(',')}] heard the confirmation and no callback is stored for the call`);
    const outcome = callerOutcome(c, rows.callbacks, seen, trace.refused > 0);
    if (outcome) v('caller_outcome', outcome);
  }
  const recorded = new Set(rows.attempts.map((a) => a.customer_channel_id).filter((id): id is string => id !== null));
  const byNumber = new Map<string, number>();
  for (const l of trace.legs) {
    if (l.role !== 'customer') continue;
    const n = trunkNational(l.leg.endpointName) ?? '?';
    byNumber.set(n, (byNumber.get(n) ?? 0) + 1);
    if (!recorded.has(l.leg.id)) v('double_dial', `customer leg ${l.leg.id} to ${n} belongs to no recorded attempt`);
  }
  for (const [n, legs] of byNumber) {
    const ids = new Set(rows.callbacks.filter((r) => national(r.customer_number) === n).map((r) => r.id));
    const attempts = rows.attempts.filter((a) => ids.has(a.callback_id)).length;
    if (legs > attempts) v('double_dial', `${legs} customer legs to ${n} for ${attempts} attempt(s)`);
  }
  return out;
}

/** Lines that say the process met an error nobody handled. */
export function crashLines(lines: readonly string[]): string[] {
  return lines.filter((l) => /uncaught exception|unhandled rejection/i.test(l));
}
