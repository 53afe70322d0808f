import { PROMPTS } from '../../src/calls/prompts';
import type { PlaybackRecord, SimCall } from '../simulator/ari-simulator';
import { FUZZ_TIMING } from './rig';
import { Rng } from './random';

/**
 * The people on the phone in a fuzz scenario: each one presses random keys at random moments
 * (also during the digits a prompt reads out, where Asterisk ignores a stop), hangs up at a random
 * step or stays until the plugin ends the call, and reports dead air: an answered channel in
 * Stasis that hears nothing (no prompt, no music, no other party) for DEAD_AIR_MS.
 */
export const DEAD_AIR_MS = 2500;
/** How long a patient person stays at most; then they hang up, whatever they hear. */
export const PATIENCE_CAP_MS = 3500;
const TICK_MS = 40;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Keys a person may press when they press something. */
export function randomKeys(rng: Rng): string {
  return rng.weighted<() => string>([
    [() => '1', 35],
    [() => '2', 20],
    [() => '#', 8],
    [() => '*', 7],
    [() => String(rng.int(0, 9)), 15],
    [() => '11', 5],
    [() => Array.from({ length: rng.int(2, 12) }, () => String(rng.int(0, 9))).join(''), 10],
  ])();
}

/** When the `digits:`/`number:` items of a playback are read, relative to its start (simulator timings). */
export function digitWindows(media: readonly string[]): { fromMs: number; toMs: number }[] {
  const windows: { fromMs: number; toMs: number }[] = [];
  let at = 0;
  for (const m of media) {
    const spoken = /^(digits|number|characters):(.*)$/.exec(m);
    const ms = spoken ? FUZZ_TIMING.perDigitMs * spoken[2].length : FUZZ_TIMING.defaultSoundMs;
    if (spoken) windows.push({ fromMs: at, toMs: at + ms });
    at += ms;
  }
  return windows;
}

export interface PersonHooks {
  /** Whether the person hears anything from this channel's bridge (music, another party). */
  bridgeAudible(call: SimCall): boolean;
  /**
   * Whether the plugin has put this channel where a caller types (its own quiet bridge, out of the
   * music): silence there is the plugin waiting for keys, up to its entry timeout.
   */
  typing(call: SimCall): boolean;
  deadAir(call: SimCall, silentMs: number): void;
}

/**
 * One person on one channel. `react` is asked about every playback that starts; it may schedule
 * presses. The person hangs up at `hangupAtMs` (from the start), or never (patient: only at the cap).
 */
export class Person {
  private seen = 0;
  private presses: Promise<void> = Promise.resolve();
  private readonly t0 = Date.now();
  private readonly timed: { atMs: number; keys: string }[] = [];
  private silentSince: number | null = null;
  private deadAirReported = false;
  hungUpByPerson = false;
  /** Every key this person has sent, in order: a number they typed is in it, whatever path typed it. */
  pressed = '';
  /** The person's part is over (the channel gone, or they hung up). */
  finished = false;
  /** Settles when the person's part is over (set by whoever starts `run`). */
  done: Promise<void> = Promise.resolve();

  constructor(
    readonly call: SimCall,
    readonly rng: Rng,
    private readonly hooks: PersonHooks,
    readonly hangupAtMs: number | null,
    private readonly react: (p: Person, pb: PlaybackRecord) => void = () => undefined,
  ) {}

  /** Presses `keys` at `atMs` after the person started. */
  at(atMs: number, keys: string): this {
    this.timed.push({ atMs, keys });
    return this;
  }

  /** Presses now (after the presses already under way). */
  press(keys: string): void {
    this.presses = this.presses
      .then(async () => {
        if (!this.call.alive) return;
        this.pressed += keys;
        await this.call.pressDtmf(keys, { durationMs: 30, gapMs: 15 });
      })
      .catch(() => undefined);
  }

  /** Presses `keys` at a random moment while a digits item of `pb` is read (true if it has one). */
  pressDuringDigits(pb: PlaybackRecord, keys: string): boolean {
    const windows = digitWindows(pb.media);
    if (!windows.length || pb.startedAt === null) return false;
    const w = this.rng.pick(windows);
    const at = pb.startedAt + this.rng.int(w.fromMs, Math.max(w.fromMs, w.toMs - 5));
    setTimeout(() => this.press(keys), Math.max(0, at - Date.now()));
    return true;
  }

  /** Plays the person's part until the channel is gone or they hang up. */
  async run(): Promise<void> {
    const cap = this.t0 + (this.hangupAtMs ?? PATIENCE_CAP_MS);
    for (;;) {
      const now = Date.now();
      if (!this.call.alive) break;
      if (now >= cap) {
        this.hungUpByPerson = true;
        this.call.hangup();
        break;
      }
      const pbs = this.call.playbacks;
      for (; this.seen < pbs.length; this.seen++) {
        const pb = pbs[this.seen];
        if (pb.startedAt === null) break;
        this.react(this, pb);
      }
      for (let i = this.timed.length - 1; i >= 0; i--) {
        if (this.timed[i].atMs <= now - this.t0) {
          this.press(this.timed[i].keys);
          this.timed.splice(i, 1);
        }
      }
      this.watchSilence(now, pbs);
      await sleep(TICK_MS);
    }
    this.finished = true;
    await this.presses;
  }

  private watchSilence(now: number, pbs: PlaybackRecord[]): void {
    const c = this.call;
    if (!c.inStasis || c.state !== 'Up') {
      this.silentSince = null;
      return;
    }
    const playing = pbs.some((p) => p.state === 'playing' || p.state === 'continuing' || p.state === 'queued');
    if (playing || c.mohActive || this.hooks.bridgeAudible(c)) {
      this.silentSince = null;
      return;
    }
    // After a farewell heard to its end the call is over for the caller: the plugin hangs up,
    // retrying while Asterisk refuses (the fuzzer: four refused hang-ups after the goodbye, 2.9 s).
    // A call never hung up is still reported, as a channel left up at the scenario's end.
    const last = pbs.at(-1);
    if (last?.finishedAt != null && FAREWELL_PROMPTS.has(last.media.at(-1) ?? '')) {
      this.silentSince = null;
      return;
    }
    this.silentSince ??= now;
    // After a prompt that asks for keys, waiting in silence for them is the plugin's part (up to its entry timeout).
    const asked = (pbs.at(-1)?.media.some((m) => INPUT_PROMPTS.has(m)) ?? false) || this.hooks.typing(c);
    if (!this.deadAirReported && now - this.silentSince >= (asked ? INPUT_WAIT_MS : DEAD_AIR_MS)) {
      this.deadAirReported = true;
      this.hooks.deadAir(c, now - this.silentSince);
    }
  }
}

/** Prompts the plugin ends a call with: nothing more is played after them. */
const FAREWELL_PROMPTS: ReadonlySet<string> = new Set([
  PROMPTS.confirmGoodbye,
  PROMPTS.alreadyBooked,
  PROMPTS.agentUnavailable,
  PROMPTS.noPersonalNumber,
]);

/** Prompts after which the plugin waits, silent, for keys. */
const INPUT_PROMPTS: ReadonlySet<string> = new Set([PROMPTS.enterNumber, PROMPTS.confirmNumber, PROMPTS.guard, PROMPTS.whisperOptions]);
/** enter-number.ts's SILENCE_TIMEOUT_MS, and a margin. */
const INPUT_WAIT_MS = 11_000;

/** Prompts that only keep a waiting caller company: hearing them tells the caller nothing. */
export const BACKGROUND_PROMPTS: ReadonlySet<string> = new Set([
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
