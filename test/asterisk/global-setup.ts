import { findAsteriskRuntime } from '../../tools/asterisk-lab/runtime';
import { ensureBuilt } from '../../tools/support/plugin-process';

/**
 * Mocha global fixture (runs once, in mocha's own process, before the parallel workers start):
 * the one-time preparations every lab shares, done here so that workers never race on them on a
 * fresh clone. It unpacks the Asterisk runtime and builds the plugin's dist/ that `npm start` runs. A missing runtime is not an
 * error here: each story then skips, or fails under CI=true, with the reason (lab-suite.ts).
 */
export function mochaGlobalSetup(): void {
  const r = findAsteriskRuntime();
  if (r.ok) ensureBuilt();
}
