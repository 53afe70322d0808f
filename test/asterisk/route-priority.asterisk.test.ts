import { expect } from 'chai';
import { Lab } from '../../tools/asterisk-lab/lab';
import { asteriskStoryConfig, describeOnAsterisk, DID, withLab } from './lab-suite';

/**
 * Priority per route on a real Asterisk: the sample dialplan's VIP number passes `route=vip` in
 * the Stasis arguments, the plugin's `routes.vip.priority` places that caller, and one agent's
 * desk phone (SIPp) is then given the queue's items in priority, then original arrival.
 */
interface EntryRow {
  channel_id: string;
  caller_number: string;
  priority: number;
  route_id: string | null;
  close_reason: string | null;
  closed_at: Date | null;
}

async function until<T>(what: string, timeoutMs: number, read: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const openEntryOf = (lab: Lab, number: string) =>
  until(
    `the queued place of ${number}`,
    20000,
    async () => (await lab.db('queue_entries').where({ caller_number: number }).whereNull('closed_at').first()) as EntryRow | undefined,
  );

const connectedEntryOf = (lab: Lab, number: string, timeoutMs: number) =>
  until(
    `${number} connected to the agent`,
    timeoutMs,
    async () => (await lab.db('queue_entries').where({ caller_number: number, close_reason: 'connected' }).first()) as EntryRow | undefined,
  );

describeOnAsterisk('real Asterisk: priority per route', function () {
  this.timeout(180_000);

  it('a route=vip caller arriving last is served first; a callback booked by an earlier normal caller before later normal callers', async () => {
    const normalA = '+15559100001';
    const normalB = '+15559100002';
    const vip = '+15559100003';
    await withLab(
      {
        // Logged out while the queue fills, so that nobody is served before all three are in line.
        agents: [{ id: '1001', loggedIn: false }],
        pluginConfig: asteriskStoryConfig({ agents: [], extra: { routes: { vip: { priority: 10 } } } }),
        http: true,
      },
      async (lab) => {
        // The agent answers each call, presses 1 (a callback's preview: accept; a live call: nothing)
        // and stays until the other side leaves; the customer behind the trunk confirms and talks.
        await lab
          .phone('1001')
          .use({ answer: { answerAfterMs: 600 }, steps: [{ wait: 2500 }, { dtmf: '1' }, { wait: 5000 }, { hangup: true }] });
        await lab.customers.use({
          answer: { answerAfterMs: 800 },
          steps: [{ wait: 2000 }, { dtmf: '1' }, { wait: 2000 }, { hangup: true }],
        });
        // A (normal) books a callback and is hung up; B (normal) waits; the VIP arrives last.
        const a = await lab.call(DID.support, { from: normalA, steps: [{ wait: 3000 }, { dtmf: '1' }, { waitForBye: 30000 }] });
        const callbackId = await until('A’s callback stored', 20000, async () => {
          const row = (await lab.db('callback_requests').where({ customer_number: normalA }).first()) as { id: string } | undefined;
          return row?.id;
        });
        expect(await a.finished(30000), a.errors()).to.equal(0);
        const b = await lab.call(DID.support, { from: normalB, steps: [{ waitForBye: 120000 }] });
        await openEntryOf(lab, normalB);
        const c = await lab.call(DID.supportVip, { from: vip, steps: [{ waitForBye: 120000 }] });
        const vipEntry = await openEntryOf(lab, vip);
        expect([vipEntry.priority, vipEntry.route_id]).to.deep.equal([10, 'vip']);

        // The order as the API and the shared state show it: priority, then original arrival.
        const waiting = await lab.api<{ items: { kind: string; id: string; priority: number }[] }>('GET', '/queues/support/waiting');
        expect(waiting.status).to.equal(200);
        expect(waiting.body.items.map((i) => [i.kind, i.priority])).to.deep.equal([
          ['caller', 10],
          ['callback', 0],
          ['caller', 0],
        ]);
        expect(waiting.body.items[0]?.id).to.equal(vipEntry.channel_id);
        expect(waiting.body.items[1]?.id).to.equal(callbackId);
        const shared = (await lab.db('queue_order').where({ queue_id: 'support' }).orderBy('position')) as { id: string; kind: string }[];
        expect(shared.map((r) => r.kind)).to.deep.equal(['caller', 'callback', 'caller']);
        expect(shared[1]?.id).to.equal(callbackId);

        expect((await lab.api('POST', '/agents/1001/login')).status).to.equal(200);
        // 1st: the VIP, who arrived last.
        const vipServed = await connectedEntryOf(lab, vip, 30000);
        // 2nd: A's callback, dialled and talked through, while B (live, waiting) is not yet served.
        const bridged = await until('A’s callback bridged', 60000, async () => {
          const row = (await lab.db('callback_events').where({ callback_id: callbackId, type: 'bridged' }).first()) as
            { at: Date } | undefined;
          return row;
        });
        expect((await lab.db('queue_entries').where({ caller_number: normalB, close_reason: 'connected' })).length).to.equal(0);
        // 3rd: B, the later normal caller.
        const bServed = await connectedEntryOf(lab, normalB, 60000);
        expect(new Date(vipServed.closed_at as Date).getTime()).to.be.below(new Date(bridged.at).getTime());
        expect(new Date(bridged.at).getTime()).to.be.below(new Date(bServed.closed_at as Date).getTime());
        expect(await c.finished(30000), c.errors()).to.equal(0);
        expect(await b.finished(30000), b.errors()).to.equal(0);
        // The callback kept its caller's priority (nothing added for being a callback) and was completed.
        const cb = await until('A’s callback completed', 30000, async () => {
          const row = (await lab.db('callback_requests').where({ id: callbackId }).first()) as { priority: number; status: string };
          return row.status === 'completed' ? row : undefined;
        });
        expect(cb.priority).to.equal(0);
      },
    );
  });
});
