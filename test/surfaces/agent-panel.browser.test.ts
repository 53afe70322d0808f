import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { startSurfaceRig, SurfaceRig, TOKENS } from './surface-rig';
import { testConfigInput } from '../helpers/plugin-harness';
import { Browser, launchChromium, skipWithoutChromium } from '../helpers/chromium';

/**
 * The agent panel in a real headless Chromium: sign in with the agent's token, the phone rings and
 * is answered, the panel shows the customer, Accept dials the customer (as key 1 would).
 */
const SCREENSHOT = path.resolve(__dirname, '..', '..', 'test-output', 'agent-panel.png');

describe('surfaces: agent panel in headless Chromium', function () {
  this.timeout(30000);
  let rig: SurfaceRig | undefined;
  let browser: Browser | undefined;
  let crm: http.Server | undefined;

  before(skipWithoutChromium);

  afterEach(async () => {
    await browser?.close();
    browser = undefined;
    await rig?.stop();
    rig = undefined;
    await new Promise<void>((r) => (crm ? crm.close(() => r()) : r()));
    crm = undefined;
  });

  it('shows the preview card with the customer record; Accept dials the customer', async () => {
    crm = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          account: 'ACME-4411',
          plan: 'Business Gold',
          openTickets: 2,
          lookup: decodeURIComponent((req.url ?? '').split('=')[1] ?? ''),
        }),
      );
    });
    await new Promise<void>((r) => crm?.listen(0, '127.0.0.1', () => r()));
    const crmPort = (crm.address() as AddressInfo).port;
    const base = testConfigInput();
    rig = await startSurfaceRig({
      over: {
        callback: { ...(base.callback as Record<string, unknown>), previewDecisionSec: 20 },
        crm: { urlTemplate: `http://127.0.0.1:${crmPort}/lookup?phone={number}`, timeoutMs: 1000 },
      },
    });
    const r = rig;
    const created = await r.api('POST', '/callbacks', { body: { queueId: 'support', number: '+15559870001', name: 'Dana Whitfield' } });
    expect(created.status).to.equal(201);
    const callbackId = (created.json.callback as { id: string }).id;
    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint('PJSIP/15559870001@trunk').manual();

    browser = await launchChromium({ width: 900, height: 760 });
    const { page, pageErrors } = browser;
    await page.goto(`${r.base}/panel/`);
    await page.fill('#signin-token', 'not-a-token');
    await page.click('#signin-button');
    await page.waitForSelector('#signin-error:not([hidden])', { timeout: 5000 });
    await page.fill('#signin-token', TOKENS.a1001);
    await page.click('#signin-button');
    await page.waitForSelector('#desk:not([hidden])', { timeout: 5000 });
    expect(await page.textContent('#agent-name')).to.equal('Ann');
    expect(await page.evaluate("sessionStorage.getItem('direct-callback.token')")).to.equal(TOKENS.a1001);
    await page.waitForSelector('#stream-state.live', { timeout: 5000 });

    // The agent's phone frees up: the plugin rings it (preview call), the agent answers.
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const agentLeg = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    agentLeg.answer();
    await page.waitForSelector('#preview-card:not([hidden])', { timeout: 5000 });
    expect(await page.textContent('#pv-name')).to.equal('Dana Whitfield');
    expect(await page.textContent('#pv-number')).to.equal('+15559870001');
    expect(await page.textContent('#pv-queue')).to.equal('support');
    await page.waitForSelector('#pv-crm:not([hidden])');
    expect(await page.textContent('#pv-crm')).to.include('ACME-4411');
    expect(await page.textContent('#presence-state')).to.match(/On a callback|Busy/);
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true, animations: 'disabled' });

    expect(
      r.sim.requests.some((q) => q.path === '/ari/channels/create'),
      'no customer leg before Accept',
    ).to.equal(false);
    await page.click('#accept');
    const customer = await r.sim.endpoint('PJSIP/15559870001@trunk').nextLeg(5000);
    expect(customer.displayedCaller).to.deep.include({ number: '5550100' });
    await page.waitForSelector('#preview-card', { state: 'hidden', timeout: 5000 });
    await page.waitForFunction("document.getElementById('idle-text').textContent.includes('Calling Dana Whitfield')", undefined, {
      timeout: 5000,
    });
    await r.waitForMilestone('customer_leg_dialled', (d) => d.callbackId === callbackId, 5000);
    const history = (await r.store.history(callbackId)).map((h) => h.type);
    expect(history).to.include.members(['agent_answered', 'agent_accepted', 'customer_dialled']);
    expect(pageErrors).to.deep.equal([]);
    expect(r.logLines.join('')).not.to.include(TOKENS.a1001);
  });
});
