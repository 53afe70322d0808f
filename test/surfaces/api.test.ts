import { expect } from 'chai';
import { startSurfaceRig, SurfaceRig, TOKENS } from './surface-rig';

/** The REST API against a real plugin (simulator + PostgreSQL): auth, validation, callbacks, agents, OpenAPI. */
describe('surfaces: REST API', function () {
  this.timeout(30000);
  let r: SurfaceRig;

  before(async () => {
    r = await startSurfaceRig();
  });
  after(async () => {
    await r?.stop();
  });

  describe('auth', () => {
    it('401 without a token, with WWW-Authenticate: Bearer', async () => {
      const res = await r.api('GET', '/queues', { token: null });
      expect(res.status).to.equal(401);
      expect(res.headers.get('www-authenticate')).to.match(/^Bearer/);
      expect(res.json.error).to.match(/missing token/);
    });

    it('401 with an unknown token or a malformed header; the token is never logged', async () => {
      const bad = await r.api('GET', '/queues', { token: 'not-a-configured-token' });
      expect(bad.status).to.equal(401);
      expect(bad.headers.get('www-authenticate')).to.match(/^Bearer/);
      const basic = await fetch(`${r.base}/api/v1/queues`, { headers: { authorization: `Basic ${TOKENS.admin}` } });
      expect(basic.status).to.equal(401);
      const all = r.logLines.join('');
      for (const t of [...Object.values(TOKENS), 'not-a-configured-token']) expect(all).not.to.include(t);
    });

    it('403 for an agent token on admin routes; the agent reaches /me', async () => {
      for (const path of ['/queues', '/callbacks', '/agents']) {
        const res = await r.api('GET', path, { token: TOKENS.a1001 });
        expect(res.status, path).to.equal(403);
        expect(res.json.error).to.match(/admin/);
      }
      const login = await r.api('POST', '/agents/a1001/login', { token: TOKENS.a1001 });
      expect(login.status).to.equal(403);
      const me = await r.api('GET', '/me', { token: TOKENS.a1001 });
      expect(me.status).to.equal(200);
      expect(me.json).to.include({ id: 'a1001', name: 'Ann' });
      const other = await r.api('GET', '/me?agentId=a1002', { token: TOKENS.a1001 });
      expect(other.status, 'agent A asking as agent B').to.equal(403);
      expect(other.json.field).to.equal('agentId');
    });

    it('an admin token acts on /me only naming the agent', async () => {
      expect((await r.api('GET', '/me')).json).to.deep.equal({
        error: 'agentId: an admin token must name the agent (?agentId=)',
        field: 'agentId',
      });
      expect((await r.api('GET', '/me?agentId=a1002')).json).to.include({ id: 'a1002' });
    });
  });

  describe('validation: 400 naming the field', () => {
    const cases: [string, 'GET' | 'POST', string, unknown, string][] = [
      ['a bad number', 'POST', '/callbacks', { queueId: 'support', number: '555-CALL-ME' }, 'number'],
      ['a missing number', 'POST', '/callbacks', { queueId: 'support' }, 'number'],
      ['an unknown queue', 'POST', '/callbacks', { queueId: 'sales', number: '+15551230000' }, 'queueId'],
      ['a bad date', 'POST', '/callbacks', { queueId: 'support', number: '+15551230000', notBefore: 'tomorrow at 3' }, 'notBefore'],
      [
        'an impossible date',
        'POST',
        '/callbacks',
        { queueId: 'support', number: '+15551230000', notBefore: '2030-02-31T25:00:00Z' },
        'notBefore',
      ],
      ['an unknown field', 'POST', '/callbacks', { queueId: 'support', number: '+15551230000', colour: 'red' }, 'colour'],
      ['an unknown owner agent', 'POST', '/callbacks', { queueId: 'support', number: '+15551230000', ownerAgentId: 'zed' }, 'ownerAgentId'],
      ['a premium-rate number (toll-fraud guard)', 'POST', '/callbacks', { queueId: 'support', number: '+19005550123' }, 'number'],
      ['a bad status filter', 'GET', '/callbacks?status=lost', undefined, 'status'],
      ['a bad limit', 'GET', '/callbacks?limit=0', undefined, 'limit'],
      ['a callback id that is no UUID', 'GET', '/callbacks/42', undefined, 'id'],
      ['a reschedule without a date', 'POST', '/callbacks/00000000-0000-4000-8000-000000000000/reschedule', {}, 'notBefore'],
      ['an empty presence change', 'POST', '/me/presence?agentId=a1001', {}, ''],
    ];
    for (const [what, method, path, body, field] of cases) {
      it(what, async () => {
        const res = await r.api(method, path, { body });
        expect(res.status, JSON.stringify(res.json)).to.equal(400);
        expect(res.json.error).to.be.a('string');
        if (field) {
          expect(res.json.field).to.equal(field);
          expect(res.json.error).to.include(field);
        }
      });
    }

    it('a body that is not JSON', async () => {
      const res = await fetch(`${r.base}/api/v1/callbacks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json' },
        body: '{"queueId":',
      });
      expect(res.status).to.equal(400);
      expect(((await res.json()) as { error: string }).error).to.match(/JSON/);
    });
  });

  describe('callbacks', () => {
    let id = '';

    it('creates a proactive callback; a second request for the number keeps the first', async () => {
      const res = await r.api('POST', '/callbacks', { body: { queueId: 'support', number: '+15557770001', name: 'Eve Park' } });
      expect(res.status).to.equal(201);
      const cb = res.json.callback as Record<string, unknown>;
      expect(cb).to.include({ queueId: 'support', number: '+15557770001', name: 'Eve Park', status: 'pending', attempts: 0 });
      id = String(cb.id);
      const again = await r.api('POST', '/callbacks', { body: { queueId: 'support', number: '+15557770001' } });
      expect(again.status).to.equal(200);
      expect(again.json.duplicate).to.equal(true);
      expect((again.json.callback as Record<string, unknown>).id).to.equal(id);
      const q = await r.api('GET', '/queues/support');
      expect((q.json.live as Record<string, unknown>).pendingCallbacks).to.equal(1);
    });

    it('schedules one for a time', async () => {
      const at = new Date(Date.now() + 3600_000).toISOString();
      const res = await r.api('POST', '/callbacks', { body: { queueId: 'support', number: '+15557770002', notBefore: at } });
      expect(res.status).to.equal(201);
      expect((res.json.callback as Record<string, unknown>).notBefore).to.equal(at);
    });

    it('lists and filters', async () => {
      const all = (await r.api('GET', '/callbacks')).json.callbacks as Record<string, unknown>[];
      expect(all.map((c) => c.number)).to.have.members(['+15557770001', '+15557770002']);
      const one = (await r.api('GET', '/callbacks?status=pending&queue=support&limit=1')).json.callbacks as Record<string, unknown>[];
      expect(one).to.have.length(1);
      expect((await r.api('GET', '/callbacks?status=completed')).json.callbacks).to.deep.equal([]);
      expect((await r.api('GET', '/callbacks?queue=other')).json.callbacks).to.deep.equal([]);
    });

    it('reschedules, then shows the history', async () => {
      const at = new Date(Date.now() + 7200_000).toISOString();
      const res = await r.api('POST', `/callbacks/${id}/reschedule`, { body: { notBefore: at } });
      expect(res.status).to.equal(200);
      expect((res.json.callback as Record<string, unknown>).notBefore).to.equal(at);
      const detail = await r.api('GET', `/callbacks/${id}`);
      expect(detail.status).to.equal(200);
      expect((detail.json.history as { type: string }[]).map((h) => h.type)).to.deep.equal(['requested', 'rescheduled']);
      expect(detail.json.attemptList).to.deep.equal([]);
    });

    it('cancels; a second cancel or a reschedule is refused (409); unknown ids are 404', async () => {
      const res = await r.api('POST', `/callbacks/${id}/cancel`, { body: { reason: 'customer called in' } });
      expect(res.status).to.equal(200);
      expect(res.json.callback).to.include({ status: 'cancelled', outcomeReason: 'customer called in' });
      expect((await r.api('POST', `/callbacks/${id}/cancel`)).status).to.equal(409);
      expect((await r.api('POST', `/callbacks/${id}/reschedule`, { body: { notBefore: new Date().toISOString() } })).status).to.equal(409);
      const missing = '00000000-0000-4000-8000-000000000000';
      expect((await r.api('GET', `/callbacks/${missing}`)).status).to.equal(404);
      expect((await r.api('POST', `/callbacks/${missing}/cancel`)).status).to.equal(404);
      expect((await r.api('GET', '/queues/support')).json.live).to.include({ pendingCallbacks: 1 });
      expect((await r.store.get(id))?.status).to.equal('cancelled');
    });
  });

  describe('queues and agents', () => {
    it('GET /queues: configuration and live figures', async () => {
      const res = await r.api('GET', '/queues');
      const [q] = res.json.queues as Record<string, unknown>[];
      expect(q).to.include({ id: 'support', maxAttempts: 3 });
      expect(q?.overflow).to.deep.equal({ maxWaiting: 1, maxEstimatedWaitSec: null });
      expect(q?.live).to.have.keys(['waiting', 'callers', 'pendingCallbacks', 'estimatedWaitSec', 'agentsStaffed', 'agentsAvailable']);
      expect((await r.api('GET', '/queues/nope')).status).to.equal(404);
    });

    it('logs agents in and out, pauses them; the agent sets its own presence', async () => {
      const agents = (await r.api('GET', '/agents')).json.agents as Record<string, unknown>[];
      expect(agents.map((a) => a.id)).to.deep.equal(['a1001', 'a1002']);
      expect((await r.api('POST', '/agents/a1002/pause')).json).to.include({ paused: true, loggedIn: true });
      expect(r.plugin.app.agents.get('a1002')?.paused).to.equal(true);
      expect((await r.api('POST', '/agents/a1002/unpause')).json).to.include({ paused: false });
      expect((await r.api('POST', '/agents/a1002/logout')).json).to.include({ loggedIn: false });
      expect((await r.api('GET', '/queues/support')).json.live).to.include({ agentsStaffed: 1 });
      expect((await r.api('POST', '/agents/a1002/login')).json).to.include({ loggedIn: true });
      expect((await r.api('POST', '/agents/zed/login')).status).to.equal(404);
      const self = await r.api('POST', '/me/presence', { token: TOKENS.a1001, body: { paused: true } });
      expect(self.json).to.include({ id: 'a1001', paused: true });
      expect((await r.api('POST', '/me/presence', { token: TOKENS.a1001, body: { loggedIn: false, paused: false } })).json).to.include({
        loggedIn: false,
        paused: false,
      });
      await r.api('POST', '/me/presence', { token: TOKENS.a1001, body: { loggedIn: true } });
    });
  });

  describe('OpenAPI document', () => {
    it('is served without a token and lists every route', async () => {
      const res = await fetch(`${r.base}/api/v1/openapi.json`);
      expect(res.status).to.equal(200);
      const doc = (await res.json()) as {
        openapi: string;
        paths: Record<string, Record<string, unknown>>;
        components: { securitySchemes: Record<string, unknown> };
      };
      expect(doc.openapi).to.match(/^3\./);
      const ops = Object.entries(doc.paths).flatMap(([p, m]) => Object.keys(m).map((k) => `${k.toUpperCase()} ${p}`));
      expect(ops).to.include.members([
        'GET /queues',
        'GET /queues/{id}',
        'GET /callbacks',
        'GET /callbacks/{id}',
        'POST /callbacks',
        'POST /callbacks/{id}/cancel',
        'POST /callbacks/{id}/reschedule',
        'GET /agents',
        'POST /agents/{id}/login',
        'POST /agents/{id}/logout',
        'POST /agents/{id}/pause',
        'POST /agents/{id}/unpause',
        'GET /me',
        'GET /me/preview',
        'POST /me/preview/accept',
        'POST /me/preview/decline',
        'POST /me/presence',
        'GET /me/events',
      ]);
      expect(doc.components.securitySchemes).to.have.property('bearer');
      const create = doc.paths['/callbacks']?.post as { requestBody: { content: Record<string, { schema: { required: string[] } }> } };
      expect(create.requestBody.content['application/json']?.schema.required).to.deep.equal(['queueId', 'number']);
    });

    it('serves the panel with a strict content security policy; unknown files are 404', async () => {
      const res = await fetch(`${r.base}/panel/`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-security-policy')).to.include("script-src 'self'");
      expect(await res.text()).to.include('panel.js');
      expect((await fetch(`${r.base}/panel/../package.json`)).status).to.equal(404);
      expect((await fetch(`${r.base}/panel/secret.txt`)).status).to.equal(404);
    });
  });
});
