import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { Page } from 'playwright-core';
import { Lab } from '../../tools/asterisk-lab/lab';
import { Browser, launchChromium, skipWithoutChromium } from '../helpers/chromium';
import { asteriskStoryConfig, describeOnAsterisk, DID, withLab } from './lab-suite';

/**
 * The supervisors' wallboard in a real headless Chromium while a real Asterisk holds the calls:
 * two SIPp callers wait in queue support (one on the VIP route), a third pressed 1 and is owed a
 * callback; agent 1001 is paused, 1002 logged out. The numbers on the screen must be the
 * database's. The screenshot is the README's (docs/wallboard.png).
 */
const SCREENSHOT = path.resolve(__dirname, '..', '..', 'docs', 'wallboard.png');
const PHONE_SCREENSHOT = path.resolve(__dirname, '..', '..', 'test-output', 'wallboard-phone.png');
const SUPERVISOR_TOKEN = `sup-${process.pid}-wallboard-story`;
const WAITING = ['+15557000001', '+15557000002'];
const BOOKER = '+15557000003';

async function waitUntil<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** What the database says the wall should show. */
async function fromDatabase(lab: Lab) {
  const open = await lab
    .db('queue_entries')
    .where({ queue_id: 'support' })
    .whereNull('closed_at')
    .select<{ priority: number }[]>('priority');
  const owed = await lab
    .db('callback_requests')
    .where({ queue_id: 'support' })
    .whereIn('status', ['pending', 'in_progress'])
    .select<{ priority: number }[]>('priority');
  const count = async (sql: string, bindings: string[] = []) =>
    Number((await lab.db.raw<{ rows: { n: number }[] }>(sql, bindings)).rows[0]?.n ?? 0);
  const presence = await lab
    .db('agent_presence')
    .select<{ agent_id: string; logged_in: boolean; paused: boolean }[]>('agent_id', 'logged_in', 'paused');
  const callbacksBy = async (agentId: string) =>
    count('SELECT count(*)::int AS n FROM callback_attempts WHERE agent_id = ? AND bridged_at IS NOT NULL', [agentId]);
  return {
    callersWaiting: open.length,
    callerPriorities: open.map((r) => r.priority).sort((a, b) => b - a),
    callbacksOwed: owed.length,
    callbackPriorities: owed.map((r) => r.priority).sort((a, b) => b - a),
    offersMade: await count("SELECT count(*)::int AS n FROM queue_entry_actions WHERE action = 'callback_offered'"),
    offersAccepted: await count("SELECT count(*)::int AS n FROM queue_entries WHERE close_reason = 'callback_booked'"),
    callbacksCompleted: await count("SELECT count(*)::int AS n FROM callback_requests WHERE status = 'completed'"),
    agents: Object.fromEntries(
      await Promise.all(
        ['1001', '1002'].map(async (id) => {
          const p = presence.find((r) => r.agent_id === id);
          const state = !p ? 'unknown' : !p.logged_in ? 'logged_out' : p.paused ? 'paused' : 'other';
          return [id, { state, callbacksToday: await callbacksBy(id) }] as const;
        }),
      ),
    ),
  };
}

/** What the page shows. */
async function fromScreen(page: Page) {
  const text = async (selector: string) => ((await page.textContent(selector)) ?? '').trim();
  const q = '[data-queue="support"]';
  const priorities = async (kind: string) =>
    Promise.all(
      (await page.locator(`${q} li[data-kind="${kind}"]`).all()).map(async (li) => Number(await li.getAttribute('data-priority'))),
    );
  return {
    callersWaiting: Number(await text(`${q} [data-k="callersWaiting"]`)),
    callerPriorities: (await priorities('caller')).sort((a, b) => b - a),
    callbacksOwed: Number(await text(`${q} [data-k="callbacksDueNow"]`)) + Number(await text(`${q} [data-k="callbacksScheduled"]`)),
    callbackPriorities: (await priorities('callback')).sort((a, b) => b - a),
    firstInLine: Number(await page.getAttribute(`${q} li:first-child`, 'data-priority')),
    offersMade: Number(await text('[data-day="offersMade"]')),
    offersAccepted: Number(await text('[data-day="offersAccepted"]')),
    callbacksCompleted: Number(await text('[data-day="callbacksCompleted"]')),
    agents: Object.fromEntries(
      await Promise.all(
        ['1001', '1002'].map(async (id) => {
          const row = `[data-agent="${id}"]`;
          return [
            id,
            {
              state: (await page.getAttribute(`${row} [data-k="state"]`, 'data-state')) ?? '',
              callbacksToday: Number(await text(`${row} [data-k="callbacksToday"]`)),
            },
          ] as const;
        }),
      ),
    ),
  };
}

describeOnAsterisk('real Asterisk: the supervisors’ wallboard in headless Chromium', function () {
  this.timeout(120_000);
  let browser: Browser | undefined;

  before(skipWithoutChromium);

  afterEach(async () => {
    await browser?.close();
    browser = undefined;
  });

  it('callers waiting (one VIP) and a callback owed: the screen shows the database’s numbers, live', async () => {
    await withLab(
      {
        agents: [
          { id: '1001', name: 'Ann Lee', queues: ['support'] },
          { id: '1002', name: 'Bob Diaz', queues: ['support'] },
        ],
        pluginConfig: asteriskStoryConfig({ agents: [], extra: { routes: { vip: { priority: 5 } } } }),
        http: true,
        startPlugin: false,
      },
      async (lab) => {
        // The lab's config has its admin token; the wall gets a supervisor token beside it.
        const config = JSON.parse(fs.readFileSync(lab.configFile, 'utf8')) as { api: { tokens: Record<string, string>[] } };
        config.api.tokens.push({ name: 'wall', sha256: createHash('sha256').update(SUPERVISOR_TOKEN).digest('hex'), scope: 'supervisor' });
        fs.writeFileSync(lab.configFile, JSON.stringify(config, null, 2));
        await lab.startPlugin();
        expect((await lab.api('POST', '/agents/1001/pause')).status).to.equal(200);
        expect((await lab.api('POST', '/agents/1002/logout')).status).to.equal(200);

        // Two callers stay on the line (the second through the VIP route); the third takes the offer.
        await lab.call(DID.support, { from: WAITING[0], steps: [{ wait: 100_000 }, { hangup: true }] });
        await new Promise((r) => setTimeout(r, 1500));
        await lab.call(DID.supportVip, { from: WAITING[1], steps: [{ wait: 100_000 }, { hangup: true }] });
        const booker = await lab.call(DID.support, { from: BOOKER, steps: [{ wait: 3000 }, { dtmf: '1' }, { waitForBye: 30000 }] });
        expect(await booker.finished(40000), `SIPp: ${booker.errors()}`).to.equal(0);
        const db = await waitUntil(
          'two callers waiting and one callback owed in the database',
          () => fromDatabase(lab),
          (d) => d.callersWaiting === 2 && d.callbacksOwed === 1,
        );
        expect(db.offersAccepted).to.equal(1);

        browser = await launchChromium({ width: 1600, height: 1000 });
        const { page, pageErrors } = browser;
        const base = `http://127.0.0.1:${lab.httpPort}`;
        await page.goto(`${base}/panel/wall`);
        // An administrator's token shows the board too; an unknown one is refused on the sign-in form.
        await page.fill('#signin-token', 'not-a-token');
        await page.click('#signin-button');
        await page.waitForSelector('#signin-error:not([hidden])', { timeout: 10000 });
        await page.fill('#signin-token', SUPERVISOR_TOKEN);
        await page.click('#signin-button');
        await page.waitForSelector('#board:not([hidden])', { timeout: 10000 });
        await page.waitForSelector('#stream-state.live', { timeout: 10000 });
        await page.waitForSelector('[data-queue="support"]', { timeout: 10000 });

        // The screen and the database agree at one moment (offers repeat while callers wait, so both are read again until they do).
        let last: unknown;
        await waitUntil(
          'the screen showing the database’s numbers',
          async () => {
            const [screen, d] = [await fromScreen(page), await fromDatabase(lab)];
            last = { screen, db: d };
            return { screen, d };
          },
          ({ screen, d }) => {
            const { firstInLine, ...shown } = screen;
            return JSON.stringify(shown) === JSON.stringify(d) && firstInLine === Math.max(...d.callerPriorities, ...d.callbackPriorities);
          },
          30000,
        ).catch((e: Error) => {
          e.message += `\n    last: ${JSON.stringify(last)}`;
          throw e;
        });
        const agreed = await fromScreen(page);
        expect(agreed.callersWaiting).to.equal(2);
        expect(agreed.callbacksOwed).to.equal(1);
        expect(agreed.offersAccepted).to.equal(1);
        expect(agreed.agents).to.deep.equal({
          '1001': { state: 'paused', callbacksToday: 0 },
          '1002': { state: 'logged_out', callbacksToday: 0 },
        });
        expect(await page.textContent('[data-queue="support"] [data-k="paused"]')).to.equal('1');

        fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
        await page.screenshot({ path: SCREENSHOT, fullPage: true, animations: 'disabled' });

        // Live, not reloaded: agent 1002 logs in; the board follows without a new request.
        const navigations: string[] = [];
        page.on('framenavigated', (f) => navigations.push(f.url()));
        expect((await lab.api('POST', '/agents/1002/login')).status).to.equal(200);
        // (Polled from here: waitForFunction evaluates a string in the page, which the strict policy refuses.)
        await waitUntil(
          'agent 1002 no longer shown logged out',
          () => page.getAttribute('[data-agent="1002"] [data-k="state"]', 'data-state'),
          (state) => state !== null && state !== 'logged_out',
          10000,
        );
        expect(navigations).to.deep.equal([]);

        // A phone: the same board in one column, nothing wider than the screen.
        await page.setViewportSize({ width: 390, height: 844 });
        await page.waitForTimeout(1500);
        const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
        expect(overflow, 'horizontal overflow on a 390 px screen').to.be.at.most(0);
        fs.mkdirSync(path.dirname(PHONE_SCREENSHOT), { recursive: true });
        await page.screenshot({ path: PHONE_SCREENSHOT, fullPage: true, animations: 'disabled' });
        expect(pageErrors).to.deep.equal([]);
      },
    );
  });
});
