import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { channelOf } from '../../tools/asterisk-lab/observer';
import { SippProcess } from '../../tools/asterisk-lab/sipp';
import { asteriskStoryConfig, describeOnAsterisk, DID, withLab } from './lab-suite';

/**
 * Issue 19: limits that hold under concurrency, on the real stack (Asterisk, SIPp callers, the
 * plugin as `npm start` runs it, PostgreSQL).
 *
 * 50 SIPp callers with ONE caller id, all at once, each pressing 2 and typing a number to be
 * called back on, against the queue's rate limit of 3 requests per caller: exactly 3 are stored.
 *
 * Why 10 SIPp processes of 5 calls and not 50 processes of 1: a SIPp script's digits are in its
 * media file (tools/asterisk-lab/dtmf-pcap.ts), the same for every call of one process, so a
 * process's calls all type the same number; and 50 processes would need more lab ports than the
 * allocator keeps for callers. Ten processes give ten different numbers from one caller id, 50
 * bookings at once: of each number at most one can be stored (the others are duplicates), so
 * without a limit that holds under concurrency up to ten would be stored; with it, three. The
 * callers not stored hear either the rate limit's prompt or, when a sibling's booking of the same
 * number got in, "already booked", and never "number refused" or "could not book".
 */

const CALLER = '+15557770001';
const PROCESSES = 10;
const CALLS_EACH = 5;
const N = PROCESSES * CALLS_EACH;

describeOnAsterisk('real Asterisk: booking limits under concurrency', function () {
  this.timeout(240_000);

  it('50 simultaneous bookings from one caller id against a limit of 3 store exactly 3', async () => {
    await withLab(
      {
        agents: [{ id: '1001', loggedIn: false }],
        pluginConfig: asteriskStoryConfig({ agents: [], queue: { rateLimit: { limit: 3, windowSec: 3600 } } }),
        rtpPorts: 600,
      },
      async (lab) => {
        const typed = Array.from({ length: PROCESSES }, (_, i) => `21255501${60 + i}`);
        const callers: SippProcess[] = await Promise.all(
          typed.map((number) =>
            lab.call(
              DID.support,
              {
                from: CALLER,
                steps: [
                  { wait: 3500 },
                  { dtmf: '2' },
                  { wait: 4000 },
                  { dtmf: `${number}#` },
                  { wait: 9000 },
                  { dtmf: '1' },
                  // Booked (or already booked): Asterisk hangs up meanwhile. Refused: the caller
                  // keeps waiting in the queue, and hangs up here.
                  { wait: 20000 },
                  { hangup: true },
                ],
              },
              { count: CALLS_EACH, rate: 20 },
            ),
          ),
        );
        for (const c of callers) expect(await c.finished(120000), c.errors()).to.equal(0);

        const rows = await lab.db('callback_requests').select<{ customer_number: string; requester_key: string }[]>();
        expect(rows, 'stored callbacks').to.have.length(3);
        expect(new Set(rows.map((r) => r.requester_key))).to.deep.equal(new Set([`caller:${CALLER}`]));
        expect(rows.every((r) => typed.map((t) => `+1${t}`).includes(r.customer_number))).to.equal(true);

        const heard = (media: string) =>
          new Set(lab.observer.find((e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === media).map((e) => channelOf(e)));
        const confirmed = heard(PROMPTS.confirm);
        const limited = heard(PROMPTS.rateLimited);
        const already = heard(PROMPTS.alreadyBooked);
        expect(confirmed.size, 'callers who heard the confirmation').to.equal(3);
        expect(limited.size + already.size, 'every other caller heard why').to.equal(N - 3);
        expect(limited.size, 'at least the callers of the seven numbers not stored').to.be.at.least((PROCESSES - 3) * CALLS_EACH);
        expect(heard(PROMPTS.numberRefused).size, 'nobody heard "number refused"').to.equal(0);
        expect(heard(PROMPTS.storeFailed).size, 'no booking failed').to.equal(0);
      },
    );
  });
});
