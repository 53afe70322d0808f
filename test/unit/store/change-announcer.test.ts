import { expect } from 'chai';
import { Knex } from 'knex';
import { announceChange, announcementsSent } from '../../../src/store/change-feed';

/**
 * How announcements fail (the real delivery is test/integration/change-feed.test.ts): a batch
 * PostgreSQL refuses for one payload is sent again one by one; a batch that fails because the
 * database cannot be reached is dropped after its one try, not tried again once per payload.
 */
function failingDb(code: string): { db: Knex; statements: unknown[][] } {
  const statements: unknown[][] = [];
  const raw = (_sql: string, bindings: unknown[]): Promise<never> => {
    statements.push(bindings);
    return Promise.reject(Object.assign(new Error(`failed (${code})`), { code }));
  };
  return { db: { raw } as unknown as Knex, statements };
}

describe('change announcements that fail', () => {
  it('the database unreachable: the first alone and the four queued behind it, two tries in all', async () => {
    const { db, statements } = failingDb('ECONNREFUSED');
    for (let i = 0; i < 5; i++) announceChange(db, 'queue_entries', { id: `e${i}` });
    await announcementsSent(db);
    expect(statements).to.have.length(2);
    expect((statements[1]?.[1] as string[]).map((p) => (JSON.parse(p) as { row: { id: string } }).row.id)).to.deep.equal([
      'e1',
      'e2',
      'e3',
      'e4',
    ]);
  });

  it('a payload refused (22023): the batch is sent again one payload at a time', async () => {
    const { db, statements } = failingDb('22023');
    for (let i = 0; i < 5; i++) announceChange(db, 'queue_entries', { id: `e${i}` });
    await announcementsSent(db);
    // The first alone, the batch of four, then each of the four.
    expect(statements).to.have.length(6);
    expect(statements.slice(2).map((b) => (JSON.parse(b[1] as string) as { row: { id: string } }).row.id)).to.deep.equal([
      'e1',
      'e2',
      'e3',
      'e4',
    ]);
  });
});
