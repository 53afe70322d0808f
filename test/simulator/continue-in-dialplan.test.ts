import { expect } from 'chai';
import { AriSimulator } from '../../tools/simulator/ari-simulator';
import { connectAri, ConnectedAri, rawRequest, sleep } from '../helpers/simulator-ari';

/**
 * POST /channels/{id}/continue as measured on the real Asterisk (docs/asterisk-facts.md): no
 * place given resumes at the step after Stasis(); a priority alone restarts the extension and
 * runs into Stasis() again.
 */
describe('simulator: continue in the dialplan', () => {
  let sim: AriSimulator;
  let client: ConnectedAri;
  beforeEach(async () => {
    sim = await AriSimulator.start({ user: 'u', password: 'p' });
    client = await connectAri(sim);
  });
  afterEach(async () => {
    client.close();
    await sim.stop();
  });

  const starts = (id: string): number =>
    client.received.filter((e) => e.type === 'StasisStart' && (e.channel as { id: string }).id === id).length;

  it('no context, extension or priority: the step after Stasis(), the variable set before kept, STASISSTATUS=SUCCESS', async () => {
    const call = sim.call({ from: '+15550001', to: 'queue:nosuch' });
    await call.entered();
    expect(
      (await rawRequest(sim, 'POST', `/ari/channels/${call.id}/variable?variable=DIRECT_CALLBACK_STATUS&value=UNKNOWN_QUEUE`)).status,
    ).to.equal(204);
    expect((await rawRequest(sim, 'POST', `/ari/channels/${call.id}/continue`)).status).to.equal(204);
    await call.waitFor('leftStasis', 2000);
    expect(call.continuedTo).to.deep.equal({ context: 'from-trunk', exten: '5552000', priority: 3, label: undefined });
    expect(call.variables.get('DIRECT_CALLBACK_STATUS')).to.equal('UNKNOWN_QUEUE');
    expect(call.variables.get('STASISSTATUS')).to.equal('SUCCESS');
    await sleep(100);
    expect(starts(call.id)).to.equal(1);
  });

  it('a priority alone restarts the extension: Stasis() again, a new StasisStart with the same arguments', async () => {
    const call = sim.call({ from: '+15550002', to: 'queue:support' });
    await call.entered();
    expect((await rawRequest(sim, 'POST', `/ari/channels/${call.id}/continue?priority=1`)).status).to.equal(204);
    await sleep(100);
    expect(call.inStasis).to.equal(true);
    expect(starts(call.id)).to.equal(2);
    const again = client.received.filter((e) => e.type === 'StasisStart').pop();
    expect(again?.args).to.deep.equal(['queue', 'support']);
  });

  it('a context and extension given: priority 1 there, and the channel leaves', async () => {
    const call = sim.call({ from: '+15550003', to: 'queue:support' });
    await call.entered();
    await rawRequest(sim, 'POST', `/ari/channels/${call.id}/continue?context=callback-voicemail&extension=1001`);
    await call.waitFor('hungup', 2000);
    expect(call.continuedTo).to.deep.include({ context: 'callback-voicemail', exten: '1001', priority: 1 });
  });
});
