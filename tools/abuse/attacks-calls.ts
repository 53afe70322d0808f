import { Attack, AttackResult } from './harness';
import { directCaller, hangUp, HeardOutcome, pressOne, queueCaller, refusalReasons, storedFor, typeNumber } from './calls';
import { AbuseRig } from './rig';

/**
 * Attacks by phone: numbers typed after pressing 2, hostile caller IDs pressing 1 in a queue and
 * on a direct call (with and without a fallback queue). Each must end refused: nothing stored,
 * and (counted by the harness) nothing dialled.
 */
const REFUSALS: ReadonlySet<string> = new Set(['number-refused', 'invalid', 'given-up', 'enter-number']);

function need(rig: AbuseRig | undefined): AbuseRig {
  if (!rig) throw new Error('this attack needs the plan rig');
  return rig;
}

function refusedResult(heard: HeardOutcome, stored: number, reasons: string[]): AttackResult {
  const refused = stored === 0 && (REFUSALS.has(heard) || heard.startsWith('prompt:'));
  const why = reasons.length ? ` (${reasons.join(',')})` : '';
  return { outcome: stored > 0 ? `stored after hearing ${heard}` : `${heard}${why}`, ok: refused, refused };
}

/** Press 2 and type a number that must never be called back. */
export function typedNumberAttack(name: string, why: string, digits: string, queue = 'support'): Attack {
  return {
    name,
    why,
    expected: 'refused when typed (number refused / invalid), nothing stored or dialled',
    async run(ctx) {
      const rig = need(ctx.rig);
      const call = await queueCaller(rig, ctx.numbers.domestic(), { queue });
      try {
        const heard = await typeNumber(call, digits);
        return refusedResult(heard, await storedFor(rig, { channelIds: [call.id], numbers: [digits] }), refusalReasons(rig, call.id));
      } finally {
        hangUp(call);
      }
    },
  };
}

/** A caller whose caller ID must not be called back presses 1 in a queue. */
export function callerIdAttack(name: string, why: string, callerId: string, opts: { queue?: string; callerName?: string } = {}): Attack {
  return {
    name,
    why,
    expected: 'press 1 refused or asked for another number; the caller ID is never stored',
    async run(ctx) {
      const rig = need(ctx.rig);
      const call = await queueCaller(rig, callerId, { queue: opts.queue, name: opts.callerName });
      try {
        const heard = await pressOne(call);
        return refusedResult(heard, await storedFor(rig, { channelIds: [call.id] }), refusalReasons(rig, call.id));
      } finally {
        hangUp(call);
      }
    },
  };
}

/** A caller to an agent's personal number, unanswered, presses 1 for the owed callback. */
export function directAttack(name: string, why: string, callerId: string): Attack {
  return {
    name,
    why,
    expected: 'direct overflow press 1 refused ("number refused"), nothing stored or dialled',
    async run(ctx) {
      const rig = need(ctx.rig);
      const call = await directCaller(rig, callerId);
      try {
        const heard = await pressOne(call);
        return refusedResult(heard, await storedFor(rig, { channelIds: [call.id], numbers: [callerId] }), refusalReasons(rig, call.id));
      } finally {
        hangUp(call);
      }
    },
  };
}

/** Hostile text in the caller's name: stored as text, the tables intact. */
export function callerNameAttack(name: string, callerName: string): Attack {
  return {
    name,
    why: 'added (SQL in caller name)',
    expected: 'callback stored with the name as plain text; callback_requests intact',
    async run(ctx) {
      const rig = need(ctx.rig);
      const from = ctx.numbers.domestic();
      const call = await queueCaller(rig, from, { name: callerName });
      try {
        const heard = await pressOne(call);
        const rows = await rig
          .db('callback_requests')
          .where({ source_channel_id: call.id })
          .select<{ customer_name: string | null }[]>('customer_name');
        const tableOk = await rig.db.raw<{ rows: { t: string | null }[] }>(`SELECT to_regclass('public.callback_requests') AS t`);
        const verbatim = rows[0]?.customer_name === callerName;
        const intact = tableOk.rows[0]?.t !== null;
        return {
          outcome: `${heard}; name ${verbatim ? 'stored verbatim' : `stored as ${JSON.stringify(rows[0]?.customer_name ?? null)}`}; table ${intact ? 'intact' : 'GONE'}`,
          ok: heard === 'confirmed' && intact && (verbatim || rows.length === 1),
          refused: false,
        };
      } finally {
        hangUp(call);
      }
    },
  };
}

/** One caller pressing 1 five times in a row: one callback. */
export function repeatedPressAttack(): Attack {
  return {
    name: 'press 1 five times at once',
    why: 'added',
    expected: 'at most one callback stored',
    async run(ctx) {
      const rig = need(ctx.rig);
      const call = await queueCaller(rig, ctx.numbers.domestic());
      try {
        await call.pressDtmf('11111', { gapMs: 0, durationMs: 10 });
        await new Promise((r) => setTimeout(r, 1500));
        const stored = await storedFor(rig, { channelIds: [call.id] });
        return { outcome: `${stored} stored`, ok: stored <= 1, refused: false, overLimit: Math.max(0, stored - 1) };
      } finally {
        hangUp(call);
      }
    },
  };
}

export const NIUE_011 = '0116834002';
export const NIUE_AFTER_1 = '10116834002';
export const PREMIUM = '+19005550123';
export const JAMAICA = '+18765550123';

/**
 * The issue's numbers, and neighbours of them where one plugin meets the same kind of number
 * twice: a second attack with the very same number would meet the first one's stored callback
 * ("already booked") instead of the policy.
 */
export function queueCallAttacks(): Attack[] {
  return [
    typedNumberAttack('press 2, type 10116834002 (1 + 011 + Niue)', 'Why 3', NIUE_AFTER_1),
    typedNumberAttack('press 2, type 0116834002 (011 + Niue)', 'Why 1', NIUE_011),
    typedNumberAttack('press 2, type 19005550123 (premium)', 'Why 1', '19005550123'),
    typedNumberAttack('press 2, type 9005550124 (premium, no 1)', 'added', '9005550124'),
    typedNumberAttack('press 2, type 18765550123 (Jamaica)', 'Why 4', '18765550123'),
    typedNumberAttack('press 2, type 8765550124 (Jamaica, no 1)', 'Why 4', '8765550124'),
    typedNumberAttack('press 2, type 18095550123 (Dominican Republic)', 'added', '18095550123'),
    typedNumberAttack('press 2, type 011447911123456 (011 + UK mobile)', 'Why 1', '011447911123456'),
    typedNumberAttack('press 2, type 12115550123 (N11 area code)', 'added', '12115550123'),
    typedNumberAttack('press 2, type 10205550123 (area code 0XX)', 'added', '10205550123'),
    typedNumberAttack('press 2, type 12124115550 (exchange N11)', 'added', '12124115550'),
    typedNumberAttack('press 2, type 6834002 (bare Niue number)', 'added', '6834002'),
    typedNumberAttack('customer-first queue: press 2, type 18765550126 (Jamaica)', 'Why 1', '18765550126', 'cf'),
    typedNumberAttack('customer-first queue: press 2, type 0116834004 (011 + Niue)', 'Why 1', '0116834004', 'cf'),
    callerIdAttack('caller ID +19005550125 presses 1 in a queue', 'Why 1', '+19005550125'),
    callerIdAttack('caller ID 0116834003 presses 1 in a queue', 'Why 1', '0116834003'),
    callerIdAttack('caller ID +18765550125 presses 1 in a queue', 'Why 4', '+18765550125'),
    callerIdAttack('caller ID +10116834003 presses 1 in a queue', 'Why 3', '+10116834003'),
    callerIdAttack('caller ID +18765550127 presses 1 in a customer-first queue', 'Why 1', '+18765550127', { queue: 'cf' }),
    callerIdAttack('caller ID sip:attacker@evil.example presses 1', 'added', 'sip:attacker@evil.example'),
    callerNameAttack('SQL in the caller name', "Robert'); DROP TABLE callback_requests;--"),
    callerNameAttack('control characters and RTL override in the caller name', 'Eve\u202e\u001b[31m 😈'),
    repeatedPressAttack(),
  ];
}

export function directAttacks(label: string): Attack[] {
  return [
    directAttack(`direct caller ID 0116834002 presses 1 (${label})`, 'Why 1', NIUE_011),
    directAttack(`direct caller ID +19005550123 presses 1 (${label})`, 'Why 1', PREMIUM),
    directAttack(`direct caller ID +18765550123 presses 1 (${label})`, 'Why 4', JAMAICA),
  ];
}
