import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { hashToken } from '../../src/http/auth';
import { startSurfaceRig, SurfaceRig, TOKENS } from './surface-rig';

/**
 * GET /api/v1/reports/day over a real plugin: JSON and CSV, the configured defaults, and who may
 * read it: admin and supervisor tokens; a supervisor token changes nothing.
 */
const SUPERVISOR = 'sup-7c41aa20e9-test';
const METRICS = 'met-0b9d5512f3-test';

describe('surfaces: day report API and the supervisor scope', function () {
  this.timeout(30000);
  let r: SurfaceRig;

  before(async () => {
    r = await startSurfaceRig({
      over: {
        api: {
          tokens: [
            { name: 'ops', sha256: hashToken(TOKENS.admin), scope: 'admin' },
            { name: 'ann', sha256: hashToken(TOKENS.a1001), scope: 'agent:a1001' },
            { name: 'wall', sha256: hashToken(SUPERVISOR), scope: 'supervisor' },
            { name: 'prom', sha256: hashToken(METRICS), scope: 'metrics' },
          ],
        },
        reports: { serviceLevelSec: 20, timeZone: 'Europe/Paris' },
      },
    });
    // 2026-03-10 in Paris: one caller answered in 30 s (late for a 20 s service level), one in
    // 10 s, one callback completed. Another day's caller does not count.
    const entry = (arrived: string, closed: string) => ({
      id: randomUUID(),
      queue_id: 'support',
      first_queue_id: 'support',
      first_arrived_at: arrived,
      priority: 0,
      arrived_at: arrived,
      asterisk_id: 'ast',
      channel_id: `ch-${randomUUID()}`,
      app: 'x',
      instance_id: 'i',
      closed_at: closed,
      close_reason: 'connected',
    });
    await r.database
      .db('queue_entries')
      .insert([
        entry('2026-03-10T08:00:00Z', '2026-03-10T08:00:30Z'),
        entry('2026-03-10T09:00:00Z', '2026-03-10T09:00:10Z'),
        entry('2026-03-11T09:00:00Z', '2026-03-11T09:00:10Z'),
      ]);
    const id = randomUUID();
    await r.database.db('callback_requests').insert({
      id,
      queue_id: 'support',
      customer_number: '+15557654321',
      arrived_at: '2026-03-10T10:00:00Z',
      requested_at: '2026-03-10T10:00:00Z',
      status: 'completed',
    });
    await r.database.db('callback_events').insert({ callback_id: id, type: 'completed', at: '2026-03-10T10:20:00Z' });
  });
  after(async () => {
    await r?.stop();
  });

  const get = (path: string, token: string | null, accept?: string) =>
    fetch(`${r.base}/api/v1${path}`, {
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(accept ? { accept } : {}) },
    });

  it('JSON for admin and supervisor tokens, with the configured time zone and service level', async () => {
    for (const token of [TOKENS.admin, SUPERVISOR]) {
      const res = await get('/reports/day?date=2026-03-10&queue=support', token);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^application\/json/);
      const body = (await res.json()) as {
        timeZone: string;
        from: string;
        queueId: string;
        total: { callersEntered: number; callsAnswered: number; callbacksRequested: number; callbacksCompleted: number };
        queues: { queueId: string; serviceLevel: { withinSec: number; eligible: number; met: number } }[];
        hours: unknown[];
      };
      expect(body).to.include({ timeZone: 'Europe/Paris', from: '2026-03-09T23:00:00.000Z', queueId: 'support' });
      expect(body.total).to.include({ callersEntered: 2, callsAnswered: 2, callbacksRequested: 1, callbacksCompleted: 1 });
      expect(body.queues[0]?.serviceLevel).to.deep.equal({ withinSec: 20, eligible: 2, met: 1, share: 0.5 });
      expect(body.hours).to.have.length(24);
    }
  });

  it('a request names its own time zone and service level', async () => {
    const res = await get('/reports/day?date=2026-03-10&timeZone=UTC&serviceLevelSec=60', SUPERVISOR);
    const body = (await res.json()) as { from: string; total: { serviceLevel: { met: number } } };
    expect(body.from).to.equal('2026-03-10T00:00:00.000Z');
    expect(body.total.serviceLevel.met).to.equal(2);
  });

  it('CSV with Accept: text/csv, one figure a line', async () => {
    const res = await get('/reports/day?date=2026-03-10&queue=support', SUPERVISOR, 'text/csv');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/csv/);
    const lines = (await res.text()).split('\r\n');
    expect(lines[0]).to.equal('section,queue,hour_start,hour,agent,metric,value');
    expect(lines).to.include.members([
      'day,total,,,,callers_entered,2',
      'day,support,,,,calls_answered,2',
      'day,support,,,,service_level_share,0.5',
      'day,support,,,,callbacks_completed,1',
      'hour,support,2026-03-10T07:00:00.000Z,08:00,,callers_waiting_at_end,0',
    ]);
    // JSON stays the answer when JSON comes first.
    const json = await get('/reports/day?date=2026-03-10', SUPERVISOR, 'application/json, text/csv');
    expect(json.headers.get('content-type')).to.match(/^application\/json/);
  });

  it('400 naming the field for an impossible date, an unknown time zone or an unknown parameter', async () => {
    const cases: [string, string][] = [
      ['/reports/day?date=2026-02-30', 'date'],
      ['/reports/day?date=10-03-2026', 'date'],
      ['/reports/day?date=2026-03-10&timeZone=Mars/Olympus', 'timeZone'],
      ['/reports/day?date=2026-03-10&colour=red', 'colour'],
    ];
    for (const [path, field] of cases) {
      const res = await get(path, SUPERVISOR);
      expect(res.status, path).to.equal(400);
      expect(((await res.json()) as { field?: string }).field, path).to.equal(field);
    }
  });

  it('without a date: today in the configured time zone', async () => {
    const res = await get('/reports/day', SUPERVISOR);
    const body = (await res.json()) as { date: string; timeZone: string };
    expect(body.timeZone).to.equal('Europe/Paris');
    expect(body.date).to.match(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('401 without a token; 403 for agent and metrics tokens', async () => {
    expect((await get('/reports/day?date=2026-03-10', null)).status).to.equal(401);
    expect((await get('/reports/day?date=2026-03-10', TOKENS.a1001)).status).to.equal(403);
    expect((await get('/reports/day?date=2026-03-10', METRICS)).status).to.equal(403);
  });

  it('a supervisor token is read-only: 403 on every route that changes agents or callbacks, and on admin reads', async () => {
    const cases: ['GET' | 'POST', string, unknown][] = [
      ['POST', '/callbacks', { queueId: 'support', number: '+15551230000' }],
      ['POST', `/callbacks/${randomUUID()}/cancel`, {}],
      ['POST', `/callbacks/${randomUUID()}/reschedule`, { notBefore: '2030-01-01T00:00:00Z' }],
      ['POST', '/agents/a1001/login', {}],
      ['POST', '/agents/a1001/pause', {}],
      ['POST', '/me/presence?agentId=a1001', { paused: true }],
      ['POST', '/me/preview/accept?agentId=a1001', {}],
      ['GET', '/me?agentId=a1001', undefined],
      ['GET', '/callbacks', undefined],
    ];
    for (const [method, path, body] of cases) {
      const res = await r.api(method, path, { token: SUPERVISOR, body });
      expect(res.status, `${method} ${path}`).to.equal(403);
    }
    // Nothing changed: the agent is as it was, no callback was stored.
    const agents = await r.api('GET', '/agents');
    const ann = (agents.json.agents as { id: string; paused: boolean }[]).find((a) => a.id === 'a1001');
    expect(ann?.paused).to.equal(false);
    expect(await r.database.db('callback_requests').where({ customer_number: '+15551230000' }).first()).to.equal(undefined);
  });

  it('the OpenAPI document describes the route, its CSV answer and its access', async () => {
    const doc = (await (await fetch(`${r.base}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, { get?: { 'x-access': string; responses: Record<string, { content: Record<string, unknown> }> } }>;
    };
    const op = doc.paths['/reports/day']?.get;
    expect(op?.['x-access']).to.equal('supervisor or admin token');
    expect(Object.keys(op?.responses['200']?.content ?? {})).to.deep.equal(['application/json', 'text/csv']);
  });
});
