import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { SimCall } from '../../tools/simulator/scenario-driver';
import { Rig, sleep, startRig, testConfigInput, useRig } from '../helpers/plugin-harness';

/**
 * An agent's feature codes on the simulator: the sample dialplan sends *51-*54 from an agent's
 * phone to `Stasis(direct-callback,agent-login|agent-logout|agent-pause|agent-unpause,${CHANNEL(endpoint)})`.
 * The plugin answers, changes and stores the agent's presence (source feature_code), confirms in
 * the agent's language and hangs up; a phone that is no agent's hears that it failed.
 */
function featureConfig(): Record<string, unknown> {
  return {
    ...testConfigInput(),
    agents: [
      { id: 'a1001', name: 'Ann', endpoint: 'PJSIP/1001', queues: [{ id: 'support' }], loggedIn: false },
      { id: 'a1002', name: 'Bea', endpoint: 'PJSIP/1002', queues: [{ id: 'support' }], language: 'es' },
    ],
  };
}

/** A call from an agent's desk phone, as the sample dialplan's from-agents context sends it. */
function dial(rig: Rig, endpoint: string, code: string, kind: string): SimCall {
  const resource = endpoint.replace(/^PJSIP\//, '');
  return rig.sim.call({
    from: resource,
    name: `Agent ${resource}`,
    to: code,
    exten: code,
    context: 'from-agents',
    endpoint,
    args: [kind, resource],
  });
}

async function presenceRow(rig: Rig, agentId: string): Promise<{ logged_in: boolean; paused: boolean; changed_by: string } | undefined> {
  return (await rig.database.db('agent_presence').where({ agent_id: agentId }).first()) as
    { logged_in: boolean; paused: boolean; changed_by: string } | undefined;
}

describe('e2e: agent feature codes (*51-*54)', function () {
  this.timeout(30000);
  const rigs = useRig();

  it('*51 logs the agent in: answered, stored with source feature_code, confirmed, hung up by the plugin', async () => {
    const rig = rigs.set(await startRig({ config: featureConfig(), agentsBusy: false }));
    expect(rig.plugin.app.agents.get('a1001')?.loggedIn).to.equal(false);
    const call = dial(rig, 'PJSIP/1001', '*51', 'agent-login');
    await call.entered();
    const played = await call.waitForPlayback((m) => m === PROMPTS.agentLoggedIn, 5000, { until: 'finished' });
    expect(played.language).to.equal('en');
    await call.waitFor('hungup', 5000);
    expect(call.hungUpBy).to.equal('app');
    expect(call.eventTypes, 'answered').to.include('ChannelStateChange');
    expect(await presenceRow(rig, 'a1001')).to.include({ logged_in: true, paused: false, changed_by: 'feature_code' });
    expect(rig.plugin.app.agents.get('a1001')?.loggedIn).to.equal(true);
    const line = rig.logLines.find((l) => l.includes('agent presence changed by feature code'));
    expect(JSON.parse(line ?? '{}')).to.include({ level: 'info', agentId: 'a1001', endpoint: '1001', feature: 'agent-login' });
  });

  it("*53 pauses and *54 resumes (still logged in); *52 logs out; each confirmed in the agent's language", async () => {
    const rig = rigs.set(await startRig({ config: featureConfig(), agentsBusy: false }));
    const steps: [string, string, string, { logged_in: boolean; paused: boolean }][] = [
      ['*53', 'agent-pause', PROMPTS.agentPaused, { logged_in: true, paused: true }],
      ['*54', 'agent-unpause', PROMPTS.agentUnpaused, { logged_in: true, paused: false }],
      ['*52', 'agent-logout', PROMPTS.agentLoggedOut, { logged_in: false, paused: false }],
    ];
    for (const [code, kind, prompt, stored] of steps) {
      const call = dial(rig, 'PJSIP/1002', code, kind);
      const played = await call.waitForPlayback((m) => m === prompt, 5000);
      // agents[].language: Bea hears Spanish.
      expect(played.language, code).to.equal('es');
      await call.waitFor('hungup', 5000);
      expect(await presenceRow(rig, 'a1002'), code).to.include({ ...stored, changed_by: 'feature_code' });
    }
    const bea = rig.plugin.app.agents.get('a1002');
    expect([bea?.loggedIn, bea?.paused]).to.deep.equal([false, false]);
  });

  it('an agent id in the Stasis arguments works as well as the endpoint', async () => {
    const rig = rigs.set(await startRig({ config: featureConfig(), agentsBusy: false }));
    const call = rig.sim.call({
      from: '1001',
      to: '*51',
      exten: '*51',
      context: 'from-agents',
      endpoint: 'PJSIP/1001',
      args: ['agent-login', 'a1001'],
    });
    await call.waitForPlayback((m) => m === PROMPTS.agentLoggedIn, 5000);
    await call.waitFor('hungup', 5000);
    expect(rig.plugin.app.agents.get('a1001')?.loggedIn).to.equal(true);
  });

  it("a phone that is no agent's: the failure prompt, the call ends, the error log names the endpoint, nothing stored", async () => {
    const rig = rigs.set(await startRig({ config: featureConfig(), agentsBusy: false }));
    rig.sim.endpoint('PJSIP/1009');
    const call = dial(rig, 'PJSIP/1009', '*51', 'agent-login');
    await call.waitForPlayback((m) => m === PROMPTS.featureCodeFailed, 5000);
    await call.waitFor('hungup', 5000);
    expect(call.hungUpBy).to.equal('app');
    const line = rig.logLines.find((l) => l.includes('feature code from a phone that is no agent'));
    expect(line, rig.logLines.join('')).to.be.a('string');
    expect(JSON.parse(line as string)).to.include({ level: 'error', endpoint: '1009', feature: 'agent-login' });
    expect(await rig.database.db('agent_presence').count<{ count: string }[]>({ count: '*' })).to.deep.equal([{ count: '0' }]);
  });

  it('the agent hangs up during the confirmation: the change stands, the session is gone', async () => {
    const rig = rigs.set(await startRig({ config: featureConfig(), agentsBusy: false, timing: { defaultSoundMs: 2000 } }));
    const call = dial(rig, 'PJSIP/1001', '*51', 'agent-login');
    await call.waitForPlayback((m) => m === PROMPTS.agentLoggedIn, 5000);
    call.hangup();
    await sleep(300);
    expect(call.hungUpBy).to.equal('far-end');
    expect(await presenceRow(rig, 'a1001')).to.include({ logged_in: true, changed_by: 'feature_code' });
    expect(rig.plugin.app.liveSessions).to.equal(0);
  });
});
