import { numberPolicyOf } from '../config/config';
import { digitSounds, TimerHandle } from '../domain';
import { createNumberEntry, NumberEntryState, NumberEntryStep, numberEntryConfig, stepNumberEntry } from '../domain/policies';
import { Playback } from './playback';
import { PROMPTS } from './prompts';
import { CallerVerb, QueueCaller } from './queue-caller';

/** Silence while typing a number before it counts as '#'. */
const SILENCE_TIMEOUT_MS = 10_000;
/** A prompt Asterisk refused (a 500) is asked for once more after this. */
const PROMPT_RETRY_MS = 250;

/**
 * EnterNumber, part of the callback offer: the caller types the number to be called back on,
 * hears it read back and confirms it. The rules are the domain's number entry; this verb plays
 * its prompts. A confirmed number goes on to the booking (`accepted`); a caller who gives up is
 * told and keeps the place. While the caller types it is out of the music (Hold.quiet).
 */
export class EnterNumber implements CallerVerb {
  private numberEntry: NumberEntryState | undefined;
  private prompt: Playback | undefined;
  /**
   * Bumped by each step and by kill: a step that awaited (a prompt, a retry's pause) while a newer
   * step ran, or after the verb was killed, does nothing more.
   */
  private steps = 0;
  private silenceTimer: TimerHandle | undefined;

  constructor(
    private readonly caller: QueueCaller,
    private readonly accepted: (number: string) => Promise<void>,
  ) {}

  async run(): Promise<void> {
    const { caller } = this;
    if (!caller.step('number_entry')) return;
    caller.wait.pause();
    await caller.wait.stopPrompts();
    await caller.hold.quiet();
    caller.log.info('caller enters another number');
    await this.apply(createNumberEntry(numberEntryConfig(numberPolicyOf(caller.queue))));
  }

  async onDigit(digit: string): Promise<void> {
    if (!this.numberEntry) return;
    const playing = this.prompt;
    this.prompt = undefined;
    // Typing interrupts the prompt (the read-back's sound:digits/N items stop at once).
    if (playing) void playing.stop();
    await this.apply(stepNumberEntry(this.numberEntry, { kind: 'digit', digit }));
  }

  /**
   * Plays `media`, asking once more if Asterisk refuses it. False only when both were refused and
   * nothing came meanwhile (a key typed starts its own prompt; the call ending stops it all).
   */
  private async prompted(media: string[], stepNo: number): Promise<boolean> {
    const { caller } = this;
    for (let tries = 0; tries < 2; tries++) {
      if (tries > 0) await new Promise<void>((resolve) => caller.ctx.clock.setTimer(resolve, PROMPT_RETRY_MS));
      if (!this.isCurrent(stepNo)) return true;
      const prompt = (this.prompt = caller.playbacks.create(media, caller.language));
      if (await prompt.start()) return true;
    }
    if (!this.isCurrent(stepNo)) return true;
    this.prompt = undefined;
    return false;
  }

  /** Still this step's turn: no newer step (a key typed), no kill, and the caller still typing. */
  private isCurrent(stepNo: number): boolean {
    return stepNo === this.steps && this.caller.state === 'entering_number';
  }

  /** No timer and no prompt left behind (the caller was connected, or the call is over). */
  async kill(): Promise<void> {
    this.steps++;
    this.numberEntry = undefined;
    if (this.silenceTimer) this.caller.ctx.clock.clearTimer(this.silenceTimer);
    this.silenceTimer = undefined;
    const playing = this.prompt;
    this.prompt = undefined;
    await playing?.stop();
  }

  private async apply(step: NumberEntryStep): Promise<void> {
    const { caller } = this;
    const { ctx } = caller;
    if (caller.state !== 'entering_number') return;
    const stepNo = ++this.steps;
    this.numberEntry = step.state;
    if (this.silenceTimer) ctx.clock.clearTimer(this.silenceTimer);
    this.silenceTimer = undefined;
    if (step.rejection) caller.log.info('number entry rejected', { rejection: step.rejection });
    if (step.actions.includes('accepted') && step.number) {
      this.numberEntry = undefined;
      await caller.hold.backToMusic();
      await this.accepted(step.number);
      return;
    }
    if (step.actions.includes('give_up')) {
      // Never a crash, never a garbage number: the caller is told and keeps the place.
      this.numberEntry = undefined;
      await caller.playAndWait([PROMPTS.entryGivenUp], 'entry-given-up');
      if (!caller.step('back_to_waiting')) return;
      await caller.hold.backToMusic();
      caller.wait.next();
      return;
    }
    const media: string[] = [];
    for (const a of step.actions) {
      if (a === 'prompt_invalid') media.push(PROMPTS.invalidNumber);
      else if (a === 'prompt_refused') media.push(PROMPTS.numberRefused);
      else if (a === 'prompt_enter') media.push(PROMPTS.enterNumber);
      else if (a === 'read_back' && step.number) media.push(PROMPTS.youEntered, ...digitSounds(step.number), PROMPTS.confirmNumber);
    }
    if (media.length > 0 && !(await this.prompted(media, stepNo))) {
      // Refused twice: the caller, out of the music while typing, would wait in silence for a
      // prompt that never comes (the fuzzer). Back to waiting, with music, at the same place.
      caller.log.warn('the number entry prompt was refused twice; the caller waits on');
      this.numberEntry = undefined;
      if (!caller.step('back_to_waiting')) return;
      await caller.hold.backToMusic();
      caller.wait.next();
      return;
    }
    // Hung up during the play: no timer after the call; a key typed meanwhile: its step has its own.
    if (!this.isCurrent(stepNo)) return;
    // No key for a while counts like '#' (or an invalid try when nothing was typed).
    this.silenceTimer = ctx.clock.setTimer(() => {
      if (this.numberEntry) void this.apply(stepNumberEntry(this.numberEntry, { kind: 'timeout' }));
    }, SILENCE_TIMEOUT_MS);
  }
}
