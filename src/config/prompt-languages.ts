import fs from 'node:fs';
import path from 'node:path';

/**
 * The languages the plugin has prompts for. The folders are the one source of truth: every
 * `asterisk-config/sounds/<lang>/callback/` is a shipped language, so adding a language is
 * dropping its folder (the same folders are installed into Asterisk), with no list to keep in
 * step in the code.
 */

/** `asterisk-config/sounds` of this checkout or image (this file is src/config/ or dist/src/config/). */
export const PROMPT_SOUNDS_DIR = (() => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'asterisk-config', 'sounds')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'asterisk-config', 'sounds');
})();

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
