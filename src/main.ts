import { parseCommandLine } from './cli/options';
import { configPathFrom } from './config/environment';
import { runPlugin } from './run-plugin';

/** `npm start` / `node dist/src/main.js`: run the plugin against a real Asterisk (README "Install on a Debian host"). */
const COMMAND = {
  usage: 'node dist/src/main.js',
  summary: 'Run the direct-callback plugin (ARI_URL, ARI_PASSWORD_FILE, DATABASE_URL from the environment).',
  options: {
    config: { type: 'string', valueName: 'file', description: 'the JSON configuration (default $DIRECT_CALLBACK_CONFIG)' },
  },
} as const;

const options = parseCommandLine('direct-callback', COMMAND);
void runPlugin(options.config ?? configPathFrom()).catch((e: unknown) => {
  process.stderr.write(`direct-callback: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
