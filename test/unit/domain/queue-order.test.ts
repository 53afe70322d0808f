import { expect } from 'chai';
import { QueueOrder } from '../../../src/domain/queue-order';
import { compareWorkItems, WorkItem, WorkItemKind } from '../../../src/domain/work-item';

let seq = 0;
const mk = (id: string, arrivedAt: number, kind: WorkItemKind = 'caller', priority = 0): WorkItem => ({
  id,
  queueId: 'q1',
  kind,
  priority,
  arrivedAt,
  seq: ++seq,
});

/** Deterministic PRNG so a failing randomized run can be reproduced. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('domain/queue-order QueueOrder', () => {
  it('is empty to start with', () => {
    const q = new QueueOrder();
    expect(q.size).to.equal(0);
    expect(q.head()).to.equal(undefined);
    expect(q.items()).to.deep.equal([]);
    expect(q.count()).to.equal(0);
    expect(q.count('callback')).to.equal(0);
    expect(q.position('nope')).to.equal(undefined);
    expect(q.itemsAhead('nope')).to.equal(undefined);
    expect(q.remove('nope')).to.equal(false);
    expect(q.at(0)).to.equal(undefined);
  });

  it('orders by priority, then arrival, then seq, whatever the insertion order', () => {
    const q = new QueueOrder();
    q.add(mk('late', 300));
    q.add(mk('vip', 400, 'caller', 10));
    q.add(mk('early', 100));
    q.add(mk('mid', 200));
    expect(q.items().map((i) => i.id)).to.deep.equal(['vip', 'early', 'mid', 'late']);
    expect(q.position('vip')).to.equal(1);
    expect(q.position('late')).to.equal(4);
    expect(q.head()?.id).to.equal('vip');
  });

  it('equal priority and arrival are ordered by seq (first come first served)', () => {
    const q = new QueueOrder();
    const a = mk('a', 100);
    const b = mk('b', 100);
    q.add(b);
    q.add(a);
    expect(q.items().map((i) => i.id)).to.deep.equal(['a', 'b']);
  });

  it('interleaves callbacks with callers by original arrival', () => {
    const q = new QueueOrder();
    q.add(mk('c1', 100));
    q.add(mk('c3', 300));
    q.add(mk('cb2', 200, 'callback'));
    q.add(mk('cb4', 400, 'callback'));
    expect(q.items().map((i) => i.id)).to.deep.equal(['c1', 'cb2', 'c3', 'cb4']);
    expect(q.count('caller')).to.equal(2);
    expect(q.count('callback')).to.equal(2);
    expect(q.itemsAhead('cb4')).to.equal(3);
    expect(q.itemsAhead('cb4', 'callback')).to.equal(1);
    expect(q.itemsAhead('cb4', 'caller')).to.equal(2);
  });

  it('a caller converted to a callback keeps its place (remove + add with same arrival)', () => {
    const q = new QueueOrder();
    const c = mk('c', 100);
    q.add(c);
    q.add(mk('d', 200));
    q.add(mk('e', 300));
    q.remove('c');
    q.add({ ...c, id: 'c-cb', kind: 'callback' });
    expect(q.position('c-cb')).to.equal(1);
  });

  it('updates positions and counts after removals', () => {
    const q = new QueueOrder([mk('a', 1), mk('b', 2, 'callback'), mk('c', 3), mk('d', 4)]);
    expect(q.remove('b')).to.equal(true);
    expect(q.remove('b')).to.equal(false);
    expect(q.position('c')).to.equal(2);
    expect(q.position('d')).to.equal(3);
    expect(q.has('b')).to.equal(false);
    expect(q.get('b')).to.equal(undefined);
    expect(q.count('callback')).to.equal(0);
    q.remove('a');
    expect(q.head()?.id).to.equal('c');
    expect(q.size).to.equal(2);
  });

  it('head(filter) returns the first matching item in order, or undefined', () => {
    const q = new QueueOrder([mk('c1', 1), mk('cb1', 2, 'callback'), mk('cb2', 3, 'callback')]);
    expect(q.head((i) => i.kind === 'callback')?.id).to.equal('cb1');
    expect(q.head((i) => i.id === 'zzz')).to.equal(undefined);
  });

  it('rejects duplicate ids and leaves the queue unchanged', () => {
    const q = new QueueOrder([mk('a', 1)]);
    expect(() => q.add(mk('a', 0))).to.throw(/duplicate/);
    expect(q.size).to.equal(1);
    expect(q.get('a')?.arrivedAt).to.equal(1);
  });

  it('stores a frozen copy so outside mutation cannot corrupt the order', () => {
    const q = new QueueOrder();
    const a = mk('a', 100);
    q.add(a);
    q.add(mk('b', 200));
    a.priority = 99;
    expect(q.position('a')).to.equal(1);
    expect(q.get('a')?.priority).to.equal(0);
    expect(Object.isFrozen(q.get('a'))).to.equal(true);
  });

  it('items() is a snapshot that does not change with the queue', () => {
    const q = new QueueOrder([mk('a', 1)]);
    const snap = q.items();
    q.add(mk('b', 2));
    expect(snap.length).to.equal(1);
    expect(q.items().length).to.equal(2);
  });

  it('matches a naive sort under random adds and removes (incl. priorities and ties)', () => {
    const rnd = lcg(42);
    const q = new QueueOrder();
    const naive = new Map<string, WorkItem>();
    let n = 0;
    for (let step = 0; step < 3_000; step++) {
      if (naive.size > 0 && rnd() < 0.35) {
        const ids = [...naive.keys()];
        const id = ids[Math.floor(rnd() * ids.length)];
        expect(q.remove(id)).to.equal(true);
        naive.delete(id);
      } else {
        // Small value ranges force many priority and arrival ties.
        const it: WorkItem = {
          id: `i${n++}`,
          queueId: 'q',
          kind: rnd() < 0.3 ? 'callback' : 'caller',
          priority: Math.floor(rnd() * 3),
          arrivedAt: Math.floor(rnd() * 20),
          seq: Math.floor(rnd() * 5) + n * 10,
        };
        q.add(it);
        naive.set(it.id, it);
      }
      if (step % 100 === 0) {
        const expected = [...naive.values()].sort(compareWorkItems).map((i) => i.id);
        expect(q.items().map((i) => i.id)).to.deep.equal(expected);
        expected.forEach((id, idx) => expect(q.position(id)).to.equal(idx + 1));
        expect(q.count('callback')).to.equal([...naive.values()].filter((i) => i.kind === 'callback').length);
      }
    }
  });

  // Speed is `npm run bench`'s business (position 100k/1k ratio); this is correctness at that size.
  it('100,000 items: positions stay right through front inserts and removals', function () {
    this.timeout(60_000); // ~1 s alone; a starved 2-core machine took over 10 s
    const q = new QueueOrder();
    const N = 100_000;
    // Mostly tail appends like real arrivals, plus a few high-priority inserts at the front.
    for (let i = 0; i < N; i++)
      q.add({
        id: `x${i}`,
        queueId: 'q',
        kind: i % 3 === 0 ? 'callback' : 'caller',
        priority: i % 1000 === 0 ? 1 : 0,
        arrivedAt: i,
        seq: i,
      });
    for (let i = 0; i < N; i += 7) expect(q.position(`x${i}`)).to.be.a('number');
    for (let i = 1; i < 2_000; i++) q.remove(`x${i * 37}`);
    expect(q.size).to.equal(N - 1_999);
    expect(q.position('x0')).to.equal(1); // priority 1, earliest
    expect(q.position('x1000')).to.equal(2);
    expect(q.has('x37000')).to.equal(false); // a priority-1 item among the removed ones
    expect(q.position('x1')).to.equal(100); // behind the 99 remaining priority-1 items
  });
});
