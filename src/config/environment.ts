import fs from 'node:fs';
import { parseEnv } from 'node:util';

/**
 * The only module that reads the process environment. The rest of the plugin gets its settings
 * from AppConfig (config.ts) or from the functions here, so a test or a tool passes an
 * Environment of its own instead of changing process.env.
 */
export type Environment = Readonly<Record<string, string | undefined>>;

export function processEnvironment(): Environment {
  return process.env;
}

/** DIRECT_CALLBACK_CONFIG: the JSON configuration file, when --config does not name one. */
export function configPathFrom(env: Environment = processEnvironment()): string | undefined {
  return env.DIRECT_CALLBACK_CONFIG || undefined;
}

/** DIRECT_CALLBACK_TOKEN: the API token of the command line's agent commands, when --token is not given. */
export function apiTokenFrom(env: Environment = processEnvironment()): string | undefined {
  return env.DIRECT_CALLBACK_TOKEN || undefined;
}

/**
 * Adds the variables of the service's EnvironmentFile (KEY=value lines, as util.parseEnv reads
 * them) to the process environment, so the doctor sees what the service sees; variables already
 * set win. Throws when the file cannot be read.
 */
export function loadEnvironmentFile(file: string): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e });
  }
  for (const [key, value] of Object.entries(parseEnv(text))) if (process.env[key] === undefined) process.env[key] = value;
}
