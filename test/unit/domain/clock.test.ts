import { expect } from 'chai';
import { ManualClock, systemClock } from '../../../src/domain/clock';

describe('domain/clock', () => {
  describe('ManualClock', () => {
    it('starts at the given time (default 0) and only moves when told', () => {
      expect(new ManualClock().now()).to.equal(0);
      const c = new ManualClock(1_000);
      expect(c.now()).to.equal(1_000);
      c.advance(250);
      expect(c.now()).to.equal(1_250);
    });

    it('fires due timers in due-time order, with now() equal to each due time', () => {
      const c = new ManualClock(0);
      const log: string[] = [];
      c.setTimer(() => log.push(`b@${c.now()}`), 200);
      c.setTimer(() => log.push(`a@${c.now()}`), 100);
      c.setTimer(() => log.push(`late@${c.now()}`), 301);
      c.advance(300);
      expect(log).to.deep.equal(['a@100', 'b@200']);
      expect(c.now()).to.equal(300);
      expect(c.pendingTimers).to.equal(1);
      c.advance(1);
      expect(log).to.deep.equal(['a@100', 'b@200', 'late@301']);
    });

    it('fires timers with equal due times in scheduling order', () => {
      const c = new ManualClock();
      const log: number[] = [];
      for (let i = 0; i < 5; i++) c.setTimer(() => log.push(i), 50);
      c.advance(50);
      expect(log).to.deep.equal([0, 1, 2, 3, 4]);
    });

    it('fires timers scheduled by fired timers when they fall inside the window, not after it', () => {
      const c = new ManualClock();
      const log: number[] = [];
      const tick = (): void => {
        log.push(c.now());
        c.setTimer(tick, 30);
      };
      c.setTimer(tick, 30);
      c.advance(100);
      expect(log).to.deep.equal([30, 60, 90]);
      expect(c.pendingTimers).to.equal(1); // the one due at 120
    });

    it('fires a zero-delay timer scheduled from a callback within the same advance', () => {
      const c = new ManualClock();
      const log: string[] = [];
      c.setTimer(() => {
        log.push('outer');
        c.setTimer(() => log.push(`inner@${c.now()}`), 0);
      }, 10);
      c.advance(10);
      expect(log).to.deep.equal(['outer', 'inner@10']);
    });

    it('treats negative and NaN delays as 0', () => {
      const c = new ManualClock(5);
      let fired = 0;
      c.setTimer(() => fired++, -100);
      c.setTimer(() => fired++, Number.NaN);
      c.advance(0);
      expect(fired).to.equal(2);
    });

    it('clearTimer cancels, is idempotent, and can cancel a timer from inside another', () => {
      const c = new ManualClock();
      const log: string[] = [];
      const victim = c.setTimer(() => log.push('victim'), 20);
      c.setTimer(() => {
        log.push('killer');
        c.clearTimer(victim);
      }, 10);
      const other = c.setTimer(() => log.push('other'), 5);
      c.clearTimer(other);
      c.clearTimer(other);
      c.advance(100);
      expect(log).to.deep.equal(['killer']);
      expect(c.pendingTimers).to.equal(0);
    });

    it('set() forward fires due timers; set() backward moves time without firing', () => {
      const c = new ManualClock(1_000);
      let fired = 0;
      c.setTimer(() => fired++, 500);
      c.set(1_499);
      expect(fired).to.equal(0);
      c.set(1_500);
      expect(fired).to.equal(1);
      c.set(200);
      expect(c.now()).to.equal(200);
      expect(fired).to.equal(1);
    });

    it('rejects negative or non-finite advance', () => {
      const c = new ManualClock();
      expect(() => c.advance(-1)).to.throw(RangeError);
      expect(() => c.advance(Number.POSITIVE_INFINITY)).to.throw(RangeError);
      expect(() => c.set(Number.NaN)).to.throw(RangeError);
    });
  });

  describe('systemClock', () => {
    it('reports wall time', () => {
      const before = Date.now();
      const t = systemClock.now();
      expect(t).to.be.at.least(before).and.at.most(Date.now());
    });

    it('fires a timer, and a cleared timer does not fire', async () => {
      let fired = 0;
      let cleared = 0;
      const h = systemClock.setTimer(() => cleared++, 5);
      systemClock.clearTimer(h);
      await new Promise<void>((resolve) =>
        systemClock.setTimer(() => {
          fired++;
          resolve();
        }, 10),
      );
      await new Promise<void>((resolve) => setTimeout(resolve, 10));
      expect(fired).to.equal(1);
      expect(cleared).to.equal(0);
      expect(h.id).to.be.a('number');
    });
  });
});
