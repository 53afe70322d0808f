import { expect } from 'chai';
import { startSurfaceRig, SurfaceRig } from './surface-rig';

/**
 * Priority over the API: a callback may state its priority (checked: a whole number in range,
 * else 400 naming `priority`), and GET /queues/{id}/waiting shows what waits, in service order,
 * each item with its priority.
 */
describe('surfaces: priority in the API', function () {
  this.timeout(30000);
  let r: SurfaceRig;
  before(async () => {
    r = await startSurfaceRig({ over: { routes: { vip: { priority: 10 } } } });
  });
  after(async () => {
    await r.stop();
  });

  for (const bad of [1.5, 1001, -1001, 'high']) {
    it(`refuses priority ${JSON.stringify(bad)} with 400 naming the field`, async () => {
      const res = await r.api('POST', '/callbacks', { body: { queueId: 'support', number: '+15558880001', priority: bad } });
      expect(res.status, JSON.stringify(res.json)).to.equal(400);
      expect(res.json.field).to.equal('priority');
      expect(await r.store.listOpen()).to.have.length(0);
    });
  }

  it('a stated priority places the callback; the queue’s applies without one; the waiting list shows both', async () => {
    const plain = await r.api('POST', '/callbacks', { body: { queueId: 'support', number: '+15558880002' } });
    const urgent = await r.api('POST', '/callbacks', { body: { queueId: 'support', number: '+15558880003', priority: 7 } });
    expect([plain.status, urgent.status]).to.deep.equal([201, 201]);
    const [p, u] = [plain.json.callback, urgent.json.callback] as { id: string; priority: number }[];
    expect([p?.priority, u?.priority]).to.deep.equal([0, 7]);
    const waiting = await r.api('GET', '/queues/support/waiting');
    expect(waiting.status).to.equal(200);
    const items = waiting.json.items as { position: number; id: string; kind: string; priority: number; arrivedAt: string }[];
    expect(items.map((i) => [i.position, i.id, i.kind, i.priority])).to.deep.equal([
      [1, u?.id, 'callback', 7],
      [2, p?.id, 'callback', 0],
    ]);
    expect(Number.isNaN(Date.parse(items[0]?.arrivedAt ?? '')), 'arrivedAt is ISO 8601').to.equal(false);
  });

  it('404 for an unknown queue; an agent token is refused', async () => {
    expect((await r.api('GET', '/queues/nope/waiting')).status).to.equal(404);
    expect((await r.api('GET', '/queues/support/waiting', { token: 'agt-ann-5d2e77-test' })).status).to.equal(403);
  });
});
