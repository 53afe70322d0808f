import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { Lab } from '../../tools/asterisk-lab/lab';
import { channelOf, isPlaybackOf, ObservedEvent } from '../../tools/asterisk-lab/observer';
import { SippProcess } from '../../tools/asterisk-lab/sipp';
import { asteriskStoryConfig, describeOnAsterisk, runtime } from './lab-suite';
import { testPostgresServer } from '../helpers/database';

/**
 * An agent's feature codes on a real Asterisk: the agent's own desk phone (SIPp, authenticated as
 * its PJSIP endpoint) dials *51-*54; the sample dialplan's from-agents context sends the call to
 * `Stasis(direct-callback,agent-login|…,${CHANNEL(endpoint)})`; the plugin changes and stores the
 * agent's presence, plays the confirmation in the agent's language, and hangs up. What is asserted
 * comes from Asterisk (the observer's events, the phone's SIP dialog) and from the database and
 * the API, not from the plugin's log.
 */

interface AgentView {
  id: string;
  loggedIn: boolean;
  paused: boolean;
}

interface PresenceRow {
  agent_id: string;
  logged_in: boolean;
  paused: boolean;
  changed_by: string;
}

describeOnAsterisk('real Asterisk: an agent dials a feature code on the desk phone', function () {
  this.timeout(60_000);
  let lab: Lab;
  let failed = false;

  before(async function () {
    this.timeout(90_000);
    lab = await Lab.start({
      runtime: runtime(),
      postgres: await testPostgresServer(),
      agents: [
        { id: '1001', loggedIn: false },
        { id: '1002', extra: { language: 'es' } },
      ],
      pluginConfig: asteriskStoryConfig({
        agents: [],
        extra: { featureCodes: { agentLogin: '*51', agentLogout: '*52', agentPause: '*53', agentUnpause: '*54' } },
      }),
      http: true,
    });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });
  after(async () => {
    if (failed) console.error(`lab kept in ${lab.asterisk.dir} (Asterisk log: log/messages; plugin log: lab/plugin.log; SIPp: lab/*/)`);
    await lab?.stop({ keep: failed });
  });

  const agent = async (id: string): Promise<AgentView> => {
    const r = await lab.api<{ agents: AgentView[] }>('GET', '/agents');
    const a = r.body.agents.find((x) => x.id === id);
    if (!a) throw new Error(`no agent ${id} in GET /agents`);
    return a;
  };
  const presence = async (id: string): Promise<PresenceRow | undefined> =>
    (await lab.db('agent_presence').where({ agent_id: id }).first()) as PresenceRow | undefined;

  /**
   * The phone dials `code`; returns the call's channel once Asterisk destroyed it, after checking
   * what happened on it: its Stasis line got `args`, the confirmation `prompt` started (in
   * `language`) and finished, and only then was the call hung up, from Asterisk's side (the phone
   * got the BYE).
   */
  async function dialCode(
    agentId: string,
    code: string,
    args: string[],
    prompt: string,
    language: string,
  ): Promise<{ channel: string; played: ObservedEvent; phone: SippProcess }> {
    const mark = lab.observer.events.length;
    const since = (pred: (e: ObservedEvent) => boolean) => (e: ObservedEvent) => lab.observer.events.indexOf(e) >= mark && pred(e);
    const phone = await lab.callFromPhone(agentId, code, [{ waitForBye: 20_000 }]);
    // The observer is another app, so it gets no StasisStart for this one: the dialplan step shows
    // what the sample's Stasis line was given (${CHANNEL(endpoint)} expanded by Asterisk).
    const start = await lab.observer.waitFor(
      since(
        (e) =>
          e.type === 'ChannelDialplan' &&
          e.raw.channel?.dialplan?.app_name === 'Stasis' &&
          e.raw.channel.name.startsWith(`PJSIP/${agentId}-`),
      ),
      15_000,
      `${code} reaching its Stasis line`,
    );
    const channel = channelOf(start) as string;
    expect(start.raw.channel?.dialplan?.app_data).to.equal(`direct-callback,${args.join(',')}`);
    const played = await lab.observer.waitFor(since(isPlaybackOf(channel, prompt)), 10_000, `the confirmation ${prompt}`);
    expect(played.raw.playback?.language).to.equal(language);
    const finished = await lab.observer.waitFor(
      since(isPlaybackOf(channel, prompt, 'PlaybackFinished')),
      15_000,
      'the confirmation played to its end',
    );
    const destroyed = await lab.observer.waitFor(
      since((e) => e.type === 'ChannelDestroyed' && channelOf(e) === channel),
      10_000,
      'the call ended',
    );
    expect(destroyed.at).to.be.at.least(finished.at);
    // No other playback on this call: the confirmation alone (not the failure prompt as well).
    expect(
      lab.observer.find(since((e) => e.type === 'PlaybackStarted' && channelOf(e) === channel)).map((e) => e.raw.playback?.media_uri),
    ).to.deep.equal([prompt]);
    // The plugin ended the call: the dialplan's fallback after the Stasis line never ran.
    expect(
      lab.observer
        .find(since((e) => e.type === 'ChannelDialplan' && channelOf(e) === channel))
        .map((e) => e.raw.channel?.dialplan?.app_name),
    ).to.deep.equal(['NoOp', 'Stasis']);
    expect(await phone.finished(15_000), phone.errors()).to.equal(0);
    expect(phone.log().map((l) => l.message)).to.include('got bye');
    return { channel, played, phone };
  }

  it('*51: the logged-out agent 1001 is logged in (stored, shown by the API, kept by a restarted plugin), hears "you are logged in", and the plugin hangs up', async () => {
    expect(await agent('1001')).to.include({ loggedIn: false, paused: false });
    expect(await presence('1001')).to.equal(undefined);
    await dialCode('1001', '*51', ['agent-login', '1001'], PROMPTS.agentLoggedIn, 'en');
    expect(await presence('1001')).to.include({ logged_in: true, paused: false, changed_by: 'feature_code' });
    expect(await agent('1001')).to.include({ loggedIn: true, paused: false });
    // The config still says loggedIn: false; a restarted plugin follows the stored change.
    await lab.plugin?.stop();
    await lab.startPlugin();
    expect(await agent('1001')).to.include({ loggedIn: true, paused: false });
  });

  it('*53 then *54: the Spanish-speaking agent 1002 is paused, then not, hearing each confirmation in Spanish; still logged in', async () => {
    await dialCode('1002', '*53', ['agent-pause', '1002'], PROMPTS.agentPaused, 'es');
    expect(await presence('1002')).to.include({ logged_in: true, paused: true, changed_by: 'feature_code' });
    expect(await agent('1002')).to.include({ loggedIn: true, paused: true });
    await dialCode('1002', '*54', ['agent-unpause', '1002'], PROMPTS.agentUnpaused, 'es');
    expect(await presence('1002')).to.include({ logged_in: true, paused: false });
    expect(await agent('1002')).to.include({ loggedIn: true, paused: false });
  });

  it('*52: agent 1001 is logged out again', async () => {
    await dialCode('1001', '*52', ['agent-logout', '1001'], PROMPTS.agentLoggedOut, 'en');
    expect(await presence('1001')).to.include({ logged_in: false, changed_by: 'feature_code' });
    expect(await agent('1001')).to.include({ loggedIn: false });
  });

  it("with the plugin stopped, the dialplan's fallback plays callback/feature-code-failed (a sound that exists) and hangs up", async () => {
    await lab.plugin?.stop();
    const mark = lab.observer.events.length;
    const since = (pred: (e: ObservedEvent) => boolean) => (e: ObservedEvent) => lab.observer.events.indexOf(e) >= mark && pred(e);
    const phone = await lab.callFromPhone('1001', '*51', [{ waitForBye: 20_000 }]);
    const played = await lab.observer.waitFor(
      since(
        (e) =>
          e.type === 'ChannelDialplan' && e.raw.channel?.dialplan?.app_name === 'Playback' && e.raw.channel.name.startsWith('PJSIP/1001-'),
      ),
      15_000,
      "the fallback's Playback",
    );
    expect(played.raw.channel?.dialplan?.app_data).to.equal('callback/feature-code-failed');
    const channel = channelOf(played) as string;
    await lab.observer.waitFor(
      since((e) => e.type === 'ChannelDestroyed' && channelOf(e) === channel),
      15_000,
      'the call ended',
    );
    expect(await phone.finished(15_000), phone.errors()).to.equal(0);
    expect(phone.log().map((l) => l.message)).to.include('got bye');
    // The file played: Asterisk logs a missing one ("does not exist in any format"), as it did for
    // the former an-error-has-occured (probes.md).
    expect(lab.asterisk.log()).to.not.match(/feature-code-failed.*does not exist/);
    expect(lab.asterisk.log()).to.match(/direct-callback: Stasis returned FAILED for feature code \*51 from 1001/);
    // Nothing changed: the agent is still logged out.
    expect(await presence('1001')).to.include({ logged_in: false });
  });
});
