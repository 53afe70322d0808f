import fs from 'node:fs';
import { z } from 'zod';
import { parseOverflowAction } from '../domain/overflow-actions';
import {
  NUMBERING_PLAN_PRESETS,
  NumberPolicyConfig,
  validateNumberPolicy,
  validateOperatingHours,
  withNumberPolicyDefaults,
} from '../domain/policies';
import { CRASH_POINTS, CrashPoint, isCrashPoint } from './crash-points';
import { Environment, processEnvironment } from './environment';
import { PROMPT_SOUNDS_DIR, shippedLanguages } from './prompt-languages';
import { AmiFileConfig, FileConfig, fileSchema, OverflowRuleConfig, QueueConfig } from './schema';

export { DEFAULT_ARI_MAX_CONNECTIONS, DEFAULT_DATABASE_TIMEOUTS } from './schema';
export type { AgentConfig, AmiFileConfig, DirectConfig, FileConfig, OverflowRuleConfig, QueueConfig } from './schema';

/**
 * The one configuration: a JSON file (DIRECT_CALLBACK_CONFIG or --config, shaped by schema.ts)
 * overlaid by environment variables. Invalid configuration stops start-up with a message that
 * names the field, so an administrator never runs with a half-understood setup.
 * Secrets (ARI, AMI and database passwords) come only from the environment or a file it names.
 */

/** Where the plugin logs in to AMI to watch agent presence. */
export interface AmiConfig {
  host: string;
  port: number;
  username: string;
  password: string;
}

export interface AppConfig extends Omit<FileConfig, 'ami'> {
  ari: FileConfig['ari'] & { password: string };
  databaseUrl: string | undefined;
  instanceId: string;
  /** Undefined when no AMI user is configured: presence from AMI is off. */
  ami: AmiConfig | undefined;
  /** The fault harness's crash point (DIRECT_CALLBACK_CRASH_AT); undefined in production. */
  crashAt: CrashPoint | undefined;
}

/** The full number policy of a queue: its plan's preset, then the queue's own fields. */
export function numberPolicyOf(q: Pick<QueueConfig, 'numberPolicy'>): NumberPolicyConfig {
  const p = q.numberPolicy;
  const preset = NUMBERING_PLAN_PRESETS[p.plan];
  return withNumberPolicyDefaults({
    ...preset,
    ...(p.countryCode !== undefined ? { countryCode: p.countryCode } : {}),
    ...(p.nationalPrefix !== undefined ? { nationalPrefix: p.nationalPrefix } : {}),
    ...(p.internationalPrefix !== undefined ? { internationalPrefix: p.internationalPrefix } : {}),
    ...(p.premiumPrefixes !== undefined ? { premiumPrefixes: p.premiumPrefixes } : {}),
    ...(p.nanpRegions !== undefined ? { nanpRegions: p.nanpRegions } : {}),
    allow: p.allow,
    deny: p.deny,
    denyInternational: p.denyInternational,
    denyPremium: p.denyPremium,
    maxPendingPerNumber: p.maxPendingPerNumber,
  });
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map(
      (i) =>
        `${
          i.path.length
            ? i.path
                .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
                .join('')
                .replace(/^\./, '')
            : '(root)'
        }: ${i.message}`,
    )
    .join('; ');
}

/** The content of the file a `*_FILE` variable names (trimmed), or undefined when it names none. */
function secretFromFile(env: Environment, variable: string): string | undefined {
  const file = env[variable];
  if (!file) return undefined;
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new ConfigError(`${variable}: cannot read ${file}: ${(e as Error).message}`);
  }
}

/**
 * DATABASE_URL, or DATABASE_URL_FILE: a file holding the URL, for a database that needs a
 * password (the file keeps it out of the environment, like ARI_PASSWORD_FILE).
 */
export function databaseUrlFrom(env: Environment = processEnvironment()): string | undefined {
  return env.DATABASE_URL || secretFromFile(env, 'DATABASE_URL_FILE');
}

/**
 * The AMI login: the file's `ami` overlaid by AMI_HOST, AMI_PORT and AMI_USER; the password from
 * AMI_PASSWORD or AMI_PASSWORD_FILE (a file holding only the secret; one trailing newline is
 * ignored). Errors name the path of the password file, never its content.
 */
function amiFrom(file: AmiFileConfig, env: Environment): AmiConfig | undefined {
  const username = env.AMI_USER?.trim() || file.user;
  if (!username) return undefined;
  const host = env.AMI_HOST?.trim() || file.host;
  const portText = env.AMI_PORT?.trim();
  const port = portText ? Number(portText) : file.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new ConfigError(`AMI_PORT must be a TCP port, got ${JSON.stringify(portText)}`);
  let password = env.AMI_PASSWORD;
  if (password === undefined || password === '') {
    const passwordFile = env.AMI_PASSWORD_FILE?.trim();
    if (!passwordFile) throw new ConfigError('an AMI user is set (AMI_USER or ami.user) but neither AMI_PASSWORD nor AMI_PASSWORD_FILE is');
    try {
      password = fs.readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new ConfigError(`AMI_PASSWORD_FILE ${passwordFile} cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (!password) throw new ConfigError(`AMI_PASSWORD_FILE ${passwordFile} is empty`);
  }
  return { host, port, username, password };
}

/** DIRECT_CALLBACK_CRASH_AT: a misspelt point would make a fault run pass without crashing. */
function crashPointFrom(env: Environment): CrashPoint | undefined {
  const name = env.DIRECT_CALLBACK_CRASH_AT;
  if (!name) return undefined;
  if (!isCrashPoint(name)) throw new ConfigError(`DIRECT_CALLBACK_CRASH_AT: no crash point '${name}' (one of ${CRASH_POINTS.join(', ')})`);
  return name;
}

/** A language must have prompts, or its callers would hear silence where the prompts should be. */
function checkShippedLanguage(field: string, language: string): void {
  const shipped = shippedLanguages();
  if (shipped.includes(language)) return;
  throw new ConfigError(
    `invalid configuration: ${field}: no prompts for language '${language}' (shipped: ${shipped.join(', ') || 'none'}; one folder each in ${PROMPT_SOUNDS_DIR})`,
  );
}

/** Every action parses, moves go to another configured queue, and the ladder does not mix styles. */
function checkOverflowActions(field: string, rule: OverflowRuleConfig, queueIds: ReadonlySet<string>, ownQueue: string | undefined): void {
  if (!rule.actions) return;
  if (rule.maxWaiting !== undefined || rule.maxEstimatedWaitSec !== undefined || rule.outOfHours !== undefined) {
    throw new ConfigError(
      `invalid configuration: ${field}: give either actions or maxWaiting/maxEstimatedWaitSec/outOfHours (the latter mean one callback step)`,
    );
  }
  rule.actions.forEach((step, j) => {
    const parsed = parseOverflowAction(step.action);
    if (!parsed.ok) throw new ConfigError(`invalid configuration: ${field}.actions[${j}].action: ${parsed.error}`);
    if (parsed.action.kind === 'queue' && (!queueIds.has(parsed.action.queueId) || parsed.action.queueId === ownQueue)) {
      throw new ConfigError(
        `invalid configuration: ${field}.actions[${j}].action: '${parsed.action.queueId}' is not another configured queue`,
      );
    }
  });
}

/** Parse and check a configuration object; throws ConfigError naming the bad field(s). */
export function parseConfig(raw: unknown, env: Environment = {}): AppConfig {
  const parsed = fileSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(`invalid configuration: ${describeIssues(parsed.error)}`);
  const file = parsed.data;
  const ari = { ...file.ari };
  if (env.ARI_URL) ari.url = env.ARI_URL;
  if (env.ARI_USER) ari.user = env.ARI_USER;
  if (env.ARI_APP) ari.app = env.ARI_APP;
  const password = env.ARI_PASSWORD || secretFromFile(env, 'ARI_PASSWORD_FILE');
  if (!password) throw new ConfigError('ari.password: set ARI_PASSWORD or ARI_PASSWORD_FILE (never in the config file)');

  const queueIds = new Set<string>();
  for (const [i, q] of file.queues.entries()) {
    if (queueIds.has(q.id)) throw new ConfigError(`invalid configuration: queues[${i}].id: duplicate queue id '${q.id}'`);
    queueIds.add(q.id);
  }
  for (const [i, q] of file.queues.entries()) {
    checkOverflowActions(`queues[${i}].overflow`, q.overflow, queueIds, q.id);
    for (const err of validateNumberPolicy(numberPolicyOf(q)))
      throw new ConfigError(`invalid configuration: queues[${i}].numberPolicy: ${err}`);
    if (q.hours)
      for (const err of validateOperatingHours(q.hours)) throw new ConfigError(`invalid configuration: queues[${i}].hours: ${err}`);
    if (q.language !== undefined) checkShippedLanguage(`queues[${i}].language`, q.language);
  }
  for (const [name, route] of Object.entries(file.routes))
    checkOverflowActions(`routes.${name}.overflow`, route.overflow, queueIds, undefined);
  const agentIds = new Set<string>();
  for (const [i, a] of file.agents.entries()) {
    if (agentIds.has(a.id)) throw new ConfigError(`invalid configuration: agents[${i}].id: duplicate agent id '${a.id}'`);
    agentIds.add(a.id);
    checkShippedLanguage(`agents[${i}].language`, a.language);
    for (const [j, q] of a.queues.entries()) {
      if (!queueIds.has(q.id)) throw new ConfigError(`invalid configuration: agents[${i}].queues[${j}].id: unknown queue '${q.id}'`);
    }
  }
  if (file.direct.fallbackQueueId !== undefined && !queueIds.has(file.direct.fallbackQueueId)) {
    throw new ConfigError(`invalid configuration: direct.fallbackQueueId: unknown queue '${file.direct.fallbackQueueId}'`);
  }
  if (file.direct.numberPolicy !== undefined)
    for (const err of validateNumberPolicy(numberPolicyOf({ numberPolicy: file.direct.numberPolicy })))
      throw new ConfigError(`invalid configuration: direct.numberPolicy: ${err}`);
  const numbers = new Set<string>();
  for (const [i, a] of file.agents.entries()) {
    if (a.personalNumber === undefined) continue;
    if (numbers.has(a.personalNumber))
      throw new ConfigError(`invalid configuration: agents[${i}].personalNumber: '${a.personalNumber}' is already another agent's`);
    numbers.add(a.personalNumber);
  }
  return {
    ...file,
    ari: { ...ari, password },
    logLevel: (env.LOG_LEVEL as FileConfig['logLevel'] | undefined) ?? file.logLevel,
    databaseUrl: databaseUrlFrom(env) ?? file.databaseUrl,
    instanceId: env.INSTANCE_ID ?? file.instanceId ?? `${process.pid}`,
    ami: amiFrom(file.ami, env),
    crashAt: crashPointFrom(env),
  };
}

/** Load the file named by `path` (JSON) and the environment (the process's unless given). */
export function loadConfig(path: string | undefined, env: Environment = processEnvironment()): AppConfig {
  let raw: unknown = {};
  if (path) {
    let text: string;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (e) {
      throw new ConfigError(`config file ${path}: ${(e as Error).message}`);
    }
    try {
      raw = JSON.parse(text) as unknown;
    } catch (e) {
      throw new ConfigError(`config file ${path}: not valid JSON: ${(e as Error).message}`);
    }
  }
  return parseConfig(raw, env);
}
