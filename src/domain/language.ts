/**
 * Which language a call's prompts play in. The plugin passes it with every playback (ARI `play`
 * `lang`), so the prompts and the digits read after them (`digits:`, `number:`) always agree,
 * whatever language the channel itself carries.
 */

/** The language every installation has prompts for, and the last resort. */
export const DEFAULT_LANGUAGE = 'en';

export interface LanguageChoice {
  /**
   * The language the person on the line asked for: a caller's channel language (set by the
   * dialplan's `CHANNEL(language)` or the endpoint), or the one stored with a callback.
   */
  preferred: string | null | undefined;
  /** The queue's configured language, used when the preferred one has no prompts. */
  queueLanguage?: string | undefined;
  /** The languages that have prompts (one folder each). */
  available: readonly string[];
}

/**
 * The preferred language when it has prompts, else the queue's, else English.
 *
 * A regional variant falls back to its base language (`es_MX` or `es-419` play `es`), as Asterisk
 * itself does when it looks for a sound file, so a Mexican channel is not answered in English
 * just because only the `es` folder exists.
 */
export function choosePromptLanguage(choice: LanguageChoice): string {
  const { preferred, queueLanguage, available } = choice;
  const fromPreferred = matchAvailable(preferred, available);
  if (fromPreferred !== undefined) return fromPreferred;
  const fromQueue = matchAvailable(queueLanguage, available);
  if (fromQueue !== undefined) return fromQueue;
  return DEFAULT_LANGUAGE;
}

function matchAvailable(language: string | null | undefined, available: readonly string[]): string | undefined {
  const wanted = language?.trim();
  if (!wanted) return undefined;
  if (available.includes(wanted)) return wanted;
  const base = wanted.split(/[_-]/)[0];
  return base !== undefined && base !== wanted && available.includes(base) ? base : undefined;
}
