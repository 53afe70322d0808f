import http from 'node:http';
import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { sleep } from '../helpers/plugin-harness';
import { startSurfaceRig, SurfaceRig, TOKENS } from './surface-rig';

/** Reads a server-sent events stream with an agent token and keeps every event. */
class SseReader {
  readonly events: { event: string; data: Record<string, unknown> }[] = [];
  private readonly abort = new AbortController();
  opened: Promise<void>;

  constructor(url: string, token: string) {
    this.opened = new Promise((resolve, reject) => {
      void fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: this.abort.signal })
        .then(async (res) => {
          expect(res.status).to.equal(200);
          expect(res.headers.get('content-type')).to.match(/^text\/event-stream/);
          resolve();
          if (!res.body) return;
          const decoder = new TextDecoder();
          let buffer = '';
          for await (const chunk of res.body) {
            buffer += decoder.decode(chunk as Uint8Array, { stream: true });
            let cut: number;
            while ((cut = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, cut);
              buffer = buffer.slice(cut + 2);
              const event = /^event: (.+)$/m.exec(block)?.[1];
              const data = /^data: (.+)$/m.exec(block)?.[1];
              if (event && data) this.events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
            }
          }
        })
        .catch((e: unknown) => {
          if (!this.abort.signal.aborted) reject(e instanceof Error ? e : new Error(String(e)));
        });
    });
  }

  async waitFor(event: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find((x) => x.event === event);
      if (e) return e.data;
      if (Date.now() > deadline) throw new Error(`no ${event} event; got ${JSON.stringify(this.events)}`);
      await sleep(20);
    }
  }

  close(): void {
    this.abort.abort();
  }
}

function metricValue(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('surfaces: agent preview actions, events stream, metrics', function () {
  this.timeout(30000);
  let r: SurfaceRig;
  let crm: http.Server;
  let crmHits = 0;
  let callbackId = '';
  const streams: SseReader[] = [];

  before(async () => {
    // A CRM that answers too slowly: the preview must still be shown, with the failure noted.
    crm = http.createServer((_req, res) => {
      crmHits += 1;
      setTimeout(() => res.end('{}'), 2000);
    });
    await new Promise<void>((resolve) => crm.listen(0, '127.0.0.1', () => resolve()));
    const port = (crm.address() as { port: number }).port;
    r = await startSurfaceRig({ over: { crm: { urlTemplate: `http://127.0.0.1:${port}/customers?number={number}`, timeoutMs: 200 } } });
  });
  after(async () => {
    for (const s of streams) s.close();
    await r?.stop();
    crm.closeAllConnections();
    await new Promise<void>((resolve) => crm.close(() => resolve()));
  });

  it('a caller connected to an agent: the wait estimate is measured against the actual wait', async () => {
    const d = r.sim.call({ from: '+15550000001', to: 'queue:support' });
    await d.entered();
    await r.waitForMilestone('caller_entered', (x) => x.channelId === d.id, 3000);
    r.sim.endpoint('PJSIP/1002').answersAfter(50);
    r.sim.endpoint('PJSIP/1002').setDeviceState('NOT_INUSE');
    await r.waitForMilestone('caller_connected', (x) => x.channelId === d.id, 5000);
  });

  it('a caller offered a callback presses 1: the callback is stored', async () => {
    const c = r.sim.call({ from: '+15550000002', name: 'Carla Diaz', to: 'queue:support' });
    await c.entered();
    await c.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    await c.pressDtmf('1');
    await c.waitFor('hungup', 5000);
    const [stored] = await r.store.listOpen();
    callbackId = stored?.id ?? '';
    expect(stored?.customerNumber).to.equal('+15550000002');
  });

  it('SSE: the agent is told when its preview starts; GET /me/preview has the customer record', async () => {
    const a = new SseReader(`${r.base}/api/v1/me/events`, TOKENS.a1001);
    const b = new SseReader(`${r.base}/api/v1/me/events`, TOKENS.a1002);
    streams.push(a, b);
    await Promise.all([a.opened, b.opened]);
    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const leg = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    leg.answer();
    expect(await a.waitFor('preview_started')).to.deep.equal({ callbackId, agentId: 'a1001' });
    const res = await r.api('GET', '/me/preview', { token: TOKENS.a1001 });
    expect(res.status).to.equal(200);
    const p = res.json.preview as Record<string, unknown>;
    expect(p).to.include({ callbackId, name: 'Carla Diaz', number: '+15550000002', queueId: 'support', attempts: 0, maxAttempts: 3 });
    expect(p.waitedSec).to.be.a('number');
    expect((p.history as { type: string }[]).map((h) => h.type)).to.include.members(['requested', 'offered_to_agent', 'agent_answered']);
    expect(p.crm).to.deep.equal({ ok: false, error: 'CRM did not answer within 200 ms' });
    expect(crmHits).to.equal(1);
    expect((await r.api('GET', '/me', { token: TOKENS.a1001 })).json.previewCallbackId).to.equal(callbackId);
    // Agent B sees nothing of it.
    expect((await r.api('GET', '/me/preview', { token: TOKENS.a1002 })).json).to.deep.equal({ preview: null });
    expect(b.events).to.deep.equal([]);
  });

  it("403 for agent B acting on agent A's preview; 409 with no preview of its own", async () => {
    const accept = await r.api('POST', '/me/preview/accept', { token: TOKENS.a1002, body: { callbackId } });
    expect(accept.status).to.equal(403);
    expect(accept.json).to.deep.equal({ error: 'this callback is being offered to another agent', field: 'callbackId' });
    const decline = await r.api('POST', '/me/preview/decline', { token: TOKENS.a1002, body: { callbackId } });
    expect(decline.status).to.equal(403);
    expect((await r.api('POST', '/me/preview/accept', { token: TOKENS.a1002 })).status).to.equal(409);
    expect((await r.api('POST', '/me/preview/accept?agentId=a1001', { token: TOKENS.a1002 })).status).to.equal(403);
    expect(r.plugin.app.admin.activePreviewOf('a1001')?.isPreviewing, 'still previewing').to.equal(true);
  });

  it('agent A declines from the panel API (as key 2): preview_ended, the attempt is recorded', async () => {
    const a = streams[0];
    const res = await r.api('POST', '/me/preview/decline', { token: TOKENS.a1001, body: { callbackId } });
    expect(res.status).to.equal(200);
    expect(res.json).to.deep.equal({ callbackId, action: 'decline' });
    expect(await a.waitFor('preview_ended')).to.deep.equal({ callbackId, agentId: 'a1001', reason: 'declined' });
    expect((await r.api('POST', '/me/preview/decline', { token: TOKENS.a1001 })).status).to.equal(409);
    await r.waitForMilestone('agent_declined');
    const deadline = Date.now() + 3000;
    while ((await r.store.attempts(callbackId)).every((x) => x.outcome === null) && Date.now() < deadline) await sleep(50);
    expect((await r.store.attempts(callbackId)).map((x) => x.outcome)).to.deep.equal(['agent_declined']);
  });

  it('/metrics: queue depth, callbacks by state, offers, attempts, wait estimate and its error, ARI state', async () => {
    const res = await fetch(`${r.base}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain/);
    const text = await res.text();
    expect(metricValue(text, 'direct_callback_queue_callers', '{queue="support"}')).to.equal(0);
    expect(metricValue(text, 'direct_callback_queue_callbacks', '{queue="support"}')).to.equal(1);
    expect(metricValue(text, 'direct_callback_callbacks', '{status="pending"}')).to.equal(1);
    expect(metricValue(text, 'direct_callback_callbacks', '{status="completed"}')).to.equal(0);
    expect(metricValue(text, 'direct_callback_offers_total', '{queue="support"}')).to.be.at.least(1);
    expect(metricValue(text, 'direct_callback_offers_accepted_total', '{queue="support"}')).to.equal(1);
    expect(metricValue(text, 'direct_callback_attempts', '{outcome="agent_declined"}')).to.equal(1);
    expect(metricValue(text, 'direct_callback_queue_estimated_wait_seconds', '{queue="support"}')).to.be.a('number');
    expect(metricValue(text, 'direct_callback_queue_agents', '{queue="support",state="staffed"}')).to.equal(2);
    expect(metricValue(text, 'direct_callback_wait_estimate_samples', '{queue="support"}')).to.equal(1);
    // Entered at position 1 with both agents busy: told ceil(180 / 2) = 90 s, connected in well under a second.
    expect(metricValue(text, 'direct_callback_wait_estimate_error_seconds', '{queue="support",stat="mae"}')).to.be.within(85, 90);
    expect(metricValue(text, 'direct_callback_wait_estimate_error_seconds', '{queue="support",stat="bias"}')).to.be.within(85, 90);
    expect(metricValue(text, 'direct_callback_ari_connected', '')).to.equal(1);
    expect(text).to.include('# HELP direct_callback_callbacks ');
    expect(text).to.include('# TYPE direct_callback_offers_total counter');
  });
});
