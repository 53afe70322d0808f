import { expect } from 'chai';
import { BatchExecutor, GroupCommitter, ItemOutcome } from '../../../src/store/group-commit';

/**
 * The group committer's batching on its own, with an executor the test settles by hand: what goes
 * alone, what waits for the next write, in which order, and whose promise an error reaches.
 */

interface Write {
  items: number[];
  settle(outcomes: readonly ItemOutcome<string>[]): void;
  fail(e: Error): void;
}

/** An executor that records each write and leaves it in flight until the test settles it. */
function manualExecutor(): { execute: BatchExecutor<number, string>; writes: Write[] } {
  const writes: Write[] = [];
  const execute: BatchExecutor<number, string> = (items) =>
    new Promise((resolve, reject) => {
      writes.push({ items: [...items], settle: resolve, fail: reject });
    });
  return { execute, writes };
}

const ok = (value: string): ItemOutcome<string> => ({ ok: true, value });
const allOk = (w: Write): void => w.settle(w.items.map((i) => ok(`done ${i}`)));
/** Lets promise callbacks run (the committer starts the next write from a settled one). */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function settled<T>(p: Promise<T>): { value?: T; error?: Error; done: boolean } {
  const s: { value?: T; error?: Error; done: boolean } = { done: false };
  p.then(
    (v) => Object.assign(s, { value: v, done: true }),
    (e: Error) => Object.assign(s, { error: e, done: true }),
  );
  return s;
}

describe('group commit (src/store/group-commit.ts)', () => {
  it('a single item on an idle committer is written at once, alone: no timer, no wait for company', async () => {
    const { execute, writes } = manualExecutor();
    const c = new GroupCommitter(execute, 64);
    const p = c.submit(1);
    // Synchronously: the write has started before submit even returned.
    expect(writes.map((w) => w.items)).to.deep.equal([[1]]);
    allOk(writes[0]);
    expect(await p).to.equal('done 1');
    expect(c.stats).to.deep.equal({ batches: 1, items: 1, largest: 1 });
  });

  it('items arriving while a write is in flight go together in the next write, in arrival order', async () => {
    const { execute, writes } = manualExecutor();
    const c = new GroupCommitter(execute, 64);
    const first = c.submit(0);
    const rest = [1, 2, 3, 4, 5].map((i) => c.submit(i));
    expect(writes).to.have.length(1);
    expect(c.waiting).to.equal(5);
    allOk(writes[0]);
    expect(await first).to.equal('done 0');
    await flush();
    expect(writes.map((w) => w.items)).to.deep.equal([[0], [1, 2, 3, 4, 5]]);
    allOk(writes[1]);
    expect(await Promise.all(rest)).to.deep.equal(['done 1', 'done 2', 'done 3', 'done 4', 'done 5']);
  });

  it('a caller is answered only when the write holding its own item has finished', async () => {
    const { execute, writes } = manualExecutor();
    const c = new GroupCommitter(execute, 64);
    const a = settled(c.submit(1));
    const b = settled(c.submit(2));
    await flush();
    expect([a.done, b.done]).to.deep.equal([false, false]);
    allOk(writes[0]);
    await flush();
    // The first write is done; the second (holding item 2) has started but not finished.
    expect([a.done, b.done]).to.deep.equal([true, false]);
    expect(writes[1].items).to.deep.equal([2]);
    allOk(writes[1]);
    await flush();
    expect(b.value).to.equal('done 2');
  });

  it('one write at a time, at most maxBatch items each; the rest waits for the following one', async () => {
    const { execute, writes } = manualExecutor();
    const c = new GroupCommitter(execute, 3);
    const all = Array.from({ length: 8 }, (_, i) => c.submit(i));
    for (let round = 0; writes.length > round; round++) {
      expect(writes.length, 'never two writes in flight').to.equal(round + 1);
      allOk(writes[round]);
      await flush();
    }
    expect(writes.map((w) => w.items)).to.deep.equal([[0], [1, 2, 3], [4, 5, 6], [7]]);
    expect(await Promise.all(all)).to.have.length(8);
    expect(c.stats).to.deep.equal({ batches: 4, items: 8, largest: 3 });
  });

  it("each item's outcome reaches its own caller: an error outcome rejects that caller alone", async () => {
    const { execute, writes } = manualExecutor();
    const c = new GroupCommitter(execute, 64);
    void c.submit(0);
    const batch = [1, 2, 3].map((i) => settled(c.submit(i)));
    allOk(writes[0]);
    await flush();
    writes[1].settle([ok('stored 1'), { ok: false, error: new Error('row 2: lock timeout') }, ok('duplicate 3')]);
    await flush();
    expect(batch.map((s) => s.value)).to.deep.equal(['stored 1', undefined, 'duplicate 3']);
    expect(batch[1].error?.message).to.equal('row 2: lock timeout');
  });

  it('a write that fails rejects every caller of that batch, and the next batch is still written', async () => {
    const { execute, writes } = manualExecutor();
    const c = new GroupCommitter(execute, 64);
    const first = settled(c.submit(0));
    const doomed = [1, 2].map((i) => settled(c.submit(i)));
    allOk(writes[0]);
    await flush();
    const later = settled(c.submit(3)); // arrives while the doomed write is in flight
    writes[1].fail(new Error('connection terminated'));
    await flush();
    expect(first.value).to.equal('done 0');
    expect(doomed.map((s) => s.error?.message)).to.deep.equal(['connection terminated', 'connection terminated']);
    expect(writes[2].items).to.deep.equal([3]);
    allOk(writes[2]);
    await flush();
    expect(later.value).to.equal('done 3');
  });

  it('an executor that throws synchronously, or answers the wrong number of outcomes, fails its batch only', async () => {
    let calls = 0;
    const c = new GroupCommitter<number, string>((items) => {
      calls++;
      if (calls === 1) throw new Error('bad SQL');
      return Promise.resolve(items.map((i) => ok(`done ${i}`)));
    }, 64);
    expect(await c.submit(1).catch((e: Error) => e.message)).to.equal('bad SQL');
    expect(await c.submit(2), 'the committer goes on').to.equal('done 2');
    const gate = new GroupCommitter<number, string>((items) => Promise.resolve(items.length === 1 ? [ok('alone')] : [ok('too few')]), 64);
    const results = await Promise.allSettled([gate.submit(1), gate.submit(2), gate.submit(3)]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).to.deep.equal([
      'alone',
      'group commit: 1 outcomes for a batch of 2',
      'group commit: 1 outcomes for a batch of 2',
    ]);
  });

  it('refuses a batch size that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, NaN])
      expect(() => new GroupCommitter<number, string>(() => Promise.resolve([]), bad)).to.throw(/maxBatch/);
  });
});
