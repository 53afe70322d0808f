import { expect } from 'chai';
import { AriEvent } from '../../../src/ari/ari-events';
import { AriRequestError } from '../../../src/ari/call-control';
import { ManualClock } from '../../../src/domain/clock';
import { digitSounds } from '../../../src/domain';
import { confirmationMedia } from '../../../src/calls/callback-booking';
import { whisperMedia } from '../../../src/calls/preview-agent-leg';
import { ChannelPlaybacks, Playback, PLAYBACK_SLOTS, playbackIdsOf, STOP_BOUND_MS, stopHonouredDuring } from '../../../src/calls/playback';
import { LeftPlaybacks } from '../../../src/engine/left-playbacks';

/**
 * A fake Asterisk that keeps the rule measured in trace l: a stop is answered 204 whatever plays,
 * but during a `digits:`/`number:` item it is ignored (the item plays to its end and the list goes
 * on); during any other item it ends the whole list (PlaybackFinished). Items end only when the
 * test says so (`endItem`), and every event is delivered to `deliver`.
 */
class FakeAsterisk {
  readonly requests: string[] = [];
  readonly running = new Map<string, { channelId: string; media: string[]; index: number }>();
  deliver: (e: AriEvent) => void = () => undefined;
  refusePlay = false;

  async play(channelId: string, media: string[], playbackId: string): Promise<void> {
    this.requests.push(`play ${playbackId} ${media.join(',')}`);
    if (this.refusePlay) throw new AriRequestError('Channel not found', 'not_found', 'play');
    this.running.set(playbackId, { channelId, media, index: 0 });
    this.event('PlaybackStarted', playbackId);
  }

  async stopPlayback(playbackId: string): Promise<void> {
    const pb = this.running.get(playbackId);
    this.requests.push(`stop ${playbackId}${pb ? ` during ${pb.media[pb.index]}` : ''}`);
    if (!pb) throw new AriRequestError('Playback not found', 'not_found', 'stopPlayback');
    if (/^(digits|number):/.test(pb.media[pb.index])) return; // 204, ignored
    this.finish(playbackId);
  }

  /** The item now playing ends: the next one starts, or the playback finishes. */
  endItem(playbackId: string): void {
    const pb = this.running.get(playbackId);
    if (!pb) throw new Error(`${playbackId} is not running`);
    if (pb.index === pb.media.length - 1) return this.finish(playbackId);
    this.event('PlaybackContinuing', playbackId);
    pb.index += 1;
    this.event('PlaybackStarted', playbackId);
  }

  /** Runs the playback until it is in `item`. */
  playUntil(playbackId: string, item: string): void {
    while (this.running.get(playbackId)?.media[this.running.get(playbackId)?.index ?? 0] !== item) this.endItem(playbackId);
  }

  private finish(playbackId: string): void {
    this.event('PlaybackFinished', playbackId);
    this.running.delete(playbackId);
  }

  private event(type: 'PlaybackStarted' | 'PlaybackContinuing' | 'PlaybackFinished', playbackId: string): void {
    const pb = this.running.get(playbackId);
    if (!pb) return;
    this.deliver({
      type,
      playback: {
        id: playbackId,
        media_uri: pb.media[pb.index],
        target_uri: `channel:${pb.channelId}`,
        state: type === 'PlaybackFinished' ? 'done' : 'playing',
      },
    });
  }
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Whether a promise has settled by now (after pending callbacks ran). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await flush();
  return done;
}

describe('Playback: a stop is only a stop when Asterisk says the playback ended', () => {
  let clock: ManualClock;
  let asterisk: FakeAsterisk;
  let playbacks: ChannelPlaybacks;

  beforeEach(() => {
    clock = new ManualClock(0);
    asterisk = new FakeAsterisk();
    playbacks = new ChannelPlaybacks({ control: asterisk, clock }, 'ch1');
    asterisk.deliver = (e) => playbacks.onEvent(e);
  });

  it('a stop during a sound: item resolves on PlaybackFinished, not on the 204', async () => {
    const pb = await playbacks.play(['sound:a', 'sound:b']);
    const stopped = pb.stop();
    await flush();
    expect(asterisk.requests).to.deep.equal(['play ch1-pb0 sound:a,sound:b', 'stop ch1-pb0 during sound:a']);
    expect(await stopped).to.equal('stopped');
    expect(pb.isEnded).to.equal(true);
  });

  it('a stop during a digits: item is ignored by Asterisk: stop() waits, and stops again when the next item starts', async () => {
    const pb = await playbacks.play(['sound:confirm', 'digits:5551234', 'sound:goodbye', 'sound:more']);
    asterisk.playUntil(pb.id, 'digits:5551234');
    const stopped = pb.stop();
    await flush();
    // Not stopped: the digits play on, and nothing that waits for the stop may go on yet.
    expect(await settled(stopped)).to.equal(false);
    expect(asterisk.requests.filter((r) => r.startsWith('stop'))).to.deep.equal([]);
    asterisk.endItem(pb.id); // the digits are said to the end; sound:goodbye starts
    await flush();
    expect(asterisk.requests.filter((r) => r.startsWith('stop'))).to.deep.equal(['stop ch1-pb0 during sound:goodbye']);
    expect(await stopped).to.equal('stopped');
    expect(asterisk.running.has(pb.id)).to.equal(false); // sound:more never played
  });

  it('a stop during a number: item that a stop does reach is still only trusted on PlaybackFinished', async () => {
    const pb = await playbacks.play(['sound:a', 'number:12']);
    asterisk.playUntil(pb.id, 'number:12');
    const stopped = pb.stop();
    expect(await settled(stopped)).to.equal(false);
    asterisk.endItem(pb.id); // the last item ends: PlaybackFinished
    expect(await stopped).to.equal('stopped');
  });

  it('untilEnded: a message heard to its end resolves on PlaybackFinished, sends no stop, and gives up at its bound', async () => {
    const pb = await playbacks.play(['sound:not-assigned', 'sound:goodbye']);
    const heard = pb.untilEnded(30_000);
    asterisk.endItem(pb.id);
    expect(await settled(heard), 'one item still to play').to.equal(false);
    asterisk.endItem(pb.id);
    expect(await heard).to.equal('finished');
    const lost = await playbacks.play(['sound:not-assigned']);
    const bounded = lost.untilEnded(30_000);
    clock.advance(29_999);
    expect(await settled(bounded)).to.equal(false);
    clock.advance(1);
    expect(await bounded).to.equal('bound');
    expect(
      asterisk.requests.filter((r) => r.startsWith('stop')),
      'nothing stopped',
    ).to.deep.equal([]);
    expect(clock.pendingTimers).to.equal(0);
  });

  it('a stop whose end never comes gives up at the bound', async () => {
    const pb = await playbacks.play(['digits:5551234']);
    const stopped = pb.stop();
    await flush();
    clock.advance(STOP_BOUND_MS - 1);
    expect(await settled(stopped)).to.equal(false);
    clock.advance(1);
    expect(await stopped).to.equal('bound');
    expect(clock.pendingTimers).to.equal(0);
  });

  it('a stop before start sends nothing, and the playback never starts', async () => {
    const pb = playbacks.create(['sound:a']);
    expect(await pb.stop()).to.equal('stopped');
    expect(await pb.start()).to.equal(false);
    expect(asterisk.requests).to.deep.equal([]);
  });

  it('a stop while the play request is in flight is sent once Asterisk has the playback', async () => {
    const pb = playbacks.create(['sound:a']);
    const started = pb.start();
    const stopped = pb.stop();
    await started;
    expect(await stopped).to.equal('stopped');
    expect(asterisk.requests).to.deep.equal(['play ch1-pb0 sound:a', 'stop ch1-pb0 during sound:a']);
  });

  it('a refused play ends the playback as failed; a 404 on the stop counts as ended', async () => {
    asterisk.refusePlay = true;
    const refused = playbacks.create(['sound:a']);
    expect(await refused.start()).to.equal(false);
    expect(await refused.ended).to.equal('failed');
    asterisk.refusePlay = false;
    const pb = await playbacks.play(['sound:a']);
    asterisk.running.delete(pb.id); // Asterisk forgot it (its PlaybackFinished was lost)
    expect(await pb.stop()).to.equal('stopped');
  });

  it('the channel gone ends every playback; nothing stays in the session', async () => {
    const a = await playbacks.play(['digits:1']);
    const b = await playbacks.play(['sound:b']);
    const stopped = a.stop();
    playbacks.settleAll();
    expect(await stopped).to.equal('channel_gone');
    expect(await b.ended).to.equal('channel_gone');
    expect(playbacks.isPlaying(a.id)).to.equal(false);
  });

  it('ids are <owner>-pb<slot> over PLAYBACK_SLOTS slots: a restarted process can name every one', async () => {
    const ids = Array.from({ length: PLAYBACK_SLOTS + 2 }, () => playbacks.create(['sound:a']).id);
    expect(ids.slice(0, PLAYBACK_SLOTS)).to.deep.equal(playbackIdsOf('ch1'));
    expect(ids.slice(PLAYBACK_SLOTS)).to.deep.equal(['ch1-pb0', 'ch1-pb1']);
    // A playback for another channel (a guard on the customer leg) still takes the owner's ids.
    expect(playbacks.create(['sound:a'], 'en', 'other').id).to.equal('ch1-pb2');
  });

  it('knows which items a stop reaches (trace l)', () => {
    expect(['sound:digits/2', 'sound:callback/confirm', 'recording:x', 'tone:ring'].map(stopHonouredDuring)).to.deep.equal([
      true,
      true,
      true,
      true,
    ]);
    expect(['digits:123', 'number:12', 'characters:abc'].map(stopHonouredDuring)).to.deep.equal([false, false, false]);
    expect(new Playback({ control: asterisk, clock }, 'c', 'c-pb0', ['sound:a', 'digits:1']).alwaysStoppable).to.equal(false);
  });
});

describe('the read-backs of numbers are items a stop reaches', () => {
  it('digitSounds says a number digit by digit as sound:digits/N', () => {
    expect(digitSounds('+1 (555) 12-0')).to.deep.equal([
      'sound:digits/1',
      'sound:digits/5',
      'sound:digits/5',
      'sound:digits/5',
      'sound:digits/1',
      'sound:digits/2',
      'sound:digits/0',
    ]);
  });

  it('the confirmation and the whisper have no digits: item', () => {
    const confirmation = confirmationMedia('+15551234567');
    expect(confirmation.filter((m) => !stopHonouredDuring(m))).to.deep.equal([]);
    expect(confirmation.filter((m) => m.startsWith('sound:digits/'))).to.have.length(11);
    const whisper = whisperMedia('+15551234567', { id: 'support', announcement: undefined } as never, 3);
    expect(whisper.filter((m) => !stopHonouredDuring(m))).to.deep.equal(['number:3']);
    expect(whisper.filter((m) => m.startsWith('sound:digits/'))).to.have.length(11);
  });
});

describe('LeftPlaybacks: what a previous process left playing is stopped and its end awaited', () => {
  it('stops every slot of the channel; waits for the one still saying digits to really end', async () => {
    const clock = new ManualClock(0);
    const asterisk = new FakeAsterisk();
    const left = new LeftPlaybacks(asterisk, clock);
    asterisk.deliver = (e) => left.observe(e);
    // The old process's confirmation, in its digits (an old media list).
    await asterisk.play('caller', ['sound:confirm', 'digits:5551234', 'sound:goodbye'], 'caller-pb3');
    asterisk.playUntil('caller-pb3', 'digits:5551234');
    asterisk.requests.length = 0;
    const stopped = left.stop(['caller']);
    await flush();
    expect(asterisk.requests).to.have.length(PLAYBACK_SLOTS);
    expect(await settled(stopped)).to.equal(false);
    expect(left.size).to.equal(1);
    asterisk.endItem('caller-pb3'); // digits over: the goodbye starts and is stopped at once
    await stopped;
    expect(asterisk.requests.slice(PLAYBACK_SLOTS)).to.deep.equal(['stop caller-pb3 during sound:goodbye']);
    expect(left.size).to.equal(0);
    expect(clock.pendingTimers).to.equal(0);
  });
});
