import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { digitSounds } from '../../src/domain/caller-number';
import { queueConfig, Rig, startRig, testConfigInput, useRig } from '../helpers/plugin-harness';

/**
 * Call stories for languages (issue 13): every playback names its language (ARI play `lang`), so
 * the prompts and the digits read after them come from sounds/<lang>/. The language is the
 * caller's channel language when prompts exist for it, else the queue's, else English; the
 * customer leg of a callback plays the language stored with it; agents hear their own.
 */

/** The `lang` of every play request the plugin sent for one channel, in order. */
function playLanguages(r: Rig, channelId: string): (string | undefined)[] {
  return r.sim.requests
    .filter((q) => q.operation === 'channels.play' && decodeURIComponent(q.path) === `/ari/channels/${channelId}/play`)
    .map((q) => q.query.lang);
}

/** The test configuration with the first agent's (a1001, PJSIP/1001) settings overridden. */
function withFirstAgent(config: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const [first, ...rest] = config.agents as Record<string, unknown>[];
  return { ...config, agents: [{ ...first, ...over }, ...rest] };
}

describe('e2e: languages', function () {
  this.timeout(30000);
  const rigs = useRig();

  it('a Spanish caller (channel language es) hears the offer and the confirmation in Spanish, and is called back in Spanish while the agent hears the whisper in English', async () => {
    const r = rigs.set(await startRig());
    const caller = r.sim.call({ from: '+15559870101', to: 'queue:support', language: 'es' });
    await caller.entered();
    const offer = await caller.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    expect(offer.language).to.equal('es');
    await caller.pressDtmf('1');
    await caller.waitFor('hungup', 5000);
    const confirm = caller.playbacks.find((p) => p.media.includes(PROMPTS.confirm));
    // Asterisk reads the digits from sounds/es/digits/ because the play names lang=es.
    expect(confirm?.media).to.deep.equal([PROMPTS.confirm, ...digitSounds('15559870101'), PROMPTS.confirmGoodbye]);
    expect(confirm?.language).to.equal('es');
    const callerPlays = playLanguages(r, caller.id);
    expect(callerPlays.length, 'offer and confirmation').to.be.at.least(2);
    expect(new Set(callerPlays)).to.deep.equal(new Set(['es']));
    const [stored] = await r.store.listOpen();
    expect([stored?.customerNumber, stored?.language]).to.deep.equal(['+15559870101', 'es']);

    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint('PJSIP/15559870101@trunk').manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const agentLeg = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    agentLeg.answer();
    const whisper = await agentLeg.waitForPlayback((m) => m === PROMPTS.whisperIntro, 3000);
    expect(whisper.language, "the agent's language (agents[].language, default en)").to.equal('en');
    await agentLeg.pressDtmf('1');
    const customer = await r.sim.endpoint('PJSIP/15559870101@trunk').nextLeg(5000);
    customer.answer();
    const guard = await customer.waitForPlayback((m) => m === PROMPTS.guard, 3000);
    expect(guard.language, 'the language stored with the callback').to.equal('es');
    await customer.pressDtmf('1');
    await r.waitForMilestone('bridged', (d) => d.callbackId === stored?.id, 5000);
    expect(new Set(playLanguages(r, agentLeg.id))).to.deep.equal(new Set(['en']));
    expect(playLanguages(r, customer.id)).to.deep.equal(['es']);
  });

  it('a queue with language es serves a caller whose channel language has no prompts (de) in Spanish; an agent with language es hears the whisper in Spanish', async () => {
    const r = rigs.set(await startRig({ config: withFirstAgent(queueConfig({ language: 'es' }), { language: 'es' }) }));
    const caller = r.sim.call({ from: '+15559870102', to: 'queue:support', language: 'de' });
    await caller.entered();
    expect(caller.channel.language).to.equal('de');
    expect((await caller.waitForPlayback((m) => m === PROMPTS.offer, 3000)).language).to.equal('es');
    await caller.pressDtmf('1');
    await caller.waitFor('hungup', 5000);
    expect(caller.playbacks.find((p) => p.media.includes(PROMPTS.confirm))?.language).to.equal('es');
    expect(new Set(playLanguages(r, caller.id))).to.deep.equal(new Set(['es']));
    const [stored] = await r.store.listOpen();
    expect(stored?.language, 'stored as heard, so the callback speaks it too').to.equal('es');

    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint('PJSIP/15559870102@trunk').manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const agentLeg = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    agentLeg.answer();
    expect((await agentLeg.waitForPlayback((m) => m === PROMPTS.whisperIntro, 3000)).language).to.equal('es');
    await agentLeg.pressDtmf('1');
    const customer = await r.sim.endpoint('PJSIP/15559870102@trunk').nextLeg(5000);
    customer.answer();
    expect((await customer.waitForPlayback((m) => m === PROMPTS.guard, 3000)).language).to.equal('es');
  });

  it('customer-first: the customer leg plays the guard in the language stored with the callback', async () => {
    const r = rigs.set(await startRig({ config: queueConfig({ mode: 'customer-first' }) }));
    const caller = r.sim.call({ from: '+15559870103', to: 'queue:support', language: 'es' });
    await caller.entered();
    await caller.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    await caller.pressDtmf('1');
    await caller.waitFor('hungup', 5000);
    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint('PJSIP/15559870103@trunk').manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const customer = await r.sim.endpoint('PJSIP/15559870103@trunk').nextLeg(5000);
    customer.answer();
    expect((await customer.waitForPlayback((m) => m === PROMPTS.guard, 3000)).language).to.equal('es');
    expect(playLanguages(r, customer.id)).to.deep.equal(['es']);
  });

  it('a direct call from a Spanish caller to a busy agent: the offer and the confirmation in Spanish, the owed callback stored with es', async () => {
    const config = withFirstAgent(
      { ...testConfigInput(), direct: { overflow: true, offerIntervalSec: 0.6 } },
      { personalNumber: '5551000' },
    );
    const r = rigs.set(await startRig({ config }));
    const caller = r.sim.call({ from: '+15559870105', to: 'direct:5551000', args: ['direct', 'a1001'], language: 'es' });
    await caller.entered();
    expect((await caller.waitForPlayback((m) => m === PROMPTS.directOffer, 3000)).language).to.equal('es');
    await caller.pressDtmf('1');
    await caller.waitFor('hungup', 5000);
    expect(caller.playbacks.find((p) => p.media.includes(PROMPTS.confirm))?.language).to.equal('es');
    expect(new Set(playLanguages(r, caller.id))).to.deep.equal(new Set(['es']));
    const [stored] = await r.store.listOpen();
    expect([stored?.ownerAgentId, stored?.language]).to.deep.equal(['a1001', 'es']);
  });

  it('an English caller in the same setup still hears English (lang=en named on every play)', async () => {
    const r = rigs.set(await startRig());
    const caller = r.sim.call({ from: '+15559870104', to: 'queue:support' });
    await caller.entered();
    expect((await caller.waitForPlayback((m) => m === PROMPTS.offer, 3000)).language).to.equal('en');
    expect(new Set(playLanguages(r, caller.id))).to.deep.equal(new Set(['en']));
  });
});
