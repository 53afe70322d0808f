import { expect } from 'chai';
import { AdminOperations } from '../../src/engine/admin-port';
import { hashToken } from '../../src/http/auth';
import { sleep } from '../helpers/plugin-harness';
import { startSurfaceRig, SurfaceRig, TOKENS } from './surface-rig';

/**
 * The wallboard's HTTP surface on the real plugin (simulator + PostgreSQL): its page under the
 * panel's policy, the event stream for supervisor and admin tokens only, read-only supervisors,
 * and one producer however many screens watch.
 */
const SUPERVISOR = 'sup-7c41d2e0aa-test';
const METRICS = 'met-19bb0c22f4-test';

interface Frame {
  at: string;
  queues: {
    id: string;
    callersWaiting: number;
    callbacksDueNow: number;
    callbacksScheduled: number;
    oldestOwedSec: number | null;
    agents: Record<string, number>;
    items: { kind: string; priority: number; status: string }[];
  }[];
  agents: { id: string; state: string; callsToday: number; callbacksToday: number }[];
  day: unknown;
  dayStale: boolean;
}

/** Reads the wall's event stream and keeps each frame. */
class WallReader {
  readonly frames: Frame[] = [];
  readonly texts: string[] = [];
  private readonly abort = new AbortController();
  readonly status: Promise<number>;

  constructor(url: string, token: string) {
    this.status = new Promise((resolve, reject) => {
      void fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: this.abort.signal })
        .then(async (res) => {
          resolve(res.status);
          if (!res.ok || !res.body) return;
          const decoder = new TextDecoder();
          let buffer = '';
          for await (const chunk of res.body) {
            buffer += decoder.decode(chunk as Uint8Array, { stream: true });
            let cut: number;
            while ((cut = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, cut);
              buffer = buffer.slice(cut + 2);
              const data = /^event: wall\ndata: (.+)$/m.exec(block)?.[1];
              if (data) {
                this.texts.push(data);
                this.frames.push(JSON.parse(data) as Frame);
              }
            }
          }
        })
        .catch((e: unknown) => {
          if (!this.abort.signal.aborted) reject(e instanceof Error ? e : new Error(String(e)));
        });
    });
  }

  async frameWhere(pred: (f: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find(pred);
      if (f) return f;
      if (Date.now() > deadline) throw new Error(`no such frame; last: ${JSON.stringify(this.frames.at(-1))}`);
      await sleep(25);
    }
  }

  close(): void {
    this.abort.abort();
  }
}

describe('surfaces: the wallboard (page, event stream, supervisor token)', function () {
  this.timeout(30000);
  let r: SurfaceRig;
  const readers: WallReader[] = [];
  const open = (token: string) => {
    const w = new WallReader(`${r.base}/api/v1/wall/events`, token);
    readers.push(w);
    return w;
  };

  before(async () => {
    r = await startSurfaceRig({
      over: {
        api: {
          streamsPerToken: 3,
          tokens: [
            { name: 'ops', sha256: hashToken(TOKENS.admin), scope: 'admin' },
            { name: 'ann', sha256: hashToken(TOKENS.a1001), scope: 'agent:a1001' },
            { name: 'wall', sha256: hashToken(SUPERVISOR), scope: 'supervisor' },
            { name: 'prom', sha256: hashToken(METRICS), scope: 'metrics' },
          ],
        },
      },
    });
  });
  afterEach(() => {
    for (const w of readers.splice(0)) w.close();
  });
  after(async () => {
    await r?.stop();
  });

  it('serves /panel/wall and its script and stylesheet under the panel’s strict policy', async () => {
    for (const [file, type] of [
      ['wall', 'text/html'],
      ['wall.js', 'text/javascript'],
      ['event-stream.js', 'text/javascript'],
      ['wall.css', 'text/css'],
    ] as const) {
      const res = await fetch(`${r.base}/panel/${file}`);
      expect(res.status, file).to.equal(200);
      expect(res.headers.get('content-type')).to.include(type);
      expect(res.headers.get('content-security-policy')).to.include("default-src 'self'").and.include("script-src 'self'");
    }
    const html = await (await fetch(`${r.base}/panel/wall`)).text();
    expect(html)
      .to.include('event-stream.js')
      .and.include('wall.js')
      .and.not.match(/https?:\/\//);
    expect((await fetch(`${r.base}/panel/wall.html.bak`)).status).to.equal(404);
  });

  it('answers 401 without a token and 403 to agent and metrics tokens; a supervisor gets live frames of the queue', async () => {
    expect((await fetch(`${r.base}/api/v1/wall/events`)).status).to.equal(401);
    expect(await open(TOKENS.a1001).status).to.equal(403);
    expect(await open(METRICS).status).to.equal(403);

    // Agents on other calls (the rig's default): both callbacks stay owed, one due now, one scheduled.
    const now = await r.api('POST', '/callbacks', { body: { queueId: 'support', number: '+15559870101' } });
    const later = await r.api('POST', '/callbacks', {
      body: { queueId: 'support', number: '+15559870102', notBefore: new Date(Date.now() + 3_600_000).toISOString() },
    });
    expect([now.status, later.status]).to.deep.equal([201, 201]);

    const wall = open(SUPERVISOR);
    expect(await wall.status).to.equal(200);
    const frame = await wall.frameWhere((f) => f.queues.some((q) => q.id === 'support' && q.callbacksDueNow + q.callbacksScheduled === 2));
    const support = frame.queues.find((q) => q.id === 'support');
    expect(support).to.deep.include({ callersWaiting: 0, callbacksDueNow: 1, callbacksScheduled: 1 });
    expect(support?.oldestOwedSec).to.be.a('number');
    expect(support?.items.map((i) => [i.kind, i.priority, i.status])).to.deep.equal([
      ['callback', 0, 'due'],
      ['callback', 0, 'scheduled'],
    ]);
    expect(support?.agents).to.deep.equal({ staffed: 2, free: 0, onCall: 2, wrapUp: 0, paused: 0 });
    expect(frame.agents.map((a) => [a.id, a.state])).to.deep.equal([
      ['a1001', 'on_call'],
      ['a1002', 'on_call'],
    ]);
    // No customer's number reaches a wall screen.
    expect(wall.texts.join('')).not.to.include('5559870101');

    // Live: an agent freed by the admin's pause shows on the next frames, without a new request.
    expect((await r.api('POST', '/agents/a1002/pause')).status).to.equal(200);
    await wall.frameWhere((f) => f.agents.some((a) => a.id === 'a1002' && a.state === 'paused'));
    expect((await r.api('POST', '/agents/a1002/unpause')).status).to.equal(200);

    // The same frame as JSON.
    const one = await r.api('GET', '/wall', { token: SUPERVISOR });
    expect(one.status).to.equal(200);
    expect((one.json.queues as Frame['queues']).find((q) => q.id === 'support')?.callbacksScheduled).to.equal(1);
    expect((await r.api('GET', '/wall', { token: TOKENS.a1001 })).status).to.equal(403);
  });

  it('a supervisor token is read-only: it cannot change agents or callbacks', async () => {
    expect((await r.api('POST', '/agents/a1001/pause', { token: SUPERVISOR })).status).to.equal(403);
    expect(
      (await r.api('POST', '/callbacks', { token: SUPERVISOR, body: { queueId: 'support', number: '+15559870199' } })).status,
    ).to.equal(403);
    expect((await r.api('GET', '/me', { token: SUPERVISOR })).status).to.equal(403);
  });

  it('three viewers share one producer: one snapshot a second and one day-report read, not one per viewer', async () => {
    const admin = r.plugin.app.admin as AdminOperations;
    const counts = { snapshots: 0, dayReports: 0 };
    const snapshot = admin.wallSnapshot.bind(admin);
    const dayReport = admin.dayReport.bind(admin);
    admin.wallSnapshot = () => {
      counts.snapshots += 1;
      return snapshot();
    };
    admin.dayReport = (q) => {
      counts.dayReports += 1;
      return dayReport(q);
    };
    try {
      // The previous test's viewers closed and the producer stopped; its day report (read at most every
      // 5 s, whoever asks) is let go stale so that these viewers' first frame reads it once.
      await sleep(5200);
      const viewers = [open(SUPERVISOR), open(SUPERVISOR), open(TOKENS.admin)];
      expect(await Promise.all(viewers.map((v) => v.status))).to.deep.equal([200, 200, 200]);
      const started = Date.now();
      await sleep(3200);
      const seconds = (Date.now() - started) / 1000;
      // One a second (+1 at the start, +1 when the day's figures arrive); three per second if each viewer had its own.
      expect(counts.snapshots).to.be.within(2, Math.ceil(seconds) + 3);
      expect(counts.dayReports, 'day-report reads (refreshed at most every 5 s)').to.equal(1);
      // Each viewer got the same frames.
      const tail = (v: WallReader) => v.texts.slice(-2);
      expect(tail(viewers[1])).to.deep.equal(tail(viewers[0]));
      expect(tail(viewers[2])).to.deep.equal(tail(viewers[0]));
      // api.streamsPerToken (3 here) bounds one token's screens.
      const fourth = [open(SUPERVISOR), open(SUPERVISOR)];
      expect((await Promise.all(fourth.map((v) => v.status))).sort()).to.deep.equal([200, 429]);
    } finally {
      admin.wallSnapshot = snapshot;
      admin.dayReport = dayReport;
    }
  });
});
