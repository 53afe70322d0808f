import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../package-root';

/**
 * The languages the plugin has prompts for. The folders are the one source of truth: every
 * `asterisk-config/sounds/<lang>/callback/` is a shipped language, so adding a language is
 * dropping its folder (the same folders are installed into Asterisk), with no list to keep in
 * step in the code.
 */

/** `asterisk-config/sounds` of this checkout, image or installed package. */
export const PROMPT_SOUNDS_DIR = path.join(PACKAGE_ROOT, 'asterisk-config', 'sounds');

/** The `<lang>` of every `<soundsDir>/<lang>/callback/` folder, sorted. */
export function promptLanguagesIn(soundsDir: string): string[] {
  if (!fs.existsSync(soundsDir)) return [];
  return fs
    .readdirSync(soundsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(soundsDir, e.name, 'callback')))
    .map((e) => e.name)
    .sort();
}

let shipped: readonly string[] | undefined;

/** The shipped languages (read once: the folders do not change while the plugin runs). */
export function shippedLanguages(): readonly string[] {
  shipped ??= Object.freeze(promptLanguagesIn(PROMPT_SOUNDS_DIR));
  return shipped;
}
