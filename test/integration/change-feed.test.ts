import { expect } from 'chai';
import { announceChange, announcementsSent, ChangeFeed, MAX_ANNOUNCEMENTS_PER_STATEMENT } from '../../src/store/change-feed';
import { freshDatabase, TestDatabase } from '../helpers/database';

/**
 * The change feed on a real PostgreSQL: what one instance announces after its writes reaches
 * every listening instance, in the order of the writes, and a burst of announcements costs a few
 * statements, not one each.
 */
describe('change feed: announcements after COMMIT (real PostgreSQL)', function () {
  this.timeout(30000);
  let t: TestDatabase;
  let feed: ChangeFeed;
  let seen: { table: string; row: Record<string, unknown> }[];

  before(async () => {
    t = await freshDatabase();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    seen = [];
    feed = new ChangeFeed(t.url);
    feed.on('change', (c) => seen.push(c));
    await feed.start();
  });
  afterEach(async () => {
    await feed.stop();
  });

  async function received(n: number): Promise<void> {
    const until = Date.now() + 10000;
    while (seen.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  /** The announcement statements the pool sends from now until stop(). */
  function countStatements(): { readonly count: () => number; stop: () => void } {
    let n = 0;
    const listener = (q: { sql?: unknown }): void => {
      if (typeof q.sql === 'string' && q.sql.includes('pg_notify')) n += 1;
    };
    t.db.on('query', listener);
    return { count: () => n, stop: () => void t.db.off('query', listener) };
  }

  it('500 announcements in a burst: every one delivered, in order, in a few statements', async () => {
    const statements = countStatements();
    for (let i = 0; i < 500; i++) announceChange(t.db, 'queue_entries', { id: `e${i}`, seq: i });
    await announcementsSent(t.db);
    statements.stop();
    await received(500);
    expect(seen.map((c) => c.row.id)).to.deep.equal(Array.from({ length: 500 }, (_, i) => `e${i}`));
    expect(seen.every((c) => c.table === 'queue_entries')).to.equal(true);
    // The first goes alone; what queued behind it goes MAX_ANNOUNCEMENTS_PER_STATEMENT at a time.
    expect(statements.count()).to.be.within(2, 1 + Math.ceil(500 / MAX_ANNOUNCEMENTS_PER_STATEMENT) + 1);
  });

  it('a row announced twice with the same content, another between: all three delivered (PostgreSQL folds identical payloads in one statement)', async () => {
    announceChange(t.db, 'agent_presence', { agentId: 'a0', loggedIn: true });
    // Queued behind the first: these three go in one statement.
    announceChange(t.db, 'agent_presence', { agentId: 'a1', loggedIn: true });
    announceChange(t.db, 'agent_presence', { agentId: 'a1', loggedIn: false });
    announceChange(t.db, 'agent_presence', { agentId: 'a1', loggedIn: true });
    await announcementsSent(t.db);
    await received(4);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.map((c) => [c.row.agentId, c.row.loggedIn])).to.deep.equal([
      ['a0', true],
      ['a1', true],
      ['a1', false],
      ['a1', true],
    ]);
  });

  it('one payload PostgreSQL refuses (over 8,000 bytes) loses only itself', async () => {
    announceChange(t.db, 'callback_requests', { id: 'first' });
    // Queued behind the first: these three go in one statement, which PostgreSQL refuses whole.
    announceChange(t.db, 'callback_requests', { id: 'before' });
    announceChange(t.db, 'callback_requests', { id: 'huge', note: 'x'.repeat(9000) });
    announceChange(t.db, 'callback_requests', { id: 'after' });
    await announcementsSent(t.db);
    await received(3);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.map((c) => c.row.id)).to.deep.equal(['first', 'before', 'after']);
  });

  it('announcementsSent waits for what was queued while a statement was in flight', async () => {
    announceChange(t.db, 'callback_requests', { id: 'one' });
    const first = announcementsSent(t.db);
    announceChange(t.db, 'callback_requests', { id: 'two' });
    await first;
    await received(2);
    expect(seen.map((c) => c.row.id)).to.deep.equal(['one', 'two']);
  });
});
