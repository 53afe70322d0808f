import { expect } from 'chai';
import { ManualClock } from '../../../src/domain/clock';
import { durableRetryDelay, writeDurably } from '../../../src/domain/durable-write';

/** Lets the promise callbacks queued so far run (the write's rejection reaches writeDurably). */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('domain/durable-write', () => {
  it('waits 250 ms after the first failure, doubling to a ceiling of 5 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => durableRetryDelay(n))).to.deep.equal([250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
    expect(durableRetryDelay(3, 100, 300)).to.equal(300);
  });

  it('retries through an outage on the injected clock and resolves once the write lands', async () => {
    const clock = new ManualClock(0);
    let down = true;
    const triedAt: number[] = [];
    const result = writeDurably(
      () => {
        triedAt.push(clock.now());
        return down ? Promise.reject(new Error('terminating connection')) : Promise.resolve('stored');
      },
      { clock },
    );
    // Outage: tries at 0, 250, 750, 1750, 3750, 7750, 12750 (gaps 250, 500, 1000, 2000, 4000, 5000, 5000).
    for (const gap of [250, 500, 1000, 2000, 4000, 5000]) {
      await settle();
      clock.advance(gap - 1);
      const before = triedAt.length;
      clock.advance(1);
      expect(triedAt.length, `a try ${gap} ms after the last`).to.equal(before + 1);
    }
    await settle();
    expect(triedAt).to.deep.equal([0, 250, 750, 1750, 3750, 7750, 12750]);
    down = false;
    clock.advance(5000);
    expect(await result).to.deep.equal({ kind: 'written', value: 'stored', tries: 8 });
    expect(clock.pendingTimers).to.equal(0);
  });

  it('gives up, writing nothing more, once the write no longer matters (the claim is someone else’s)', async () => {
    const clock = new ManualClock(0);
    let wanted = true;
    let tries = 0;
    const failures: number[] = [];
    const result = writeDurably(
      () => {
        tries += 1;
        return Promise.reject(new Error('canceling statement due to lock timeout'));
      },
      { clock, stillWanted: () => wanted, onFailure: (_e, n, next) => failures.push(n * 10000 + next) },
    );
    await settle();
    clock.advance(250);
    await settle();
    wanted = false;
    clock.advance(500);
    const r = await result;
    expect(r.kind).to.equal('given_up');
    expect(tries).to.equal(2);
    expect(failures).to.deep.equal([10250, 20500]);
    expect(clock.pendingTimers).to.equal(0);
  });

  it('a first try that succeeds sets no timer', async () => {
    const clock = new ManualClock(0);
    expect(await writeDurably(() => Promise.resolve(7), { clock })).to.deep.equal({ kind: 'written', value: 7, tries: 1 });
    expect(clock.pendingTimers).to.equal(0);
  });
});
