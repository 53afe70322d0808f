import { expect } from 'chai';
import { compareWorkItems, createSeqCounter, WorkItem } from '../../../src/domain/work-item';

const item = (over: Partial<WorkItem>): WorkItem => ({
  id: 'x',
  queueId: 'q',
  kind: 'caller',
  priority: 0,
  arrivedAt: 0,
  seq: 0,
  ...over,
});

describe('domain/work-item compareWorkItems', () => {
  it('serves higher priority first, regardless of arrival', () => {
    const hi = item({ id: 'hi', priority: 5, arrivedAt: 1_000 });
    const lo = item({ id: 'lo', priority: 1, arrivedAt: 0 });
    expect(compareWorkItems(hi, lo)).to.be.lessThan(0);
    expect(compareWorkItems(lo, hi)).to.be.greaterThan(0);
  });

  it('serves earlier arrival first at equal priority; a callback keeps its caller arrival', () => {
    const cb = item({ id: 'cb', kind: 'callback', arrivedAt: 100, seq: 9 });
    const caller = item({ id: 'c', kind: 'caller', arrivedAt: 200, seq: 1 });
    expect(compareWorkItems(cb, caller)).to.be.lessThan(0);
  });

  it('breaks full ties on seq, then id, and is 0 only for the same key', () => {
    const a = item({ id: 'a', seq: 1 });
    const b = item({ id: 'b', seq: 2 });
    expect(compareWorkItems(a, b)).to.be.lessThan(0);
    expect(compareWorkItems(item({ id: 'b', seq: 3 }), item({ id: 'a', seq: 3 }))).to.be.greaterThan(0);
    expect(compareWorkItems(a, { ...a })).to.equal(0);
  });

  it('handles negative priorities', () => {
    expect(compareWorkItems(item({ id: 'a', priority: -1 }), item({ id: 'b', priority: 0 }))).to.be.greaterThan(0);
  });

  it('sorts a mixed list into the documented order', () => {
    const list = [
      item({ id: 'p0-late', priority: 0, arrivedAt: 50, seq: 4 }),
      item({ id: 'p1', priority: 1, arrivedAt: 90, seq: 5 }),
      item({ id: 'p0-early-s2', priority: 0, arrivedAt: 10, seq: 2 }),
      item({ id: 'p0-early-s1', priority: 0, arrivedAt: 10, seq: 1 }),
    ];
    expect(list.sort(compareWorkItems).map((i) => i.id)).to.deep.equal(['p1', 'p0-early-s1', 'p0-early-s2', 'p0-late']);
  });

  it('createSeqCounter is monotonic and independent per counter', () => {
    const a = createSeqCounter();
    const b = createSeqCounter(10);
    expect([a(), a(), a()]).to.deep.equal([1, 2, 3]);
    expect(b()).to.equal(10);
  });
});
