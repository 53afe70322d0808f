import { expect } from 'chai';
import { Client } from 'pg';
import { Writable } from 'node:stream';
import { Leadership } from '../../src/cluster/leadership';
import { createLogger } from '../../src/logging/logger';
import { freshDatabase, TestDatabase } from '../helpers/database';

/**
 * Leadership of a standby group on a real PostgreSQL: one leader at a time; a leader whose
 * session is cut keeps serving until it can tell whether it still leads, and stops as soon as
 * another process does.
 */
const quiet = createLogger({ stream: new Writable({ write: (_c, _e, cb) => cb() }) });

async function cutLockHolder(url: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  // Only this test's database: advisory locks of suites running beside it (in mocha's other
  // worker, on the same server) are theirs, and cutting them made those suites fail.
  await c.query(
    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
  );
  await c.end();
}

function waitFor(l: Leadership, event: 'degraded' | 'restored' | 'lost', ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no '${event}' within ${ms} ms`)), ms);
    l.once(event, () => {
      clearTimeout(t);
      resolve();
    });
  });
}

describe('integration: leadership of a standby group (PostgreSQL advisory lock)', function () {
  this.timeout(30000);
  let db: TestDatabase | undefined;
  const held: Leadership[] = [];

  afterEach(async () => {
    for (const l of held.splice(0)) await l.release();
    await db?.close();
  });

  const make = (holder: string) => {
    const l = new Leadership({
      databaseUrl: (db as TestDatabase).url,
      groupKey: 'direct-callback@test',
      holder,
      logger: quiet,
      retryMs: 100,
    });
    held.push(l);
    return l;
  };

  it('one leader; a standby waits and takes over when the leader goes, with the next term and the dead holder named', async () => {
    db = await freshDatabase();
    const a = make('a');
    expect(await a.acquire()).to.deep.equal({ term: 1, previousHolder: null });
    const b = make('b');
    let waited: string | null | undefined;
    const bLeads = b.acquire((holder) => (waited = holder));
    await new Promise((r) => setTimeout(r, 300));
    expect(b.current).to.equal('waiting');
    expect(waited).to.equal('a');
    await a.release();
    expect(await bLeads).to.deep.equal({ term: 2, previousHolder: 'a' });
    expect(b.mayAct).to.equal(true);
  });

  it('a leader cut off from the database serves on and leads again when the session is back', async () => {
    db = await freshDatabase();
    const a = make('a');
    await a.acquire();
    const degraded = waitFor(a, 'degraded', 5000);
    const restored = waitFor(a, 'restored', 10000);
    await cutLockHolder(db.url);
    await degraded;
    expect(a.mayAct, 'serving on while cut off').to.equal(true);
    await restored;
    expect(a.current).to.equal('leading');
  });

  it('a leader cut off while a standby took over stops: it never acts beside the new leader', async () => {
    db = await freshDatabase();
    const a = make('a');
    await a.acquire();
    const b = make('b');
    const bLeads = b.acquire();
    const lost = waitFor(a, 'lost', 10000);
    await cutLockHolder(db.url);
    expect((await bLeads).previousHolder).to.equal('a');
    await lost;
    expect(a.mayAct).to.equal(false);
    expect(b.mayAct).to.equal(true);
  });
});
