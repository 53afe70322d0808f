import { AppConfig } from '../config/config';
import { PROMPTS, queueAnnouncement } from '../calls/prompts';
import { shippedLanguages } from '../config/prompt-languages';

/**
 * Every sound the configured plugin can play, as ARI sound ids (`callback/offer`), and the
 * languages they must exist in.
 */

/**
 * The languages prompts are played in: every shipped language (asterisk-config/sounds/<lang>/):
 * a caller's channel may carry any of them, and queues and agents may name them
 * (src/domain/language.ts), so each must be installed on the Asterisk host.
 */
export function promptLanguages(config: AppConfig): string[] {
  const named = [...config.queues.map((q) => q.language), ...config.agents.map((a) => a.language)].filter(
    (l): l is string => typeof l === 'string',
  );
  return [...new Set([...shippedLanguages(), ...named])].sort();
}

/**
 * The digits a read-back speaks (`sound:digits/N` items, see digitSounds in domain/caller-number.ts);
 * `number:` (minutes, positions) uses further files of the same core set.
 */
const CORE_DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => `digits/${d}`);

export interface PromptSet {
  /** The plugin's own prompts (asterisk-config/sounds/<lang>/callback/). */
  plugin: string[];
  /** Asterisk's core sounds the plugin relies on (read-backs of numbers). */
  core: string[];
}

/**
 * All plugin prompts, not only those this config's options reach: they are installed together
 * from one folder, and a prompt left out because an option is off today fails silently the day
 * the option is turned on. Queue announcements depend on the config (`queues[].announcement`).
 */
export function promptSet(config: AppConfig): PromptSet {
  const ids = new Set<string>(Object.values(PROMPTS).map(soundId));
  for (const q of config.queues) for (const media of queueAnnouncement(q.id, q.announcement)) ids.add(soundId(media));
  return { plugin: [...ids], core: CORE_DIGITS };
}

/** `sound:callback/offer` → `callback/offer`. */
export function soundId(media: string): string {
  return media.replace(/^sound:/, '');
}
