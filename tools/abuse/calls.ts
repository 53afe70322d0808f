import { PROMPTS } from '../../src/calls/prompts';
import { SimCall } from '../simulator/ari-simulator';
import { AbuseRig } from './rig';

/**
 * The people on the phone for the abuse run: a caller who waits for the offer, presses 1 or 2,
 * types a number; and what the caller heard next, read from the simulator's playbacks.
 */
export type HeardOutcome =
  | 'confirmed'
  | 'number-refused'
  | 'invalid'
  | 'store-failed'
  | 'already-booked'
  | 'given-up'
  | 'enter-number'
  | 'read-back'
  | 'hung-up'
  | 'left-stasis'
  | 'silence'
  | `prompt:${string}`;

/** Prompts that are the plugin's answer to what the caller did, most specific first. */
const ANSWERS: readonly (readonly [string, HeardOutcome])[] = [
  [PROMPTS.confirm, 'confirmed'],
  [PROMPTS.numberRefused, 'number-refused'],
  [PROMPTS.invalidNumber, 'invalid'],
  [PROMPTS.storeFailed, 'store-failed'],
  [PROMPTS.alreadyBooked, 'already-booked'],
  [PROMPTS.entryGivenUp, 'given-up'],
  [PROMPTS.youEntered, 'read-back'],
  [PROMPTS.enterNumber, 'enter-number'],
];

/** What plays while a caller waits, which is no answer to anything. */
const BACKGROUND = new Set<string>([
  PROMPTS.offer,
  PROMPTS.offerOtherNumber,
  PROMPTS.directOffer,
  PROMPTS.announcePosition,
  PROMPTS.announceInLine,
  PROMPTS.announceWait,
  PROMPTS.announceMinutes,
  PROMPTS.announceMinute,
  PROMPTS.announceWaitShort,
  PROMPTS.announceWaitHour,
  PROMPTS.announceWaitLong,
]);

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** What the caller hears first after playback number `since`, within `timeoutMs`. */
export async function heardAfter(call: SimCall, since: number, timeoutMs = 6000): Promise<HeardOutcome> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const p of call.playbacks.slice(since)) {
      for (const [prompt, outcome] of ANSWERS) if (p.media.includes(prompt)) return outcome;
      const first = p.media[0] ?? '';
      if (first.startsWith('sound:callback/') && !BACKGROUND.has(first)) return `prompt:${first.slice('sound:callback/'.length)}`;
    }
    if (!call.alive) return 'hung-up';
    if (!call.inStasis && call.eventTypes.includes('StasisEnd')) return 'left-stasis';
    if (Date.now() > deadline) return 'silence';
    await sleep(20);
  }
}

/** A caller in a queue who has heard the callback offer. */
export async function queueCaller(rig: AbuseRig, from: string, opts: { queue?: string; name?: string } = {}): Promise<SimCall> {
  const call = rig.sim.call({ from, name: opts.name, to: `queue:${opts.queue ?? 'support'}` });
  await call.entered(5000);
  await call.waitForPlayback((m) => m === PROMPTS.offer, 8000);
  return call;
}

export async function pressOne(call: SimCall, timeoutMs?: number): Promise<HeardOutcome> {
  const since = call.playbacks.length;
  await call.pressDtmf('1');
  return heardAfter(call, since, timeoutMs);
}

/**
 * Press 2 (unless the plugin already asks for a number), type `digits` and #, and press 1 at the
 * read-back. The result is the plugin's last answer: confirmed, refused, invalid, ...
 */
export async function typeNumber(call: SimCall, digits: string, opts: { pressTwo?: boolean } = {}): Promise<HeardOutcome> {
  if (opts.pressTwo !== false) {
    const since = call.playbacks.length;
    await call.pressDtmf('2');
    const asked = await heardAfter(call, since, 4000);
    if (asked !== 'enter-number') return asked;
  }
  const since = call.playbacks.length;
  await call.pressDtmf(`${digits}#`, { gapMs: 5, durationMs: 20 });
  const heard = await heardAfter(call, since, 6000);
  if (heard !== 'read-back') return heard;
  return pressOne(call);
}

/** A caller to agent Ann's personal number whose phone is not answered, once the owed-callback offer plays. */
export async function directCaller(rig: AbuseRig, from: string): Promise<SimCall> {
  const call = rig.sim.call({ from, to: 'direct:5551000', args: ['direct', '5551000'] });
  await call.entered(5000);
  await call.waitForPlayback((m) => m === PROMPTS.directOffer, 8000);
  return call;
}

export function hangUp(...calls: (SimCall | undefined)[]): void {
  for (const c of calls) if (c?.alive) c.hangup();
}

/** The reasons the plugin gave for refusing on a channel (milestone `callback_refused`). */
export function refusalReasons(rig: AbuseRig, channelId: string): string[] {
  return rig.milestones.filter((m) => m.name === 'callback_refused' && m.data.channelId === channelId).map((m) => String(m.data.reason));
}

/** Callbacks (open or not) stored from these channels or for these numbers (compared as digits), optionally in one queue. */
export async function storedFor(rig: AbuseRig, what: { channelIds?: string[]; numbers?: string[]; queueId?: string }): Promise<number> {
  const rows = await rig
    .db('callback_requests')
    .select<{ customer_number: string; source_channel_id: string | null; queue_id: string }[]>(
      'customer_number',
      'source_channel_id',
      'queue_id',
    );
  const digits = new Set((what.numbers ?? []).map((n) => n.replace(/[^0-9]/g, '')));
  const channels = new Set(what.channelIds ?? []);
  return rows.filter(
    (r) =>
      (what.queueId === undefined || r.queue_id === what.queueId) &&
      ((r.source_channel_id !== null && channels.has(r.source_channel_id)) || digits.has(r.customer_number.replace(/[^0-9]/g, ''))),
  ).length;
}
