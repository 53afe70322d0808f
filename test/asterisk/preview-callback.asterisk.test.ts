import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { channelOf } from '../../tools/asterisk-lab/observer';
import { Lab } from '../../tools/asterisk-lab/lab';
import { asteriskStoryConfig, describeOnAsterisk, withLab } from './lab-suite';

/**
 * The callback itself on a real Asterisk: the agent's desk phone rings first (a SIPp phone), the
 * agent hears who is to be called and presses a key, and only then is the customer behind the
 * trunk (another SIPp phone) dialled.
 */
const isAgentLeg = (id: string | undefined) => id?.startsWith('cb-agent-direct-callback-') === true;
const isCustomerLeg = (id: string | undefined) => id?.startsWith('cb-customer-direct-callback-') === true;

async function bookThroughApi(lab: Lab, number: string): Promise<string> {
  const r = await lab.api<{ callback: { id: string } }>('POST', '/callbacks', { queueId: 'support', number });
  expect(r.status, JSON.stringify(r.body)).to.equal(201);
  return r.body.callback.id;
}

/** An agent who answers, listens a moment, and presses `key`; then stays until hung up. */
const agentPressing = (key: string) => ({ answer: { answerAfterMs: 600 }, steps: [{ wait: 2500 }, { dtmf: key }, { waitForBye: 60000 }] });
/** A customer who answers, presses 1 at the guard prompt, talks and hangs up. */
const customerTalking = {
  answer: { answerAfterMs: 800 },
  steps: [{ wait: 2000 }, { dtmf: '1' }, { wait: 3000 }, { hangup: true as const }],
};

async function settled(lab: Lab, id: string, statuses: string[], timeoutMs: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = (await lab.db('callback_requests').where({ id }).first()) as Record<string, unknown> | undefined;
    if (row && statuses.includes(String(row.status)) && row.claimed_by === null) return row;
    if (Date.now() > deadline) throw new Error(`callback ${id} not ${statuses.join('/')} within ${timeoutMs} ms: ${JSON.stringify(row)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describeOnAsterisk('real Asterisk: agent-first preview callbacks', function () {
  this.timeout(150_000);

  it("the agent's phone first, the agent's 1, then the customer, the guard's 1, one mixing bridge, completed", async () => {
    await withLab({ agents: [{ id: '1001' }], pluginConfig: asteriskStoryConfig({ agents: [] }), http: true }, async (lab) => {
      const agent = await lab.phone('1001').use(agentPressing('1'));
      const customer = await lab.customers.use(customerTalking);
      const id = await bookThroughApi(lab, '+15553330001');
      const o = lab.observer;
      const agentUp = await o.waitFor(
        (e) => e.type === 'ChannelStateChange' && isAgentLeg(e.raw.channel?.id) && e.raw.channel?.state === 'Up',
        20000,
        "the agent's phone answered",
      );
      const agentId = agentUp.raw.channel?.id as string;
      const whisper = await o.waitFor(
        (e) => e.type === 'PlaybackStarted' && channelOf(e) === agentId && e.raw.playback?.media_uri === PROMPTS.whisperIntro,
        10000,
        'the whisper',
      );
      const accept = await o.waitFor(
        (e) => e.type === 'ChannelDtmfReceived' && channelOf(e) === agentId && e.raw.digit === '1',
        10000,
        "the agent's 1",
      );
      const customerCreated = await o.waitFor(
        (e) => e.type === 'ChannelCreated' && isCustomerLeg(e.raw.channel?.id),
        15000,
        'the customer leg',
      );
      const customerId = customerCreated.raw.channel?.id as string;
      await o.waitFor(
        (e) => e.type === 'PlaybackStarted' && channelOf(e) === customerId && e.raw.playback?.media_uri === PROMPTS.guard,
        15000,
        'the guard prompt',
      );
      await o.waitFor(
        (e) => e.type === 'ChannelDtmfReceived' && channelOf(e) === customerId && e.raw.digit === '1',
        10000,
        "the customer's 1",
      );
      const entered = await o.waitForCount(
        (e) => e.type === 'ChannelEnteredBridge' && (channelOf(e) === agentId || channelOf(e) === customerId),
        2,
        15000,
        'both legs in a bridge',
      );
      const bridgeIds = new Set(entered.map((e) => e.raw.bridge?.id));
      expect(bridgeIds.size, 'one bridge').to.equal(1);
      expect(entered[1]?.raw.bridge?.bridge_type).to.equal('mixing');
      // Agent first: the customer leg exists only after the agent's 1.
      expect(whisper.at).to.be.at.most(accept.at);
      expect(accept.at).to.be.at.most(customerCreated.at);
      const row = await settled(lab, id, ['completed'], 30000);
      expect(row.attempts).to.equal(1);
      const attempts = await lab.db('callback_attempts').where({ callback_id: id });
      expect(attempts.map((a: { outcome: string }) => a.outcome)).to.deep.equal(['answered']);
      const history = (await lab.db('callback_events').where({ callback_id: id }).orderBy('id')).map((h: { type: string }) => h.type);
      expect(history).to.include.ordered.members([
        'requested',
        'offered_to_agent',
        'agent_answered',
        'agent_accepted',
        'customer_dialled',
        'customer_answered',
        'bridged',
        'completed',
      ]);
      await o.waitFor(
        (e) => e.type === 'ChannelDestroyed' && channelOf(e) === agentId,
        15000,
        "the agent's phone hung up after the customer left",
      );
      // SIPp's own verdict on both calls (the phones stop and write their statistics).
      await lab.customers.stop();
      await lab.phone('1001').stop();
      expect(customer.stats(), customer.errors()).to.include({ successful: 1, failed: 0 });
      expect(agent.stats(), agent.errors()).to.include({ successful: 1, failed: 0 });
    });
  });

  it('a busy customer, then one who does not answer: the attempt and its cause stored, the callback back in its place', async () => {
    await withLab(
      {
        agents: [{ id: '1001' }],
        pluginConfig: asteriskStoryConfig({
          agents: [],
          queue: { retryMinGapSec: 8, maxAttempts: 5 },
          callback: { customerRingTimeoutSec: 5 },
        }),
        http: true,
      },
      async (lab) => {
        await lab.phone('1001').use({ answer: { answerAfterMs: 400 }, steps: [{ wait: 1500 }, { dtmf: '1' }, { waitForBye: 60000 }] });
        await lab.customers.use({ answer: { rejectWith: 486, afterMs: 300 }, steps: [] });
        const id = await bookThroughApi(lab, '+15553330002');
        const afterBusy = await waitForAttempts(lab, id, 1, 40000);
        expect(afterBusy.map((a) => [a.outcome, a.cause])).to.deep.equal([['busy', 17]]);
        // The agent was told: the busy prompt played on the agent's leg.
        await lab.observer.waitFor(
          (e) => e.type === 'PlaybackStarted' && isAgentLeg(channelOf(e)) && e.raw.playback?.media_uri === PROMPTS.customerBusy,
          10000,
          'the agent hears "busy"',
        );
        const pendingAgain = await settled(lab, id, ['pending'], 20000);
        expect(pendingAgain.attempts).to.equal(1);
        // Back at its place, not dialled again before the queue's minimum gap.
        expect(new Date(pendingAgain.not_before as string).getTime()).to.be.above(Date.now());
        // Next attempt: the customer's phone rings and nobody answers.
        await lab.customers.use({ answer: { neverAnswer: true }, steps: [] });
        const afterNoAnswer = await waitForAttempts(lab, id, 2, 60000);
        expect(afterNoAnswer.map((a) => a.outcome)).to.deep.equal(['busy', 'no_answer']);
        expect(afterNoAnswer[1]?.cause, 'the ring timeout').to.be.oneOf([19, 18, 16]);
        const again = await settled(lab, id, ['pending'], 20000);
        expect(again.attempts).to.equal(2);
        expect(again.status).to.equal('pending');
      },
    );
  });

  it('the first agent presses 2: the next agent gets the callback, and the customer is dialled once', async () => {
    await withLab(
      { agents: [{ id: '1001' }, { id: '1002' }], pluginConfig: asteriskStoryConfig({ agents: [] }), http: true },
      async (lab) => {
        // Only 1001 is logged in at first, so it is offered the callback first.
        expect((await lab.api('POST', '/agents/1002/logout')).status).to.equal(200);
        await lab.phone('1001').use(agentPressing('2'));
        await lab.phone('1002').use(agentPressing('1'));
        await lab.customers.use(customerTalking);
        const id = await bookThroughApi(lab, '+15553330003');
        await lab.observer.waitFor(
          (e) => e.type === 'ChannelDtmfReceived' && isAgentLeg(channelOf(e)) && e.raw.digit === '2',
          30000,
          "the first agent's 2",
        );
        expect((await lab.api('POST', '/agents/1002/login')).status).to.equal(200);
        await settled(lab, id, ['completed'], 60000);
        const attempts = (await lab.db('callback_attempts').where({ callback_id: id }).orderBy('id')) as {
          agent_id: string;
          outcome: string;
          customer_channel_id: string | null;
        }[];
        expect(attempts.map((a) => [a.agent_id, a.outcome])).to.deep.equal([
          ['1001', 'agent_declined'],
          ['1002', 'answered'],
        ]);
        const customerLegs = new Set(
          lab.observer.find((e) => e.type === 'ChannelCreated' && isCustomerLeg(e.raw.channel?.id)).map((e) => e.raw.channel?.id),
        );
        expect(customerLegs.size, 'customer legs').to.equal(1);
        expect(attempts[1]?.customer_channel_id).to.equal([...customerLegs][0]);
      },
    );
  });
});

async function waitForAttempts(lab: Lab, id: string, n: number, timeoutMs: number): Promise<{ outcome: string; cause: number | null }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = (await lab.db('callback_attempts').where({ callback_id: id }).whereNotNull('ended_at').orderBy('id')) as {
      outcome: string;
      cause: number | null;
    }[];
    if (rows.length >= n) return rows;
    if (Date.now() > deadline) throw new Error(`${n} finished attempts not reached within ${timeoutMs} ms (have ${rows.length})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describeOnAsterisk('real Asterisk: a phone that vanishes mid-call', function () {
  this.timeout(150_000);

  it("the agent's phone dies while talking (no BYE): Asterisk ends the call after the media timeout and the agent is free again", async () => {
    await withLab({ agents: [{ id: '1001' }], pluginConfig: asteriskStoryConfig({ agents: [] }), http: true }, async (lab) => {
      await lab.phone('1001').use(agentPressing('1'));
      await lab.customers.use({ answer: { answerAfterMs: 800 }, steps: [{ wait: 2000 }, { dtmf: '1' }, { waitForBye: 120000 }] });
      const id = await bookThroughApi(lab, '+15553330009');
      const o = lab.observer;
      const entered = await o.waitForCount(
        (e) => e.type === 'ChannelEnteredBridge' && e.raw.bridge?.bridge_type === 'mixing',
        2,
        30000,
        'agent and customer talking',
      );
      const agentId = entered.map((e) => channelOf(e)).find(isAgentLeg) as string;
      // The desk phone loses power: no BYE, no more media.
      const vanishedAt = Date.now();
      lab.phone('1001').current?.kill();
      const gone = await o.waitFor(
        (e) => e.type === 'ChannelHangupRequest' && channelOf(e) === agentId,
        60000,
        'Asterisk hanging up the silent phone',
      );
      expect(gone.receivedAt - vanishedAt, 'hung up by the RTP timeout (30 s)').to.be.within(25000, 45000);
      await settled(lab, id, ['completed'], 20000);
      // The customer is not left alone in the bridge, and the agent takes calls again.
      await o.waitFor((e) => e.type === 'ChannelDestroyed' && isCustomerLeg(channelOf(e)), 20000, 'the customer released');
      // The plugin frees the agent once its own requests that end the call are answered (the
      // customer's hang-up, then the bridge's removal): a moment after the customer's leg is gone.
      const agentState = async () =>
        (await lab.api<{ agents: { id: string; onPluginCall?: boolean; available?: boolean }[] }>('GET', '/agents')).body.agents.find(
          (a) => a.id === '1001',
        );
      let agent = await agentState();
      for (let i = 0; i < 50 && agent?.available !== true; i++) {
        await new Promise((r) => setTimeout(r, 100));
        agent = await agentState();
      }
      expect(agent).to.include({ available: true });
    });
  });
});
