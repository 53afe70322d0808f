import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { AriSimulator } from '../../tools/simulator/ari-simulator';
import { rawRequest } from '../helpers/simulator-ari';
import { ASTERISK_FIXTURES_DIR } from '../helpers/simulator-traces';

describe('simulator GET /sounds/{id}', () => {
  let sim: AriSimulator;
  beforeEach(async () => {
    sim = await AriSimulator.start({ user: 'u', password: 'p', soundLanguages: ['en', 'fr'] });
  });
  afterEach(async () => {
    await sim.stop();
  });

  it('answers a sound in the shape of the recorded snapshot, one pair per language', async () => {
    const snapshot = JSON.parse(
      fs.readFileSync(path.join(ASTERISK_FIXTURES_DIR, 'traces', 'snapshots', 'sounds-queue-callswaiting.json'), 'utf8'),
    ) as { status: number; body: { id: string; formats: { language: string; format: string }[] } };
    const r = await rawRequest(sim, 'GET', '/ari/sounds/queue-callswaiting');
    expect(r.status).to.equal(snapshot.status);
    const body = r.body as typeof snapshot.body;
    expect(Object.keys(body)).to.deep.equal(Object.keys(snapshot.body));
    expect(Object.keys(body.formats[0] ?? {})).to.deep.equal(Object.keys(snapshot.body.formats[0] ?? {}));
    expect(body).to.deep.equal({
      id: 'queue-callswaiting',
      formats: [
        { language: 'en', format: 'slin' },
        { language: 'fr', format: 'slin' },
      ],
    });
  });

  it('a sound in a folder is asked for with its id in one encoded segment', async () => {
    const r = await rawRequest(sim, 'GET', '/ari/sounds/callback%2Foffer');
    expect(r).to.deep.equal({
      status: 200,
      body: {
        id: 'callback/offer',
        formats: [
          { language: 'en', format: 'slin' },
          { language: 'fr', format: 'slin' },
        ],
      },
    });
  });

  it('a missing sound is 404 Sound not found; missing in one language, it lists the others', async () => {
    sim.setSoundMissing('callback/offer');
    expect(await rawRequest(sim, 'GET', '/ari/sounds/callback%2Foffer')).to.deep.equal({
      status: 404,
      body: { message: 'Sound not found' },
    });
    sim.setSoundMissing('callback/guard', true, 'fr');
    expect((await rawRequest(sim, 'GET', '/ari/sounds/callback%2Fguard')).body).to.deep.equal({
      id: 'callback/guard',
      formats: [{ language: 'en', format: 'slin' }],
    });
    expect(sim.violations).to.deep.equal([]);
  });
});
