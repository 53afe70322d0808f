import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { digitSounds } from '../../src/domain/caller-number';
import { lockTable } from '../helpers/database-faults';
import { bookCallback, queueConfig, startRig, Rig, sleep, useRig } from '../helpers/plugin-harness';

/** Call stories for the callback policies (issue 5): retries, customer-first. */

describe('e2e: callback policies', function () {
  this.timeout(40000);
  const rigs = useRig();

  it('three failed attempts end the callback as failed, each attempt and its cause stored', async () => {
    const rig = rigs.set(await startRig({ config: queueConfig({ maxAttempts: 3, retryMinGapSec: 0 }) }));
    const r = rig;
    const id = await bookCallback(r, '+15558880001');
    r.sim.endpoint('PJSIP/1001').answersAfter(30);
    r.sim.endpoint('PJSIP/15558880001@trunk').busy();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    for (let i = 0; i < 3; i++) {
      const leg = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
      await leg.waitForPlayback((m) => m === PROMPTS.whisperIntro, 3000);
      await leg.pressDtmf('1');
      await leg.waitForPlayback((m) => m === PROMPTS.customerBusy, 5000);
      await leg.waitFor('hungup', 5000);
    }
    await sleep(300);
    const cb = await r.store.get(id);
    expect([cb?.status, cb?.attempts]).to.deep.equal(['failed', 3]);
    expect(cb?.outcomeReason).to.match(/max_attempts_reached: last busy/);
    expect((await r.store.attempts(id)).map((a) => [a.outcome, a.cause])).to.deep.equal([
      ['busy', 17],
      ['busy', 17],
      ['busy', 17],
    ]);
    await sleep(1200);
    expect(r.sim.endpoint('PJSIP/1001').legs, 'no fourth attempt').to.have.length(3);
    expect(r.plugin.app.queueSnapshot('support')?.callbacks).to.equal(0);
  });

  it('retries keep the minimum gap between attempts', async () => {
    const rig = rigs.set(await startRig({ config: queueConfig({ maxAttempts: 3, retryMinGapSec: 2 }) }));
    const r = rig;
    await bookCallback(r, '+15558880002');
    r.sim.endpoint('PJSIP/1001').answersAfter(30);
    r.sim.endpoint('PJSIP/15558880002@trunk').busy();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const first = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    await first.waitForPlayback((m) => m === PROMPTS.whisperIntro, 3000);
    await first.pressDtmf('1');
    await first.waitFor('hungup', 5000);
    const endedAt = Date.now();
    const second = await r.sim.endpoint('PJSIP/1001').nextLeg(6000);
    expect(Date.now() - endedAt).to.be.greaterThan(1500);
    expect(second.displayedCaller.name).to.equal('CB +15558880002');
  });

  it('customer-first: the customer is dialled first, presses 1, then the free agent is connected', async () => {
    const rig = rigs.set(await startRig({ config: queueConfig({ mode: 'customer-first' }) }));
    const r = rig;
    const id = await bookCallback(r, '+15558880003');
    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint('PJSIP/15558880003@trunk').manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const customer = await r.sim.endpoint('PJSIP/15558880003@trunk').nextLeg(5000);
    expect(customer.displayedCaller).to.deep.include({ number: '5550100', name: 'Support Callback' });
    expect(r.sim.endpoint('PJSIP/1001').legs, 'no agent leg before the customer confirms').to.have.length(0);
    customer.answer();
    await customer.waitForPlayback((m) => m === PROMPTS.guard, 3000);
    await customer.pressDtmf('1');
    await customer.waitFor('mohOn', 3000);
    const agent = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    expect(agent.displayedCaller.name).to.equal('CB +15558880003');
    agent.answer();
    await r.waitForMilestone('bridged', (d) => d.callbackId === id, 5000);
    const mixing = r.sim.bridges().filter((b) => b.bridge_type === 'mixing');
    expect([...(mixing[0]?.channels ?? [])].sort()).to.deep.equal([customer.id, agent.id].sort());
    await r.waitForMilestone('callback_completed', (d) => d.callbackId === id, 5000);
    expect((await r.store.get(id))?.status).to.equal('completed');
  });
});

describe('e2e: callback number entry and the toll-fraud guard', function () {
  this.timeout(40000);
  const rigs = useRig();

  async function waitingCaller(rig: Rig, from: string) {
    const call = rig.sim.call({ from, to: 'queue:support' });
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    return call;
  }

  it('another number: press 2, type it with #, hear it read back, confirm with 1', async () => {
    const rig = rigs.set(await startRig());
    const call = await waitingCaller(rig, '+15558881001');
    expect(call.playbacks.find((p) => p.media.includes(PROMPTS.offer))?.media).to.deep.equal([PROMPTS.offer, PROMPTS.offerOtherNumber]);
    await call.pressDtmf('2');
    await call.waitForPlayback((m) => m === PROMPTS.enterNumber, 3000);
    await call.pressDtmf('2125550199#', { gapMs: 20 });
    const readBack = await call.waitForPlayback((m) => m === PROMPTS.youEntered, 3000);
    expect(readBack.media).to.deep.equal([PROMPTS.youEntered, ...digitSounds('12125550199'), PROMPTS.confirmNumber]);
    await call.pressDtmf('1');
    await call.waitFor('hungup', 5000);
    const [cb] = await rig.store.listOpen();
    expect(cb?.customerNumber).to.equal('+12125550199');
    expect(call.playbacks.find((p) => p.media.includes(PROMPTS.confirm))?.media).to.include.members(digitSounds('12125550199'));
  });

  it('a withheld caller id makes entering a number mandatory', async () => {
    const rig = rigs.set(await startRig());
    const call = await waitingCaller(rig, 'anonymous');
    await call.pressDtmf('1');
    await call.waitForPlayback((m) => m === PROMPTS.enterNumber, 3000);
    expect(await rig.store.listOpen()).to.have.length(0);
    await call.pressDtmf('2125550100#', { gapMs: 20 });
    await call.waitForPlayback((m) => m === PROMPTS.youEntered, 3000);
    await call.pressDtmf('1');
    await call.waitFor('hungup', 5000);
    expect((await rig.store.listOpen()).map((c) => c.customerNumber)).to.deep.equal(['+12125550100']);
  });

  it('invalid entries three times: a clear message, the caller stays queued, nothing stored', async () => {
    const rig = rigs.set(await startRig());
    const call = await waitingCaller(rig, '+15558881002');
    await call.pressDtmf('2');
    await call.waitForPlayback((m) => m === PROMPTS.enterNumber, 3000);
    for (const junk of ['12#', '*#', '99999999999999999999#']) {
      await call.pressDtmf(junk, { gapMs: 20 });
      await sleep(150);
    }
    await call.waitForPlayback((m) => m === PROMPTS.entryGivenUp, 5000);
    expect(call.playbacks.filter((p) => p.media.includes(PROMPTS.invalidNumber)).length).to.be.at.least(2);
    await sleep(300);
    expect(call.hungUpBy).to.equal(null);
    expect(await rig.store.listOpen()).to.have.length(0);
    expect(rig.plugin.app.queueSnapshot('support')?.callers).to.equal(1);
  });

  it('a premium-rate number is refused with a clear prompt and the reason logged', async () => {
    const rig = rigs.set(await startRig());
    const premium = await waitingCaller(rig, '+19005550123');
    await premium.pressDtmf('1');
    await premium.waitForPlayback((m) => m === PROMPTS.numberRefused, 3000);
    expect(premium.hungUpBy).to.equal(null);
    expect(await rig.store.listOpen()).to.have.length(0);
    expect(rig.logLines.some((l) => l.includes('callback number refused') && l.includes('premium'))).to.equal(true);
    const typed = await waitingCaller(rig, '+15558881003');
    await typed.pressDtmf('2');
    await typed.waitForPlayback((m) => m === PROMPTS.enterNumber, 3000);
    await typed.pressDtmf('011447911123456#', { gapMs: 20 });
    await typed.waitForPlayback((m) => m === PROMPTS.numberRefused, 3000);
  });

  it('a duplicate request: the caller is told a callback is already booked, the first keeps its place', async () => {
    const rig = rigs.set(await startRig());
    const firstId = await bookCallback(rig, '+15558881004');
    const again = await waitingCaller(rig, '+15558881004');
    await again.pressDtmf('1');
    await again.waitForPlayback((m) => m === PROMPTS.alreadyBooked, 3000);
    await again.waitFor('hungup', 5000);
    const open = await rig.store.listOpen();
    expect(open.map((c) => c.id)).to.deep.equal([firstId]);
    expect(rig.plugin.app.queueSnapshot('support')?.items.map((i) => i.id)).to.deep.equal([firstId]);
  });
});

describe('e2e: booking limits and bounded waits (issue 19)', function () {
  // Typing a number on the simulator takes a few seconds a caller; the first story has five.
  this.timeout(60000);
  const rigs = useRig();

  async function waitingCaller(rig: Rig, from: string) {
    const call = rig.sim.call({ from, to: 'queue:support' });
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    return call;
  }

  /** A withheld caller types `digits`, confirms, and waits for what comes after the read-back. */
  async function withheldTypes(rig: Rig, digits: string) {
    const call = await waitingCaller(rig, 'anonymous');
    await call.pressDtmf('1');
    await call.waitForPlayback((m) => m === PROMPTS.enterNumber, 3000);
    await call.pressDtmf(`${digits}#`, { gapMs: 20 });
    await call.waitForPlayback((m) => m === PROMPTS.youEntered, 3000);
    await call.pressDtmf('1');
    return call;
  }

  it('withheld callers are limited per typed number, not in one shared bucket, and hear the rate limit prompt', async () => {
    const rig = rigs.set(await startRig({ config: queueConfig({ rateLimit: { limit: 1, windowSec: 3600 } }) }));
    // Four different withheld callers, each typing their own number: all four are booked (one
    // shared 'withheld' bucket with a limit of 1 refused the second).
    for (const n of ['2125550141', '2125550142', '2125550143', '2125550144']) {
      const call = await withheldTypes(rig, n);
      await call.waitForPlayback((m) => m === PROMPTS.confirm, 3000);
      await call.waitFor('hungup', 5000);
    }
    const open = await rig.store.listOpen();
    expect(open.map((c) => c.customerNumber).sort()).to.deep.equal(['+12125550141', '+12125550142', '+12125550143', '+12125550144']);
    // The first number's request is closed; asking again for it within the window is over its limit.
    const first = open.find((c) => c.customerNumber === '+12125550141')!;
    await rig.store.setStatus(first.id, 'cancelled', 'test', new Date());
    const again = await withheldTypes(rig, '2125550141');
    await again.waitForPlayback((m) => m === PROMPTS.rateLimited, 3000);
    await sleep(300);
    expect(
      again.playbacks.some((p) => p.media.includes(PROMPTS.numberRefused)),
      'not "we cannot call that number"',
    ).to.equal(false);
    expect(again.hungUpBy, 'the caller keeps the place').to.equal(null);
    expect(rig.plugin.app.queueSnapshot('support')?.callers).to.equal(1);
    expect(await rig.store.listOpen()).to.have.length(3);
    expect(rig.logLines.some((l) => l.includes('callback number refused') && l.includes('rate_limited'))).to.equal(true);
  });

  it('a caller id over the limit hears the rate limit prompt; 5 and +1 5 are one caller', async () => {
    const rig = rigs.set(await startRig({ config: queueConfig({ rateLimit: { limit: 2, windowSec: 3600 } }) }));
    for (const [from, typed] of [
      ['+15558883001', '2125550151'],
      ['15558883001', '2125550152'],
      ['+15558883001', '2125550153'],
    ] as const) {
      const call = await waitingCaller(rig, from);
      await call.pressDtmf('2');
      await call.waitForPlayback((m) => m === PROMPTS.enterNumber, 3000);
      await call.pressDtmf(`${typed}#`, { gapMs: 20 });
      await call.waitForPlayback((m) => m === PROMPTS.youEntered, 3000);
      await call.pressDtmf('1');
      if (typed !== '2125550153') {
        await call.waitForPlayback((m) => m === PROMPTS.confirm, 3000);
        await call.waitFor('hungup', 5000);
      } else {
        await call.waitForPlayback((m) => m === PROMPTS.rateLimited, 3000);
        expect(call.hungUpBy).to.equal(null);
      }
    }
    expect((await rig.store.listOpen()).map((c) => c.customerNumber).sort()).to.deep.equal(['+12125550151', '+12125550152']);
  });

  it('a booking behind a table lock: the caller hears the failure within lock_timeout, keeps the place, and books afterwards', async () => {
    const rig = rigs.set(await startRig());
    const call = await waitingCaller(rig, '+15558884001');
    const lock = await lockTable(rig.database.db, 'callback_requests');
    try {
      const pressed = Date.now();
      await call.pressDtmf('1');
      await call.waitForPlayback((m) => m === PROMPTS.storeFailed, 6000);
      // lock_timeout (2 s by default), not the hang of a stalled database.
      expect(Date.now() - pressed).to.be.within(1500, 4500);
      expect(call.hungUpBy).to.equal(null);
      expect(rig.plugin.app.queueSnapshot('support')?.callers, 'still queued').to.equal(1);
    } finally {
      await lock.release();
    }
    await sleep(300);
    await call.pressDtmf('1');
    await call.waitForPlayback((m) => m === PROMPTS.confirm, 5000);
    await call.waitFor('hungup', 5000);
    expect((await rig.store.listOpen()).map((c) => c.customerNumber)).to.deep.equal(['+15558884001']);
  });
});

describe('e2e: operating hours and expiry', function () {
  this.timeout(30000);
  const rigs = useRig();

  /** Opening hours that exclude the present moment: every day, from 3 h to 4 h from now (UTC). */
  function closedNow(): Record<string, unknown> {
    const at = (h: number) => {
      const d = new Date(Date.now() + h * 3600_000);
      return `${String(d.getUTCHours()).padStart(2, '0')}:00`;
    };
    const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
    return { timeZone: 'UTC', weekly: days.map((day) => ({ day, open: at(3), close: at(4) })) };
  }

  it('no callback is dialled outside the queue hours, and out-of-hours is an overflow condition', async () => {
    const rig = rigs.set(await startRig({ config: queueConfig({ hours: closedNow(), overflow: { maxWaiting: 50, outOfHours: true } }) }));
    // Out of hours: the offer plays although only one call waits (maxWaiting 50).
    const id = await bookCallback(rig, '+15558882001');
    rig.sim.endpoint('PJSIP/1001').manual();
    rig.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    await sleep(1500);
    expect(rig.sim.endpoint('PJSIP/1001').legs, 'closed: nobody is rung').to.have.length(0);
    expect((await rig.store.get(id))?.status).to.equal('pending');
  });

  it('a pending callback older than expiryDays expires with its reason', async () => {
    const rig = rigs.set(
      await startRig({
        config: {
          ...queueConfig({ expiryDays: 7 }),
          callback: { dialTemplate: 'PJSIP/{number}@trunk', syncIntervalSec: 1, timeRulesIntervalSec: 1 },
        },
      }),
    );
    const id = await bookCallback(rig, '+15558882002');
    await rig.database
      .db('callback_requests')
      .where({ id })
      .update({ requested_at: new Date(Date.now() - 8 * 86400_000) });
    await rig.waitForMilestone('callback_expired', (d) => d.callbackId === id, 5000);
    const cb = await rig.store.get(id);
    expect([cb?.status, cb?.outcomeReason]).to.deep.equal(['expired', 'max_age_reached']);
    expect(rig.plugin.app.queueSnapshot('support')?.callbacks).to.equal(0);
  });
});
