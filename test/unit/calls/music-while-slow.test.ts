import { expect } from 'chai';
import { AriRequestError, CallControl } from '../../../src/ari/call-control';
import { musicWhileSlow, MUSIC_RETRY_MS, SLOW_WAIT_MS } from '../../../src/calls/music-while-slow';
import { ManualClock } from '../../../src/domain/clock';

/**
 * Music while a usually quick wait (a booking) is slow (issue 18). The fuzzer found an owed
 * booking that took 2.5 s while Asterisk refused the music twice (500): the caller sat in silence.
 */
function rig(refusals: number, gone = false) {
  const clock = new ManualClock(0);
  const requests: string[] = [];
  let left = refusals;
  const control = {
    startMoh: (id: string) => {
      requests.push(`startMoh ${id} at ${clock.now()}`);
      if (gone) return Promise.reject(new AriRequestError('Channel not found', 'not_found', 'startMoh'));
      if (left-- > 0) return Promise.reject(new AriRequestError('Internal Server Error', 'server', 'startMoh'));
      return Promise.resolve();
    },
    stopMoh: (id: string) => {
      requests.push(`stopMoh ${id}`);
      return Promise.resolve();
    },
  } as unknown as CallControl;
  return { clock, requests, ctx: { control, clock } };
}
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('musicWhileSlow: no caller waits in silence behind a slow write', () => {
  it('a quick wait costs no request', async () => {
    const { clock, requests, ctx } = rig(0);
    const music = musicWhileSlow(ctx, 'c1');
    clock.advance(SLOW_WAIT_MS - 1);
    await music.stop();
    expect(requests).to.deep.equal([]);
    expect(clock.pendingTimers).to.equal(0);
  });

  it('music refused twice is asked for again while the wait lasts, then stopped at the end', async () => {
    const { clock, requests, ctx } = rig(2);
    const music = musicWhileSlow(ctx, 'c1');
    for (let t = 0; t < 3; t++) {
      clock.advance(t === 0 ? SLOW_WAIT_MS : MUSIC_RETRY_MS);
      await flush();
    }
    await music.stop();
    expect(requests).to.deep.equal([
      `startMoh c1 at ${SLOW_WAIT_MS}`,
      `startMoh c1 at ${SLOW_WAIT_MS + MUSIC_RETRY_MS}`,
      `startMoh c1 at ${SLOW_WAIT_MS + 2 * MUSIC_RETRY_MS}`,
      'stopMoh c1',
    ]);
    expect(clock.pendingTimers).to.equal(0);
  });

  it('a channel gone ends the tries; nothing is stopped that never started', async () => {
    const { clock, requests, ctx } = rig(0, true);
    const music = musicWhileSlow(ctx, 'c1');
    clock.advance(SLOW_WAIT_MS);
    await flush();
    clock.advance(5 * MUSIC_RETRY_MS);
    await flush();
    await music.stop();
    expect(requests).to.deep.equal([`startMoh c1 at ${SLOW_WAIT_MS}`]);
    expect(clock.pendingTimers).to.equal(0);
  });
});
