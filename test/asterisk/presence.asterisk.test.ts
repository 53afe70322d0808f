import { expect } from 'chai';
import { Lab } from '../../tools/asterisk-lab/lab';
import { asteriskStoryConfig, describeOnAsterisk, withLab } from './lab-suite';

/**
 * Agent presence from AMI with app_queue members (asterisk-config/queues.conf): an agent paused in
 * app_queue gets no callback; unpaused, it does. The pause is made as an administrator would,
 * with Asterisk's CLI, and the plugin learns it over AMI (QueueStatus at start, QueueMemberPause).
 */
async function nextAgentLeg(lab: Lab, since: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = lab.observer.events
      .slice(since)
      .find((x) => x.type === 'ChannelCreated' && x.raw.channel?.id?.startsWith('cb-agent-direct-callback-'));
    if (e) return String(e.raw.channel?.name);
    if (Date.now() > deadline) throw new Error(`no agent leg within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeOnAsterisk('real Asterisk: agent presence from AMI (app_queue members)', function () {
  this.timeout(120_000);

  it('an agent paused in app_queue is not offered callbacks; unpaused, it is', async () => {
    const agents = [
      { id: '1001', ami: { queueInterface: 'PJSIP/1001' } },
      { id: '1002', ami: { queueInterface: 'PJSIP/1002' } },
    ];
    await withLab(
      {
        agents: agents.map((a) => ({ id: a.id, extra: { ami: a.ami } })),
        pluginConfig: asteriskStoryConfig({ agents: [] }),
        http: true,
        ami: true,
        startPlugin: false,
      },
      async (lab) => {
        // Paused before the plugin starts: it reads the state at start-up (QueueStatus).
        expect(await lab.asterisk.cli('queue pause member PJSIP/1001 queue agents')).to.match(/paused/i);
        await lab.startPlugin();
        const agent = { answer: { answerAfterMs: 400 }, steps: [{ wait: 1500 }, { dtmf: '2' }, { waitForBye: 30000 }] };
        await lab.phone('1001').use(agent);
        await lab.phone('1002').use(agent);
        let mark = lab.observer.events.length;
        expect((await lab.api('POST', '/callbacks', { queueId: 'support', number: '+15557000001' })).status).to.equal(201);
        expect(await nextAgentLeg(lab, mark, 20000)).to.match(/^PJSIP\/1002-/);
        // 1002 logs out (API); 1001 is unpaused in app_queue (CLI, an AMI event): 1001 gets the next one.
        expect((await lab.api('POST', '/agents/1002/logout')).status).to.equal(200);
        expect(await lab.asterisk.cli('queue unpause member PJSIP/1001 queue agents')).to.match(/unpaused/i);
        await new Promise((r) => setTimeout(r, 1500));
        mark = lab.observer.events.length;
        expect((await lab.api('POST', '/callbacks', { queueId: 'support', number: '+15557000002' })).status).to.equal(201);
        expect(await nextAgentLeg(lab, mark, 30000)).to.match(/^PJSIP\/1001-/);
      },
    );
  });
});
