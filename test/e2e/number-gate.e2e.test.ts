import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { CallContext } from '../../src/calls/call-context';
import { ChannelPlaybacks } from '../../src/calls/playback';
import { gatedEndpoint, NumberRefusedAtDial } from '../../src/calls/dial-gate';
import { PreviewCustomerLeg } from '../../src/calls/preview-customer-leg';
import { parseConfig } from '../../src/config/config';
import { CallbackRefused } from '../../src/engine/admin-port';
import { checkNumber } from '../../src/engine/number-guard';
import { Rig, sleep, startRig, testConfigInput, useRig } from '../helpers/plugin-harness';

/**
 * Issue 19, "one gate for every number that can be dialled": the numbers of the toll-fraud
 * review walked through every path that can lead to a dial (press 1, press 2, the API, a missed
 * direct call's owed callback, the fallback queue, an `external:` action, a retry, a
 * reschedule, and the dial string itself). None of them is ever dialled: the simulator records
 * every leg the plugin creates, and only the agents' phones may appear among them.
 */

/** 011 + Niue (international), premium 900, 1 + 011 + Niue (no NANP number), Jamaica (+1 but international). */
const REFUSED = ['0116834002', '+19005550123', '10116834002', '+18765550123'] as const;
/** The same, as a caller types them after pressing 2 (no '+'). */
const TYPED = ['0116834002', '19005550123', '10116834002', '18765550123'] as const;
const AGENT_PHONES = new Set(['PJSIP/1001', 'PJSIP/1002']);

function config(over: Record<string, unknown> = {}): Record<string, unknown> {
  const base = testConfigInput();
  const [support] = base.queues as Record<string, unknown>[];
  return {
    ...base,
    queues: [support, { ...support, id: 'cf', mode: 'customer-first', overflow: { maxWaiting: 50 } }],
    agents: [
      { id: 'a1001', name: 'Ann', endpoint: 'PJSIP/1001', queues: [{ id: 'support' }], personalNumber: '5551000' },
      { id: 'a1002', name: 'Bob', endpoint: 'PJSIP/1002', queues: [{ id: 'cf' }] },
    ],
    direct: { ringTimeoutSec: 1, offerIntervalSec: 0.6, overflow: true },
    callback: { ...(base.callback as Record<string, unknown>), syncIntervalSec: 0.5, timeRulesIntervalSec: 0.5 },
    ...over,
  };
}

/** Every leg the plugin created went to an agent's phone: no customer, trunk or outside number. */
function expectNothingDialledOut(rig: Rig): void {
  const out = rig.sim.legs.map((l) => l.endpointName).filter((e) => !AGENT_PHONES.has(e));
  expect(out, 'legs to anything but an agent phone').to.deep.equal([]);
  expect(
    rig.sim.requests.filter((r) => r.method === 'POST' && /trunk/.test(JSON.stringify(r))).length,
    'requests naming the trunk',
  ).to.equal(0);
}

/** A row written straight to the database, as an old version or a path without the gate could have left it. */
async function storeUnchecked(rig: Rig, queueId: string, number: string, over: { ownerAgentId?: string; notBefore?: Date } = {}) {
  const r = await rig.store.requestCallback({
    id: randomUUID(),
    queueId,
    customerNumber: number,
    language: 'en',
    priority: 0,
    arrivedAt: new Date(),
    maxAttempts: 3,
    ownerAgentId: over.ownerAgentId ?? null,
    notBefore: over.notBefore ?? null,
  });
  if (r.kind !== 'stored') throw new Error(`not stored: ${r.kind}`);
  return r.callback;
}

async function until<T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, ms = 6000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

describe('e2e: one number gate for every path that can dial (issue 19)', function () {
  this.timeout(40000);
  const rigs = useRig();

  it('queue press 1: a caller id the policy refuses hears "number refused", nothing is stored or dialled', async () => {
    const rig = rigs.set(await startRig({ config: config() }));
    for (const from of REFUSED) {
      const call = rig.sim.call({ from, to: 'queue:support' });
      await call.entered();
      await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
      await call.pressDtmf('1');
      await call.waitForPlayback((m) => m === PROMPTS.numberRefused, 3000);
    }
    expect(await rig.store.listOpen()).to.deep.equal([]);
    expectNothingDialledOut(rig);
  });

  it('queue press 2: a typed number the policy refuses is never stored or dialled', async () => {
    const rig = rigs.set(await startRig({ config: config() }));
    // The four callers type at once (the simulator's DTMF takes ~300 ms a digit).
    await Promise.all(
      TYPED.map(async (typed, i) => {
        const call = rig.sim.call({ from: `+1555888200${i}`, to: 'queue:support' });
        await call.entered();
        await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
        await call.pressDtmf('2');
        await call.waitForPlayback((m) => m === PROMPTS.enterNumber, 3000);
        await call.pressDtmf(`${typed}#`, { gapMs: 20 });
        await call.waitForPlayback((m) => m === PROMPTS.numberRefused || m === PROMPTS.invalidNumber, 3000);
      }),
    );
    expect(await rig.store.listOpen()).to.deep.equal([]);
    expectNothingDialledOut(rig);
  });

  it('the API: POST /callbacks with any of them is refused (CallbackRefused, a 400)', async () => {
    const rig = rigs.set(await startRig({ config: config() }));
    for (const number of [...REFUSED, '+10116834002']) {
      for (const queueId of ['support', 'cf']) {
        const err = await rig.plugin.app.admin.createCallback({ queueId, number }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, `${number} in ${queueId}`).to.be.instanceOf(CallbackRefused);
      }
    }
    expect(await rig.store.listOpen()).to.deep.equal([]);
  });

  it('direct overflow: a missed caller with such a caller id presses 1, hears that it cannot be called back, nothing is owed or dialled', async () => {
    // Offered until they press 1: the four calls reach their offers at different times.
    const direct = { ringTimeoutSec: 1, offerIntervalSec: 0.6, overflow: true, maxOffers: 50 };
    const rig = rigs.set(await startRig({ config: config({ direct }), agentsBusy: false }));
    rig.sim.endpoint('PJSIP/1001').ringsForever();
    const calls = REFUSED.map((from) => rig.sim.call({ from, to: 'direct:5551000', args: ['direct', '5551000'] }));
    for (const call of calls) {
      await call.waitForPlayback((m) => m === PROMPTS.directOffer, 5000);
      await call.pressDtmf('1');
    }
    for (const call of calls) {
      await call.waitFor('hungup', 5000);
      const told = call.playbacks.find((p) => p.media.includes(PROMPTS.numberRefused));
      expect(told?.media, 'the refusal, then the message').to.deep.equal([PROMPTS.numberRefused, PROMPTS.agentUnavailable]);
      expect(call.playbacks.some((p) => p.media.includes(PROMPTS.confirm))).to.equal(false);
      expect(call.hungUpBy).to.equal('app');
    }
    await sleep(300);
    for (const call of calls) expect((await rig.store.directCall(call.id))?.reason).to.equal('number_refused');
    expect(rig.milestones.filter((m) => m.name === 'callback_refused' && m.data.direct === true)).to.have.length(REFUSED.length);
    expect(rig.logLines.filter((l) => l.includes('owed callback refused'))).to.have.length(REFUSED.length);
    expect(await rig.store.listOpen()).to.deep.equal([]);
    // The agent is back: still nothing to call.
    rig.sim.endpoint('PJSIP/1001').manual();
    rig.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    await sleep(800);
    expect(rig.sim.legs.every((l) => l.endpointName === 'PJSIP/1001')).to.equal(true);
    expect(rig.sim.legs.filter((l) => l.displayedCaller.name.startsWith('CB '))).to.have.length(0);
    expectNothingDialledOut(rig);
  });

  it('the owed callbacks are held to the default policy, not the old "allow everything" one', async () => {
    const rig = rigs.set(await startRig({ config: config() }));
    const q = rig.plugin.app.book.ensureQueue('direct:a1001')?.config.numberPolicy;
    expect([q?.denyInternational, q?.denyPremium]).to.deep.equal([true, true]);
    const withFallback = rigs.set(
      await startRig({
        config: config({ direct: { overflow: true, fallbackQueueId: 'cf' }, queues: config().queues }),
      }),
    );
    expect(withFallback.plugin.app.book.ensureQueue('direct:a1001')?.config.numberPolicy).to.deep.equal(
      withFallback.config.queues.find((x) => x.id === 'cf')?.numberPolicy,
    );
  });

  it('dispatch: unchecked rows (an owed callback, a retry in an agent-first queue, a customer-first queue) fail as number_refused, nobody is rung', async () => {
    const rig = rigs.set(await startRig({ config: config(), agentsBusy: false }));
    for (const e of ['PJSIP/1001', 'PJSIP/1002']) rig.sim.endpoint(e).manual();
    const rows = [];
    for (const number of REFUSED) {
      rows.push(await storeUnchecked(rig, 'direct:a1001', number, { ownerAgentId: 'a1001' }));
      rows.push(await storeUnchecked(rig, 'support', number));
      rows.push(await storeUnchecked(rig, 'cf', number));
    }
    for (const row of rows) {
      const failed = await until(`${row.queueId} ${row.customerNumber} failed`, async () => {
        const now = await rig.store.get(row.id);
        return now?.status === 'failed' ? now : undefined;
      });
      expect(failed.outcomeReason ?? '', `${row.queueId} ${row.customerNumber}`).to.match(/^number_refused: /);
    }
    await sleep(500);
    expect(rig.sim.legs, 'no agent rung, no customer dialled').to.have.length(0);
    expect(rig.milestones.filter((m) => m.name === 'callback_attempt_failed' && m.data.outcome === 'number_refused')).to.have.length(
      rows.length,
    );
    expect(
      rig.plugin.app.agents.all().every((a) => !a.onPluginCall),
      'every reserved agent released',
    ).to.equal(true);
  });

  it('fallback: an owed callback moving to a customer-first queue is refused there before it is dialled', async () => {
    const rig = rigs.set(
      await startRig({
        config: config({ direct: { ringTimeoutSec: 1, overflow: true, ownerWindowSec: 1, fallbackQueueId: 'cf' } }),
        agentsBusy: true,
      }),
    );
    rig.sim.endpoint('PJSIP/1002').manual();
    const rows = [];
    for (const number of REFUSED) rows.push(await storeUnchecked(rig, 'direct:a1001', number, { ownerAgentId: 'a1001' }));
    for (const row of rows) await rig.waitForMilestone('owed_callback_fell_back', (d) => d.callbackId === row.id, 8000);
    rig.sim.endpoint('PJSIP/1002').setDeviceState('NOT_INUSE');
    for (const row of rows)
      await until(`${row.customerNumber} failed in cf`, async () =>
        (await rig.store.get(row.id))?.status === 'failed' ? true : undefined,
      );
    expectNothingDialledOut(rig);
    expect(rig.sim.legs).to.have.length(0);
  });

  it('reschedule: a pending callback with a refused number is failed, not moved', async () => {
    const rig = rigs.set(await startRig({ config: config() }));
    const later = new Date(Date.now() + 3600_000);
    for (const number of REFUSED) {
      const row = await storeUnchecked(rig, 'support', number, { notBefore: later });
      expect(await rig.plugin.app.admin.rescheduleCallback(row.id, new Date(Date.now() + 60_000))).to.equal(undefined);
      const now = await rig.store.get(row.id);
      expect([now?.status, now?.notBefore?.getTime()]).to.deep.equal(['failed', later.getTime()]);
    }
    const fine = await storeUnchecked(rig, 'support', '+12125550123', { notBefore: later });
    expect((await rig.plugin.app.admin.rescheduleCallback(fine.id, new Date(Date.now() + 60_000)))?.status).to.equal('pending');
  });

  it('external: an overflow action to any of them is never dialled', async () => {
    const base = config();
    const [support] = base.queues as Record<string, unknown>[];
    const queues = REFUSED.map((n, i) => ({
      ...support,
      id: `x${i}`,
      overflow: { actions: [{ when: { maxWaiting: 1 }, action: `external:${n}` }] },
    }));
    const rig = rigs.set(
      await startRig({
        config: { ...base, queues, agents: [{ id: 'a1001', name: 'Ann', endpoint: 'PJSIP/1001', queues: [{ id: 'x0' }] }] },
      }),
    );
    for (const [i] of REFUSED.entries()) {
      const call = rig.sim.call({ from: `+1555111300${i}`, to: `queue:x${i}` });
      await call.entered();
    }
    await until(
      'every action refused',
      () => rig.logLines.filter((l) => l.includes('external number is refused')).length === REFUSED.length,
    );
    expectNothingDialledOut(rig);
  });

  describe('defence in depth at the dial string (calls/dial-gate.ts)', () => {
    const cfg = parseConfig(config(), { ARI_URL: 'http://127.0.0.1:1', ARI_PASSWORD: 'x', DATABASE_URL: 'postgres://x', INSTANCE_ID: 't' });
    const queue = cfg.queues[0];
    const created: unknown[] = [];
    const ctx = {
      config: cfg,
      policy: {
        checkTransferNumber: (q: typeof queue, n: string) => {
          const c = checkNumber(q, n);
          return c.ok ? { ok: true, e164: c.e164 } : { ok: false, reason: c.reason };
        },
      },
      control: { createChannel: (o: unknown) => created.push(o), dial: () => Promise.resolve() },
    } as unknown as CallContext;

    it('gatedEndpoint refuses each number and builds the trunk dial string only from a checked E.164 number', () => {
      for (const n of REFUSED) expect(gatedEndpoint(ctx, queue, n).ok, n).to.equal(false);
      expect(gatedEndpoint(ctx, queue, '2125550123')).to.deep.equal({ ok: true, endpoint: 'PJSIP/12125550123@trunk' });
    });

    it('a preview customer leg asked to dial one of them creates no channel', async () => {
      for (const n of REFUSED) {
        const leg = new PreviewCustomerLeg(ctx, `leg-${n}`, queue, new ChannelPlaybacks(ctx, 'x'));
        const err = await leg
          .dial(n, 'cb', 'agent', () => undefined)
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err, n).to.be.instanceOf(NumberRefusedAtDial);
        expect(leg.dialled).to.equal(false);
      }
      expect(created).to.deep.equal([]);
    });
  });
});
