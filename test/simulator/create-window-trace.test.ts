/**
 * Trace k (`npm run record-traces -- --only k`, test/fixtures/asterisk-22.10.1/traces/README.md):
 * on the real Asterisk a leg made by POST /channels/create is in Stasis only at its StasisStart,
 * which comes after the create's answer; a dial sent at the answer was refused 409 "Channel not
 * in Stasis application" 7 times in 60, and every dial sent after the StasisStart answered 204.
 * The simulator opens the same window when `createToStasisMs` is set: the trace's requests are
 * sent to it in the same order, and it refuses and accepts the same way, with the same body.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { AriSimulator } from '../../tools/simulator/ari-simulator';
import { TRACES_DIR } from '../helpers/simulator-traces';

type Line = Record<string, unknown> & { t_ms: number; dir: string; req_id?: number; method?: string; path?: string; status?: number };
const lines: Line[] = fs
  .readFileSync(path.join(TRACES_DIR, 'k-dial-in-the-create-window.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as Line);
const responseOf = (req: Line): Line | undefined => lines.find((l) => l.dir === 'response' && l.req_id === req.req_id);
const isDial = (l: Line): boolean => l.dir === 'request' && /\/dial\?/.test(l.path ?? '');
const AUTH = { authorization: `Basic ${Buffer.from('asterisk:secret').toString('base64')}` };

describe('trace k: a dial in the window between POST /channels/create and StasisStart', function () {
  this.timeout(20000);
  let sim: AriSimulator | undefined;
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  it('the trace holds the fact: first dials sent at the create answer were refused 409 sometimes, every dial after StasisStart accepted', () => {
    const dials = lines.filter(isDial);
    const firsts = dials.filter((d, i) => dials.findIndex((x) => x.path === d.path) === i);
    const again = dials.filter((d, i) => dials.findIndex((x) => x.path === d.path) !== i);
    const refused = firsts.filter((d) => responseOf(d)?.status === 409);
    expect(firsts).to.have.length(60);
    expect(refused.length).to.be.within(1, 59);
    for (const d of refused) expect(responseOf(d)?.body).to.deep.equal({ message: 'Channel not in Stasis application' });
    expect(again.map((d) => responseOf(d)?.status)).to.deep.equal(refused.map(() => 204));
  });

  it('the simulator with the window refuses a dial at the create answer with the same 409 and accepts it after StasisStart', async () => {
    sim = await AriSimulator.start({ user: 'asterisk', password: 'secret', timing: { createToStasisMs: 30 } });
    const creates = lines.filter((l) => l.dir === 'request' && (l.path ?? '').startsWith('/ari/channels/create')).slice(0, 6);
    for (const c of creates) {
      const create = await fetch(`${sim.url}${c.path}`, {
        method: 'POST',
        headers: { ...AUTH, ...(c.body ? { 'content-type': 'application/json' } : {}) },
        body: c.body ? JSON.stringify(c.body) : undefined,
      });
      expect(create.status).to.equal(200);
      const id = new URL(`http://x${c.path}`).searchParams.get('channelId');
      const dial = await fetch(`${sim.url}/ari/channels/${id}/dial?timeout=5`, { method: 'POST', headers: AUTH });
      expect(dial.status, `${id} dialled at the create's answer`).to.equal(409);
      expect(await dial.json()).to.deep.equal({ message: 'Channel not in Stasis application' });
      await new Promise((r) => setTimeout(r, 60));
      const again = await fetch(`${sim.url}/ari/channels/${id}/dial?timeout=5`, { method: 'POST', headers: AUTH });
      expect(again.status, `${id} dialled after its StasisStart`).to.equal(204);
      await fetch(`${sim.url}/ari/channels/${id}`, { method: 'DELETE', headers: AUTH });
    }
    expect(sim.internalErrors).to.deep.equal([]);
  });
});
