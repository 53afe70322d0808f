import { Client } from 'pg';
import { Attack } from './harness';
import { hangUp, heardAfter, HeardOutcome, pressOne, queueCaller, refusalReasons, sleep, storedFor } from './calls';
import { PROMPTS } from '../../src/calls/prompts';
import { AbuseRig, abuseConfig } from './rig';
import { SimCall } from '../simulator/ari-simulator';

/**
 * Attacks on the limits: many callers at once against the per-caller and per-number limits,
 * withheld callers, a stalled database, and a flood of callers against admission control.
 */
function need(rig: AbuseRig | undefined): AbuseRig {
  if (!rig) throw new Error('this attack needs the plan rig');
  return rig;
}

/** Every caller presses 2 and types its number; all press 1 at the read-back at the same moment. */
async function typeTogether(calls: SimCall[], typed: string[]): Promise<HeardOutcome[]> {
  await Promise.all(
    calls.map(async (c, i) => {
      await c.pressDtmf('2');
      await c.waitForPlayback((m) => m === PROMPTS.enterNumber, 8000);
      await c.pressDtmf(`${typed[i] ?? ''}#`, { gapMs: 5, durationMs: 20 });
      await c.waitForPlayback((m) => m === PROMPTS.youEntered, 8000);
    }),
  );
  return Promise.all(calls.map((c) => pressOne(c, 10_000)));
}

function tally(heard: HeardOutcome[]): string {
  const m = new Map<string, number>();
  for (const h of heard) m.set(h, (m.get(h) ?? 0) + 1);
  return [...m.entries()].map(([k, n]) => `${n} ${k}`).join(', ');
}

/** `n` simultaneous calls from one caller ID, each typing a different number, against limit 3. */
export function sameCallerBurst(n: number): Attack {
  return {
    name: `${n} simultaneous calls from one number, each typing another number (limit 3)`,
    why: 'Why 5',
    expected: 'at most 3 stored (rateLimit.limit 3 per hour)',
    exclusive: true,
    timeoutMs: 40_000,
    async run(ctx) {
      const rig = need(ctx.rig);
      const from = ctx.numbers.domestic();
      const typed = Array.from({ length: n }, () => ctx.numbers.domestic().slice(1));
      const calls = await Promise.all(Array.from({ length: n }, () => queueCaller(rig, from)));
      try {
        const heard = await typeTogether(calls, typed);
        const stored = await storedFor(rig, { channelIds: calls.map((c) => c.id) });
        const over = Math.max(0, stored - 3);
        return { outcome: `${stored} stored (${tally(heard)})`, ok: over === 0, refused: stored < n, overLimit: over };
      } finally {
        hangUp(...calls);
      }
    },
  };
}

/** Different callers typing the same number at once: one open callback per number. */
function sameNumberBurst(n: number): Attack {
  return {
    name: `${n} callers at once typing the same number (maxPendingPerNumber 1)`,
    why: 'What to build 3',
    expected: 'exactly one stored, the others told it is already booked',
    exclusive: true,
    timeoutMs: 30_000,
    async run(ctx) {
      const rig = need(ctx.rig);
      const number = ctx.numbers.domestic().slice(1);
      const calls = await Promise.all(Array.from({ length: n }, () => queueCaller(rig, ctx.numbers.domestic())));
      try {
        const heard = await typeTogether(
          calls,
          calls.map(() => number),
        );
        const stored = await storedFor(rig, { numbers: [number] });
        return {
          outcome: `${stored} stored (${tally(heard)})`,
          ok: stored === 1,
          refused: stored <= 1,
          overLimit: Math.max(0, stored - 1),
        };
      } finally {
        hangUp(...calls);
      }
    },
  };
}

/** Four withheld callers each type their own number: each gets a callback or the right refusal. */
function withheldCallers(): Attack {
  return {
    name: '4 different withheld callers typing their own numbers',
    why: 'Why 7',
    expected: 'each stored, or refused with a rate-limit reason (never "number refused" for a valid number)',
    exclusive: true,
    timeoutMs: 30_000,
    async run(ctx) {
      const rig = need(ctx.rig);
      const results: string[] = [];
      let wrong = 0;
      for (const from of ['anonymous', 'Restricted', 'anonymous', 'unavailable']) {
        const call = await queueCaller(rig, from);
        try {
          const since = call.playbacks.length;
          await call.pressDtmf('1');
          const asked = await heardAfter(call, since, 4000);
          let heard: HeardOutcome = asked;
          if (asked === 'enter-number') {
            const s2 = call.playbacks.length;
            await call.pressDtmf(`${ctx.numbers.domestic().slice(1)}#`, { gapMs: 5, durationMs: 20 });
            heard = await heardAfter(call, s2, 6000);
            if (heard === 'read-back') heard = await pressOne(call);
          }
          const reasons = refusalReasons(rig, call.id);
          const right = heard === 'confirmed' || (heard !== 'number-refused' && reasons.some((r) => /rate|limit|too_many/.test(r)));
          if (!right) wrong++;
          results.push(`${heard}${reasons.length ? `(${reasons.join(',')})` : ''}`);
        } finally {
          hangUp(call);
        }
      }
      return { outcome: results.join(' / '), ok: wrong === 0, refused: false };
    },
  };
}

/** 50 POST /callbacks for one number at once: one stored. */
function apiSameNumberBurst(): Attack {
  return {
    name: '50 simultaneous API requests for one number',
    why: 'What to build 3',
    expected: 'exactly one stored (the others 200 duplicate)',
    exclusive: true,
    async run(ctx) {
      const rig = need(ctx.rig);
      const number = ctx.numbers.domestic();
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => rig.api('POST', '/callbacks', { body: { queueId: 'support', number } })),
      );
      const stored = await storedFor(rig, { numbers: [number] });
      const codes = tally(answers.map((a) => String(a.status) as HeardOutcome));
      return { outcome: `${stored} stored (${codes})`, ok: stored === 1, refused: false, overLimit: Math.max(0, stored - 1) };
    },
  };
}

export function limitAttacks(): Attack[] {
  return [sameCallerBurst(6), sameCallerBurst(50), sameNumberBurst(6), withheldCallers(), apiSameNumberBurst()];
}

/** Another session holds LOCK TABLE callback_requests while a caller presses 1. */
export function stalledDatabaseAttack(): Attack {
  return {
    name: 'stalled database (LOCK TABLE callback_requests) while a caller presses 1',
    why: 'Why 6',
    expected: 'the caller hears the store-failed prompt within 10 s; /metrics answers within 3 s',
    timeoutMs: 40_000,
    async run(ctx) {
      const rig = need(ctx.rig);
      const call = await queueCaller(rig, ctx.numbers.domestic());
      const url = rig.config.databaseUrl ?? '';
      const locker = new Client({ connectionString: url });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE callback_requests IN ACCESS EXCLUSIVE MODE');
        const t0 = Date.now();
        const heardP = pressOne(call, 10_000);
        await sleep(300);
        const metrics = await rig.api('GET', '/metrics', { token: null, timeoutMs: 3000 }).then(
          (a) => `${a.status} in ${a.ms} ms`,
          () => 'no answer in 3 s',
        );
        const heard = await heardP;
        const ms = Date.now() - t0;
        const ok = heard === 'store-failed' && metrics.startsWith('200');
        return { outcome: `caller: ${heard} after ${ms} ms; /metrics: ${metrics}`, ok, refused: false };
      } finally {
        await locker.query('ROLLBACK').catch(() => undefined);
        await locker.end().catch(() => undefined);
        hangUp(call);
      }
    },
  };
}

/** 300 callers at once against limits.maxCallers 50: the rest go back to the dialplan with FULL. */
export function admissionAttack(): Attack {
  return {
    name: '300 simultaneous calls vs limits.maxCallers 50',
    why: 'Why 8',
    expected: 'about 250 leave Stasis with DIRECT_CALLBACK_STATUS=FULL; the admitted hear the offer',
    timeoutMs: 60_000,
    async run(ctx) {
      const base = abuseConfig();
      const config = { ...base, limits: { maxCallers: 50 } };
      let rig: AbuseRig;
      try {
        rig = await ctx.startRig('admission', config);
      } catch (e) {
        return { outcome: `config refused: ${String(e).split('\n')[0]?.slice(0, 160) ?? ''}`, ok: false, refused: false };
      }
      const calls: SimCall[] = [];
      try {
        for (let i = 0; i < 300; i++) calls.push(rig.sim.call({ from: ctx.numbers.domestic(), to: 'queue:support' }));
        const t0 = Date.now();
        await sleep(500);
        const deadline = t0 + 15_000;
        let full = 0;
        let offered = 0;
        while (Date.now() < deadline) {
          full = calls.filter((c) => c.variables.get('DIRECT_CALLBACK_STATUS') === 'FULL').length;
          offered = calls.filter((c) => c.playbacks.some((p) => p.media.includes(PROMPTS.offer))).length;
          if (full + offered >= 300 || (full >= 200 && offered >= 50)) break;
          await sleep(250);
        }
        const ok = full >= 200 && offered <= 60;
        return { outcome: `${full} FULL, ${offered} offered after ${Date.now() - t0} ms`, ok, refused: full > 0 };
      } finally {
        hangUp(...calls);
      }
    },
  };
}
