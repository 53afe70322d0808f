import { expect } from 'chai';
import { RefusedRequestRetry, RefusedRequestRetryOptions } from '../../../src/calls/refused-request-retry';
import { ManualClock } from '../../../src/domain/clock';

/** A request Asterisk refuses `refusals` times, then accepts; each try noted with its time. */
function rig(refusals: number, opts: Partial<RefusedRequestRetryOptions> = {}) {
  const clock = new ManualClock(0);
  const tries: number[] = [];
  const outcomes: string[] = [];
  let left = refusals;
  let release: (() => void) | undefined;
  const retry = new RefusedRequestRetry(clock, {
    everyMs: 500,
    tries: 6,
    attempt: () => {
      tries.push(clock.now());
      if (left-- > 0) return Promise.reject(new Error('refused'));
      return new Promise<void>((r) => (release = r));
    },
    onSettled: (outcome) => outcomes.push(outcome),
    ...opts,
  });
  return { clock, tries, outcomes, retry, accept: () => release?.() };
}
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('RefusedRequestRetry: a refused request asked for again while it matters', () => {
  it('tries after the delay, again every everyMs after each refusal, and stops at the first success', async () => {
    const { clock, tries, outcomes, retry, accept } = rig(2);
    retry.startIn(500);
    for (let i = 0; i < 6; i++) {
      clock.advance(500);
      await flush();
    }
    expect(tries).to.deep.equal([500, 1000, 1500]);
    expect(retry.underWay, 'the third try is sent, not settled').to.equal(true);
    accept();
    await retry.settled();
    expect(retry.underWay).to.equal(false);
    expect(outcomes).to.deep.equal(['refused_again', 'refused_again', 'done']);
    expect(clock.pendingTimers).to.equal(0);
  });

  it('gives up after its tries, with the last refusal', async () => {
    const { clock, tries, outcomes, retry } = rig(100, { tries: 3 });
    retry.startIn(100);
    for (let i = 0; i < 10; i++) {
      clock.advance(500);
      await flush();
    }
    expect(tries).to.have.length(3);
    expect(outcomes).to.deep.equal(['refused_again', 'refused_again', 'given_up']);
    expect(clock.pendingTimers).to.equal(0);
  });

  it('a final refusal (the channel gone) ends the tries at once', async () => {
    const { clock, tries, outcomes, retry } = rig(100, { final: () => true });
    retry.startIn(0);
    clock.advance(0);
    await flush();
    clock.advance(5000);
    await flush();
    expect(tries).to.deep.equal([0]);
    expect(outcomes).to.deep.equal(['ended']);
  });

  it('no try once unwanted when it falls due, and none after cancel; a try under way still settles', async () => {
    let wanted = true;
    const a = rig(100, { wanted: () => wanted });
    a.retry.startIn(500);
    a.clock.advance(500);
    await flush();
    wanted = false;
    a.clock.advance(5000);
    await flush();
    expect(a.tries).to.deep.equal([500]);

    const b = rig(0);
    b.retry.startIn(500);
    b.clock.advance(500);
    b.retry.cancel();
    expect(b.retry.underWay).to.equal(true);
    let settled = false;
    void b.retry.settled().then(() => (settled = true));
    await flush();
    expect(settled, 'settled waits for the try under way').to.equal(false);
    b.accept();
    await flush();
    expect(settled).to.equal(true);

    const c = rig(100);
    c.retry.startIn(500);
    c.retry.cancel();
    c.clock.advance(5000);
    await flush();
    expect(c.tries).to.deep.equal([]);
    expect(c.clock.pendingTimers).to.equal(0);
  });

  it('a listener that throws does not make the try reject', async () => {
    const { clock, retry } = rig(1, {
      onSettled: () => {
        throw new Error('a listener bug');
      },
    });
    retry.startIn(0);
    clock.advance(0);
    await flush();
    await retry.settled();
    expect(retry.underWay).to.equal(false);
  });
});
