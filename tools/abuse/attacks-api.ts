import { Attack, AttackResult } from './harness';
import { storedFor } from './calls';
import { AbuseRig, ABUSE_ARI_PASSWORD, TOKENS } from './rig';

/**
 * Attacks on the REST API, the agent panel's files, the event streams and /metrics of one plugin.
 * The storm of wrong tokens runs last: a limiter keyed on the address may then refuse the run's
 * own requests, which the other attacks must not meet.
 */
function need(rig: AbuseRig | undefined): AbuseRig {
  if (!rig) throw new Error('this attack needs the plan rig');
  return rig;
}

/** The id in a 201 answer (`{"callback":{...}}` or the callback itself), or ''. */
function createdId(json: Record<string, unknown>): string {
  const cb = json.callback;
  const id = cb && typeof cb === 'object' ? (cb as Record<string, unknown>).id : json.id;
  return typeof id === 'string' ? id : '';
}

/** POST /callbacks with a number that must be refused: 4xx, nothing stored. */
function postNumberAttack(name: string, why: string, number: unknown, queueId = 'support'): Attack {
  return {
    name,
    why,
    expected: '400 (number refused by the policy or the schema), nothing stored',
    async run(ctx) {
      const rig = need(ctx.rig);
      const res = await rig.api('POST', '/callbacks', { body: { queueId, number } });
      const stored = typeof number === 'string' && number.length < 100 ? await storedFor(rig, { numbers: [number], queueId }) : 0;
      const refused = res.status >= 400 && res.status < 500 && stored === 0;
      return {
        outcome: `${res.status}${typeof res.json.field === 'string' ? ` field=${res.json.field}` : ''}${stored ? `, ${stored} stored` : ''}`,
        ok: refused,
        refused,
      };
    },
  };
}

function notServerError(name: string, path: string, expectStatus: number[] = [404]): Attack {
  return {
    name,
    why: 'Why 9',
    expected: `no 500 and no stack trace in the log (${expectStatus.join('/')})`,
    async run(ctx) {
      const rig = need(ctx.rig);
      const before = rig.logLines.length;
      const res = await rig.api('GET', path, { token: null });
      const stack = rig.logLines.slice(before).some((l) => /\bat .*\(.*:\d+:\d+\)/.test(l));
      const leaked = /"name"\s*:\s*"asterisk-direct-callback"/.test(res.text);
      const ok = res.status < 500 && !stack && !leaked;
      return { outcome: `${res.status}${stack ? ', stack trace logged' : ''}${leaked ? ', served package.json' : ''}`, ok, refused: ok };
    },
  };
}

export function apiAttacks(): Attack[] {
  const long = '9'.repeat(10_000);
  return [
    postNumberAttack('API: +10116834002 (1 + 011 + Niue)', 'Why 3', '+10116834002'),
    postNumberAttack('API: +18765550123 (Jamaica)', 'Why 4', '+18765550123'),
    postNumberAttack('API: +19005550123 (premium)', 'Why 1', '+19005550123'),
    postNumberAttack('API: +6834002 (Niue)', 'added', '+6834002'),
    postNumberAttack('API: 0116834002 (011 + Niue, no +)', 'added', '0116834002'),
    postNumberAttack('API: +12115550123 (N11 area code)', 'added', '+12115550123'),
    postNumberAttack('API: +18765550123 into the customer-first queue', 'Why 4', '+18765550123', 'cf'),
    postNumberAttack('API: letters 555-CALL-ME', 'added', '555-CALL-ME'),
    postNumberAttack('API: SQL in the number', 'added', "+1212'; DROP TABLE callback_requests;--"),
    postNumberAttack('API: fullwidth unicode digits', 'added', '+１２１２５５５０１９９'),
    postNumberAttack('API: Arabic-Indic digits', 'added', '+١٢١٢٥٥٥٠١٩٩'),
    postNumberAttack('API: 10,000 digits', 'added', long),
    postNumberAttack('API: premium number as a JSON number', 'added', 19005550123),
    postNumberAttack('API: number as an array', 'added', ['+19005550123']),
    {
      name: 'API: reschedule that tries to change the number',
      why: 'What to build 1 (reschedule)',
      expected: 'the extra field is refused (400); the stored number is unchanged',
      async run(ctx) {
        const rig = need(ctx.rig);
        const good = ctx.numbers.domestic();
        const created = await rig.api('POST', '/callbacks', {
          body: { queueId: 'support', number: good, notBefore: '2099-01-01T00:00:00Z' },
        });
        const id = createdId(created.json);
        if (!id) return { outcome: `could not create the callback (${created.status})`, ok: false, refused: false };
        const res = await rig.api('POST', `/callbacks/${id}/reschedule`, {
          body: { notBefore: '2099-01-02T00:00:00Z', number: '+19005550123', customerNumber: '+19005550123' },
        });
        const row = await rig.db('callback_requests').where({ id }).first<{ customer_number: string } | undefined>('customer_number');
        const unchanged = row?.customer_number === good;
        return {
          outcome: `${res.status}; number ${unchanged ? 'unchanged' : `now ${row?.customer_number}`}`,
          ok: unchanged && res.status >= 400,
          refused: unchanged,
        };
      },
    },
    {
      name: 'API: cancel and create again with a premium number',
      why: 'What to build 1 (retry)',
      expected: 'the new request is refused (400)',
      async run(ctx) {
        const rig = need(ctx.rig);
        const created = await rig.api('POST', '/callbacks', {
          body: { queueId: 'support', number: ctx.numbers.domestic(), notBefore: '2099-01-01T00:00:00Z' },
        });
        const id = createdId(created.json);
        await rig.api('POST', `/callbacks/${id}/cancel`, { body: { reason: "x'); DELETE FROM callback_requests;--" } });
        const again = await rig.api('POST', '/callbacks', { body: { queueId: 'support', number: '+19005550123' } });
        const kept = ((await rig.db('callback_requests').count<{ n: string }[]>('id as n'))[0]?.n ?? '0') !== '0';
        const ok = again.status === 400 && kept;
        return { outcome: `${again.status}${kept ? '' : '; rows deleted'}`, ok, refused: again.status >= 400 };
      },
    },
    {
      name: 'API: SQL in the customer name',
      why: 'added',
      expected: '201 with the name stored as text; callback_requests intact',
      async run(ctx) {
        const rig = need(ctx.rig);
        const name = "Robert'); DROP TABLE callback_requests;--";
        const res = await rig.api('POST', '/callbacks', { body: { queueId: 'support', number: ctx.numbers.domestic(), name } });
        const row = await rig.db('callback_requests').where({ customer_name: name }).first<{ id: string } | undefined>('id');
        return {
          outcome: `${res.status}; ${row ? 'stored verbatim' : 'not stored'}`,
          ok: res.status === 201 && row !== undefined,
          refused: false,
        };
      },
    },
    {
      name: 'API: __proto__ and constructor keys in the body',
      why: 'added',
      expected: '400 (unknown fields), Object.prototype untouched',
      async run(ctx) {
        const rig = need(ctx.rig);
        const raw = `{"queueId":"support","number":"${ctx.numbers.domestic()}","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}`;
        const res = await rig.api('POST', '/callbacks', { rawBody: raw });
        const polluted = (Object.prototype as Record<string, unknown>).polluted !== undefined;
        return {
          outcome: `${res.status}${polluted ? '; Object.prototype POLLUTED' : ''}`,
          ok: !polluted && res.status < 500,
          refused: res.status >= 400,
        };
      },
    },
    {
      name: 'API: malformed and oversized bodies',
      why: 'added',
      expected: '4xx for each, never 5xx',
      async run(ctx) {
        const rig = need(ctx.rig);
        const answers = [
          await rig.api('POST', '/callbacks', { rawBody: '{"queueId":"support","number":' }),
          await rig.api('POST', '/callbacks', {
            rawBody: `{"queueId":"support","number":"+12125550100","name":"${'x'.repeat(3_000_000)}"}`,
          }),
          await rig.api('POST', '/callbacks', { rawBody: '['.repeat(50_000) }),
        ].map((a) => a.status);
        const ok = answers.every((s) => s >= 400 && s < 500);
        return { outcome: answers.join('/'), ok, refused: ok };
      },
    },
    {
      name: 'API: agent token creates a callback',
      why: 'added (scopes)',
      expected: '403',
      async run(ctx) {
        const rig = need(ctx.rig);
        const res = await rig.api('POST', '/callbacks', {
          token: TOKENS.a1001,
          body: { queueId: 'support', number: ctx.numbers.domestic() },
        });
        return { outcome: String(res.status), ok: res.status === 403, refused: res.status === 403 };
      },
    },
    {
      name: "API: agent token reads another agent's preview",
      why: 'added (scopes)',
      expected: '403',
      async run(ctx) {
        const rig = need(ctx.rig);
        const res = await rig.api('GET', '/me/preview?agentId=a1002', { token: TOKENS.a1001 });
        return { outcome: String(res.status), ok: res.status === 403, refused: res.status === 403 };
      },
    },
    notServerError('GET /panel/__proto__', '/panel/__proto__'),
    notServerError('GET /panel/constructor', '/panel/constructor'),
    notServerError('GET /panel/hasOwnProperty', '/panel/hasOwnProperty'),
    notServerError('GET /panel/..%2f..%2fpackage.json', '/panel/..%2f..%2fpackage.json', [400, 404]),
    {
      name: 'API answers carry no-store and nosniff',
      why: 'Why 10',
      expected: 'cache-control: no-store and x-content-type-options: nosniff on /callbacks, /me/preview and 401s',
      async run(ctx) {
        const rig = need(ctx.rig);
        const answers = [
          await rig.api('GET', '/callbacks'),
          await rig.api('GET', '/me/preview', { token: TOKENS.a1001 }),
          await rig.api('GET', '/callbacks', { token: 'wrong' }),
        ];
        const missing = answers.flatMap((a, i) => [
          ...(/no-store/.test(a.headers.get('cache-control') ?? '') ? [] : [`#${i} no-store`]),
          ...(a.headers.get('x-content-type-options') === 'nosniff' ? [] : [`#${i} nosniff`]),
        ]);
        return {
          outcome: missing.length ? `missing ${missing.join(', ')}` : 'both headers present',
          ok: missing.length === 0,
          refused: missing.length === 0,
        };
      },
    },
    {
      name: '/metrics shows no secret',
      why: 'added',
      expected: 'no token, ARI password or database URL in /metrics',
      async run(ctx) {
        const rig = need(ctx.rig);
        const res = await rig.api('GET', '/metrics', { token: null });
        const secrets = [...Object.values(TOKENS), ABUSE_ARI_PASSWORD, 'postgres://'];
        const leaked = secrets.filter((s) => res.text.includes(s));
        return {
          outcome: `${res.status}${leaked.length ? `; leaks ${leaked.length}` : '; nothing secret'}`,
          ok: leaked.length === 0,
          refused: false,
        };
      },
    },
    sseCapAttack(),
    wrongTokenStorm(),
  ];
}

/** 300 event streams on one agent token: past a cap, new streams are refused. */
function sseCapAttack(): Attack {
  return {
    name: '300 event streams on one token',
    why: 'Why 10',
    expected: 'a cap: some streams refused (429)',
    exclusive: true,
    timeoutMs: 30_000,
    async run(ctx) {
      const rig = need(ctx.rig);
      const aborts: AbortController[] = [];
      try {
        const statuses = await Promise.all(
          Array.from({ length: 300 }, async () => {
            const ac = new AbortController();
            aborts.push(ac);
            try {
              const res = await fetch(`${rig.base}/api/v1/me/events`, {
                headers: { authorization: `Bearer ${TOKENS.a1002}` },
                signal: AbortSignal.any([ac.signal, AbortSignal.timeout(10_000)]),
              });
              if (res.status !== 200) await res.text().catch(() => undefined);
              return res.status;
            } catch {
              return 0;
            }
          }),
        );
        const open = statuses.filter((s) => s === 200).length;
        const capped = statuses.filter((s) => s === 429 || s === 503).length;
        const capHolds = open < 300 && capped > 0;
        return {
          outcome: `${open} open, ${capped} refused, ${statuses.filter((s) => s === 0).length} failed`,
          ok: capHolds,
          refused: capHolds,
        };
      } finally {
        for (const a of aborts) a.abort();
      }
    },
  };
}

/** 2,000 wrong tokens from one address: after some, 429 with retry-after. */
function wrongTokenStorm(): Attack {
  return {
    name: '2,000 wrong tokens',
    why: 'Why 10',
    expected: '429 with retry-after after repeated failures',
    exclusive: true,
    timeoutMs: 40_000,
    async run(ctx) {
      const rig = need(ctx.rig);
      const counts = new Map<number, number>();
      let retryAfter = false;
      let next = 0;
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          while (next < 2000) {
            const i = next++;
            const token = `wrong-${Math.floor(ctx.random() * 1e12).toString(36)}-${i}`;
            const res = await rig.api('GET', '/queues', { token }).catch(() => undefined);
            const s = res?.status ?? 0;
            counts.set(s, (counts.get(s) ?? 0) + 1);
            if (s === 429 && res?.headers.get('retry-after')) retryAfter = true;
          }
        }),
      );
      const limited = (counts.get(429) ?? 0) > 0 && retryAfter;
      const summary = [...counts.entries()].map(([s, n]) => `${n}x${s}`).join(' ');
      return { outcome: `${summary}${retryAfter ? ' with retry-after' : ''}`, ok: limited, refused: limited } satisfies AttackResult;
    },
  };
}
