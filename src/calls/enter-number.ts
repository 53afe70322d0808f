import { numberPolicyOf } from '../config/config';
import { digitsForSpeech, TimerHandle } from '../domain';
import { createNumberEntry, NumberEntryState, NumberEntryStep, numberEntryConfig, stepNumberEntry } from '../domain/policies';
import { PROMPTS } from './prompts';
import { QueueCaller } from './queue-caller';

/** Silence while typing a number before it counts as '#'. */
const SILENCE_TIMEOUT_MS = 10_000;

/**
 * EnterNumber, part of the callback offer: the caller types the number to be called back on,
 * hears it read back and confirms it. The rules are the domain's number entry; this verb plays
 * its prompts. A confirmed number goes on to the booking (`accepted`); a caller who gives up is
 * told and keeps the place. Music is off while the caller types.
 */
export class EnterNumber {
  private numberEntry: NumberEntryState | undefined;
  private promptPlaybackId: string | undefined;
  private silenceTimer: TimerHandle | undefined;

  constructor(
    private readonly caller: QueueCaller,
    private readonly accepted: (number: string) => Promise<void>,
  ) {}

  async run(): Promise<void> {
    const { caller } = this;
    caller.state = 'entering_number';
    caller.wait.pause();
    await caller.wait.stopPrompts();
    await caller.hold.musicOff();
    caller.log.info('caller enters another number');
    await this.apply(createNumberEntry(numberEntryConfig(numberPolicyOf(caller.queue))));
  }

  async onDigit(digit: string): Promise<void> {
    if (!this.numberEntry) return;
    const playing = this.promptPlaybackId;
    this.promptPlaybackId = undefined;
    // Typing interrupts the prompt (a digits: read-back cannot be stopped; that is fine).
    if (playing) void this.caller.ctx.control.stopPlayback(playing).catch(() => undefined);
    await this.apply(stepNumberEntry(this.numberEntry, { kind: 'digit', digit }));
  }

  kill(): void {
    if (this.silenceTimer) this.caller.ctx.clock.clearTimer(this.silenceTimer);
  }

  private async apply(step: NumberEntryStep): Promise<void> {
    const { caller } = this;
    const { ctx } = caller;
    if (caller.state !== 'entering_number') return;
    this.numberEntry = step.state;
    if (this.silenceTimer) ctx.clock.clearTimer(this.silenceTimer);
    this.silenceTimer = undefined;
    if (step.rejection) caller.log.info('number entry rejected', { rejection: step.rejection });
    if (step.actions.includes('accepted') && step.number) {
      this.numberEntry = undefined;
      await caller.hold.musicOn();
      caller.state = 'waiting';
      await this.accepted(step.number);
      return;
    }
    if (step.actions.includes('give_up')) {
      // Never a crash, never a garbage number: the caller is told and keeps the place.
      this.numberEntry = undefined;
      await caller.playAndWait([PROMPTS.entryGivenUp], 'entry-given-up');
      if (caller.state !== 'entering_number') return;
      caller.state = 'waiting';
      await caller.hold.musicOn();
      caller.wait.next();
      return;
    }
    const media: string[] = [];
    for (const a of step.actions) {
      if (a === 'prompt_invalid') media.push(PROMPTS.invalidNumber);
      else if (a === 'prompt_refused') media.push(PROMPTS.numberRefused);
      else if (a === 'prompt_enter') media.push(PROMPTS.enterNumber);
      else if (a === 'read_back' && step.number)
        media.push(PROMPTS.youEntered, `digits:${digitsForSpeech(step.number)}`, PROMPTS.confirmNumber);
    }
    if (media.length > 0) {
      const id = caller.playbacks.nextId();
      this.promptPlaybackId = id;
      await ctx.control.play(caller.channel.id, media, id, caller.language).catch(() => undefined);
    }
    // No key for a while counts like '#' (or an invalid try when nothing was typed).
    this.silenceTimer = ctx.clock.setTimer(() => {
      if (this.numberEntry) void this.apply(stepNumberEntry(this.numberEntry, { kind: 'timeout' }));
    }, SILENCE_TIMEOUT_MS);
  }
}
