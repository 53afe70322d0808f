import { expect } from 'chai';
import { bookCallback, startRig, sleep, testConfigInput, useRig } from '../helpers/plugin-harness';
import { FakeAmiServer } from '../helpers/fake-ami-server';

/** Agent presence that ARI does not expose, read from AMI, steers dispatch (issue 6 item 7). */
describe('e2e: AMI presence steers dispatch', function () {
  this.timeout(30000);
  const rigs = useRig();
  let ami: FakeAmiServer | undefined;

  afterEach(async () => {
    await ami?.stop();
    ami = undefined;
  });

  it('an agent on do-not-disturb is not offered callbacks until available again', async () => {
    ami = await FakeAmiServer.start({ users: { 'direct-callback': 'ami-secret-xyz' } });
    ami.setPresence('CustomPresence:1001', 'dnd');
    const base = testConfigInput();
    const config = {
      ...base,
      agents: [
        { id: 'a1001', name: 'Ann', endpoint: 'PJSIP/1001', queues: [{ id: 'support' }], ami: { presentity: 'CustomPresence:1001' } },
      ],
    };
    const rig = rigs.set(
      await startRig({ config, env: { AMI_USER: 'direct-callback', AMI_PASSWORD: 'ami-secret-xyz', AMI_PORT: String(ami.port) } }),
    );
    await ami.waitForAction('PresenceState', 1, 5000);
    await bookCallback(rig, '+15556660001');
    rig.sim.endpoint('PJSIP/1001').manual();
    rig.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    await sleep(1500);
    expect(rig.sim.endpoint('PJSIP/1001').legs, 'phone idle but agent on DND').to.have.length(0);
    ami.pushEvent({
      Event: 'PresenceStateChange',
      Privilege: 'call,all',
      Presentity: 'CustomPresence:1001',
      Status: 'available',
      Subtype: '',
      Message: '',
    });
    const leg = await rig.sim.endpoint('PJSIP/1001').nextLeg(5000);
    expect(leg.displayedCaller.name).to.equal('CB +15556660001');
    expect(rig.logLines.join('\n')).to.not.include('ami-secret-xyz');
  });
});
