import fs from 'node:fs';
import path from 'node:path';
import { AgentConfig, AppConfig, ConfigError, loadConfig } from '../config/config';
import { Environment } from '../config/environment';
import { PACKAGE_ROOT } from '../package-root';
import { sqlMigrationNames } from '../store/database';
import { Dialplan, DialplanSource, DialplanUnavailable } from './ami-dialplan';
import { AriHttp, AriUnreachable } from './ari-http';
import { DatabaseProbe, SchemaState, schemaDifference } from './database-probe';
import { dialTarget, extensionMatches, FeatureCode, HANDLED_ENTRY_KINDS, hasVariable, stasisLines } from './dialplan-rules';
import { featureCodeAgent, isFeatureCodeKind } from '../domain/feature-codes';
import { PromptSet } from './prompt-inventory';
import { CheckResult, failed, passed, SkippedCheck } from './report';

/**
 * The doctor's checks, one function each, over narrow inputs (an AriHttp, a DatabaseProbe, a
 * Dialplan, the config), so each runs alone against the simulator, a real Asterisk or a stub.
 * Each says what it found and, when it fails, what to change.
 */

export type CheckOutcome = CheckResult | SkippedCheck;

export function isSkipped(o: CheckOutcome): o is SkippedCheck {
  return 'reason' in o;
}

/** Where Debian's Asterisk (and the sample configuration) keeps sounds: astdatadir/sounds. */
const ASTERISK_SOUNDS_DIR = '/var/lib/asterisk/sounds';

// ---- config ---------------------------------------------------------------------------------

export function checkConfig(configPath: string | undefined, env: Environment): { check: CheckResult; config?: AppConfig } {
  const source = configPath ?? '(no config file: defaults and environment only)';
  try {
    const config = loadConfig(configPath, env);
    return {
      check: passed(
        'config',
        `${source}: ${config.queues.length} queue(s), ${config.agents.length} agent(s), Stasis app '${config.ari.app}'`,
      ),
      config,
    };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { check: failed('config', e.message, configFix(e.message, configPath)) };
  }
}

function configFix(message: string, configPath: string | undefined): string {
  if (/^(AMI_|an AMI user)/.test(message))
    return 'set AMI_USER with AMI_PASSWORD_FILE (a file holding the manager.conf secret), or unset AMI_USER to skip the dialplan checks';
  if (configPath)
    return `correct the field named above in ${configPath} (example: docker/direct-callback.example.json in the package); secrets come from ARI_PASSWORD_FILE, never the file`;
  return 'pass --config FILE or set DIRECT_CALLBACK_CONFIG, and set ARI_PASSWORD_FILE (see README "Install on a Debian host")';
}

// ---- database -------------------------------------------------------------------------------

export async function checkDatabase(
  databaseUrl: string | undefined,
  probe: (url: string) => DatabaseProbe,
): Promise<{ check: CheckResult; state?: SchemaState }> {
  if (!databaseUrl)
    return {
      check: failed(
        'database',
        'DATABASE_URL is not set',
        'set DATABASE_URL, e.g. postgres://direct-callback@%2Fvar%2Frun%2Fpostgresql/direct_callback (local socket, peer login), or DATABASE_URL_FILE (a file holding a URL with a password)',
      ),
    };
  const p = probe(databaseUrl);
  try {
    const state = await p.read();
    return { check: passed('database', `PostgreSQL ${state.serverVersion} at ${p.description}`), state };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const fix = /password authentication failed|no password supplied|peer authentication failed|role .* does not exist/i.test(message)
      ? 'the role in DATABASE_URL cannot log in: create it (createuser), use the local socket with a role named after the service user, or put a URL with the password in DATABASE_URL_FILE'
      : /database .* does not exist/i.test(message)
        ? 'create the database: sudo -u postgres createdb -O <role> <name>'
        : 'start PostgreSQL and check host, port and socket in DATABASE_URL (pg_lsclusters shows the local clusters)';
    return { check: failed('database', `cannot use ${p.description}: ${message}`, fix) };
  }
}

export function checkSchema(state: SchemaState, shipped: readonly string[] = sqlMigrationNames()): CheckResult {
  const { pending, unknown } = schemaDifference(state.applied, shipped);
  if (unknown.length > 0) {
    return failed(
      'schema',
      `the database has schema changes this version does not ship: ${unknown.join(', ')}`,
      'a newer version of the plugin ran on this database: install that version again (the schema is forward-only)',
    );
  }
  if (pending.length > 0) {
    return failed(
      'schema',
      `${pending.length} of ${shipped.length} schema files not applied: ${pending.join(', ')}`,
      'run `direct-callback migrate` with the same DATABASE_URL (the plugin also applies them when it starts, if its role may create tables)',
    );
  }
  return passed('schema', `current (${shipped.length} schema files applied)`);
}

// ---- ARI ------------------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reachable with these credentials, and what Asterisk it is. A 401 and a wrong URL get different fixes. */
export async function checkAri(ari: AriHttp, user: string): Promise<CheckResult> {
  const at = ari.baseUrl;
  const urlFix = /\/ari\/?$/.test(new URL(at).pathname)
    ? `ARI_URL ends with /ari: give the server root instead, e.g. ${at.replace(/\/ari\/?$/, '')} (the plugin adds /ari)`
    : 'ARI_URL must be the root of Asterisk\'s HTTP server, e.g. http://127.0.0.1:8088 (http.conf: enabled = yes, bindaddr, bindport), with ARI on (ari.conf: enabled = yes; asterisk -rx "ari show status")';
  let answer;
  try {
    answer = await ari.get('/asterisk/info');
  } catch (e) {
    if (!(e instanceof AriUnreachable)) throw e;
    const why =
      e.reason === 'refused' ? 'nothing listens there' : e.reason === 'unknown-host' ? 'the host name does not resolve' : e.message;
    return failed(
      'ari',
      `cannot reach ARI at ${at}: ${why}`,
      e.reason === 'unknown-host'
        ? 'correct the host in ARI_URL'
        : `start Asterisk and check that its HTTP server listens where ARI_URL points (asterisk -rx "http show status"); ${urlFix}`,
    );
  }
  if (answer.status === 401) {
    return failed(
      'ari',
      `ARI at ${at} refused user '${user}' (401 Authentication required)`,
      `ARI_PASSWORD_FILE (or ARI_PASSWORD) must hold the password of the [${user}] section of /etc/asterisk/ari.conf, and ARI_USER must name that section; after editing ari.conf: asterisk -rx "module reload res_ari.so"`,
    );
  }
  const system = isRecord(answer.json) && isRecord(answer.json.system) ? answer.json.system : undefined;
  if (answer.status === 200 && typeof system?.version === 'string')
    return passed('ari', `Asterisk ${system.version} at ${at}, user '${user}'`);
  if (answer.status === 404 || answer.status === 200)
    return failed(
      'ari',
      `no ARI at ${at} (GET /ari/asterisk/info answered ${answer.status}${answer.status === 200 ? ' without Asterisk info' : ''})`,
      urlFix,
    );
  return failed(
    'ari',
    `ARI at ${at} answered ${answer.status} to GET /ari/asterisk/info`,
    "Asterisk answers this while it starts up: wait and run doctor again; otherwise see Asterisk's log",
  );
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The folder of a language's prompts shipped with this package. */
export function shippedPromptDir(language: string): string {
  return path.join(PACKAGE_ROOT, 'asterisk-config', 'sounds', language, 'callback');
}

/**
 * Every prompt the config can play exists on the Asterisk host in every language (GET /sounds/{id}
 * lists the languages a sound exists in, read from the disk at each request). A missing prompt does not stop a call: the playback
 * just fails and the caller hears silence, so only this check finds it before a caller does.
 */
export async function checkPrompts(ari: AriHttp, prompts: PromptSet, languages: readonly string[]): Promise<CheckResult> {
  const ids = [...prompts.plugin, ...prompts.core];
  const missing: { id: string; languages: string[] }[] = [];
  const errors: string[] = [];
  await mapLimit(ids, 8, async (id) => {
    const answer = await ari.get(`/sounds/${encodeURIComponent(id)}`);
    if (answer.status === 404) {
      missing.push({ id, languages: [...languages] });
    } else if (answer.status !== 200 || !isRecord(answer.json) || !Array.isArray(answer.json.formats)) {
      errors.push(`${id}: ${answer.status}`);
    } else {
      const have = new Set(answer.json.formats.filter(isRecord).map((f) => f.language));
      const lacking = languages.filter((l) => !have.has(l));
      if (lacking.length > 0) missing.push({ id, languages: lacking });
    }
  });
  if (errors.length > 0)
    return failed('prompts', `ARI did not answer GET /sounds/{id} as expected: ${errors.slice(0, 5).join(', ')}`, "see Asterisk's log");
  const where = `in ${languages.join(', ')}`;
  if (missing.length === 0)
    return passed('prompts', `${prompts.plugin.length} prompts and ${prompts.core.length} core digits present ${where}`);
  const fixes: string[] = [];
  for (const language of languages) {
    const lacking = missing.filter((m) => m.languages.includes(language)).map((m) => m.id);
    const plugin = lacking.filter((id) => prompts.plugin.includes(id));
    const shipped = plugin.filter((id) => fs.existsSync(path.join(PACKAGE_ROOT, 'asterisk-config', 'sounds', language, `${id}.wav`)));
    const notShipped = plugin.filter((id) => !shipped.includes(id));
    const dest = `${ASTERISK_SOUNDS_DIR}/${language}/callback`;
    if (shipped.length > 0)
      fixes.push(
        `sudo install -d -o asterisk -g asterisk ${dest} && sudo install -m 0644 -o asterisk -g asterisk ${shippedPromptDir(language)}/*.wav ${dest}/`,
      );
    if (notShipped.length > 0)
      fixes.push(
        `not shipped in ${language}: ${notShipped.join(', ')}: record each as ${ASTERISK_SOUNDS_DIR}/${language}/<id>.wav (8 kHz mono, see asterisk-config/sounds/README.md), or set queues[].announcement to a sound that exists`,
      );
    if (lacking.some((id) => prompts.core.includes(id)))
      fixes.push(
        `install Asterisk's core sounds for ${language} in ${ASTERISK_SOUNDS_DIR}/${language}/ (e.g. asterisk-core-sounds-${language}-wav): read-backs of numbers use digits/0-9`,
      );
  }
  // Asterisk's GET /sounds/{id} and `core show sound` look at the sounds folder each time, so a
  // file added or removed counts at once; no restart or reload is needed.
  const first = missing.map((m) => m.id).sort((a, b) => ids.indexOf(a) - ids.indexOf(b))[0] ?? '';
  fixes.push(`Asterisk sees the files at once (no restart): asterisk -rx "core show sound ${first}" lists the languages it has`);
  // Sounds in the order the plugin lists them; those missing in several languages first, as they matter most.
  const order = (id: string): number => ids.indexOf(id);
  missing.sort((a, b) => b.languages.length - a.languages.length || order(a.id) - order(b.id));
  const shown = missing.slice(0, 12).map((m) => `${m.id} (${m.languages.join(', ')})`);
  const more = missing.length > shown.length ? `, and ${missing.length - shown.length} more` : '';
  return failed('prompts', `${missing.length} sound(s) missing on the Asterisk host: ${shown.join(', ')}${more}`, fixes.join('\n'));
}

interface AriEndpoint {
  technology: string;
  resource: string;
  state?: string;
}

async function listEndpoints(ari: AriHttp): Promise<AriEndpoint[] | CheckResult> {
  const answer = await ari.get('/endpoints');
  if (answer.status !== 200 || !Array.isArray(answer.json))
    return failed('endpoints', `GET /ari/endpoints answered ${answer.status}`, "see Asterisk's log");
  return answer.json.filter(isRecord).map((e) => ({
    technology: String(e.technology),
    resource: String(e.resource),
    ...(typeof e.state === 'string' ? { state: e.state } : {}),
  }));
}

function findEndpoint(list: readonly AriEndpoint[], technology: string, resource: string): AriEndpoint | undefined {
  // Channel technologies are case-insensitive in dial strings (pjsip/1001 dials PJSIP/1001); endpoint names are not.
  return list.find((e) => e.technology.toLowerCase() === technology.toLowerCase() && e.resource === resource);
}

function knownOf(list: readonly AriEndpoint[], technology: string): string {
  const names = list.filter((e) => e.technology.toLowerCase() === technology.toLowerCase()).map((e) => e.resource);
  return names.length === 0
    ? `no ${technology} endpoints at all`
    : `${technology} endpoints: ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''}`;
}

/** Every agent's phone exists as an endpoint (GET /endpoints): a typo there means that agent is never rung. */
export async function checkAgentEndpoints(ari: AriHttp, agents: readonly AgentConfig[]): Promise<CheckResult> {
  const list = await listEndpoints(ari);
  if (!Array.isArray(list)) return { ...list, name: 'agent-endpoints' };
  const wrong: string[] = [];
  const offline: string[] = [];
  agents.forEach((a, i) => {
    const slash = a.endpoint.indexOf('/');
    const technology = a.endpoint.slice(0, slash);
    const found = findEndpoint(list, technology, a.endpoint.slice(slash + 1));
    if (!found) wrong.push(`agents[${i}] ${a.name}: ${a.endpoint} does not exist (${knownOf(list, technology)})`);
    else if (found.state === 'offline') offline.push(a.endpoint);
  });
  if (wrong.length > 0)
    return failed(
      'agent-endpoints',
      wrong.join('; '),
      'correct agents[].endpoint in the config, or define the endpoint in pjsip.conf (asterisk -rx "pjsip show endpoints" lists them)',
    );
  return passed(
    'agent-endpoints',
    `all ${agents.length} agent endpoint(s) exist${offline.length > 0 ? ` (offline right now: ${offline.join(', ')})` : ''}`,
  );
}

/** The customer leg's way out: the endpoint of `callback.dialTemplate`, or its dialplan context. */
export async function checkTrunk(ari: AriHttp, template: string, dialplan: Dialplan | undefined): Promise<CheckOutcome> {
  const target = dialTarget(template);
  if (target.kind === 'unknown')
    return { name: 'trunk', reason: `callback.dialTemplate '${template}' names no fixed endpoint or context to look for` };
  if (target.kind === 'local') {
    if (!dialplan)
      return {
        name: 'trunk',
        reason: `callback.dialTemplate dials through the dialplan context '${target.context}', which needs AMI to check`,
      };
    return dialplan.priorities.some((p) => p.context === target.context)
      ? passed('trunk', `callback.dialTemplate dials through the dialplan context '${target.context}', which exists`)
      : failed(
          'trunk',
          `callback.dialTemplate '${template}' dials through the context '${target.context}', which is not in the dialplan`,
          `add [${target.context}] to extensions.conf (the sample has one) and run asterisk -rx "dialplan reload", or correct callback.dialTemplate`,
        );
  }
  const list = await listEndpoints(ari);
  if (!Array.isArray(list)) return { ...list, name: 'trunk' };
  const name = `${target.technology}/${target.resource}`;
  return findEndpoint(list, target.technology, target.resource)
    ? passed('trunk', `callback.dialTemplate '${template}' dials through ${name}, which exists`)
    : failed(
        'trunk',
        `callback.dialTemplate '${template}' dials through ${name}, which does not exist (${knownOf(list, target.technology)})`,
        'name your provider\'s endpoint from pjsip.conf in callback.dialTemplate (asterisk -rx "pjsip show endpoints"), or define that endpoint',
      );
}

/**
 * The Stasis app name is free: Asterisk gives the app to the latest WebSocket that subscribes to
 * it, so two plugins on one name steal each other's calls. GET /applications lists the apps
 * Asterisk knows. It keeps listing an app whose WebSocket is gone while channels are still in it,
 * so a plugin stopped a moment ago with calls inside shows up as well.
 * `expectRunning`: the plugin is meant to be running, so the app must be listed instead.
 */
export async function checkStasisApp(ari: AriHttp, app: string, expectRunning: boolean): Promise<CheckResult> {
  const answer = await ari.get('/applications');
  if (answer.status !== 200 || !Array.isArray(answer.json))
    return failed('stasis-app', `GET /ari/applications answered ${answer.status}`, "see Asterisk's log");
  const listed = answer.json.some((a) => isRecord(a) && a.name === app);
  if (expectRunning) {
    return listed
      ? passed('stasis-app', `Stasis app '${app}' is registered (by the running plugin)`)
      : failed(
          'stasis-app',
          `Stasis app '${app}' is not registered: no plugin is connected`,
          'start the plugin (systemctl start direct-callback) and read its log (journalctl -u direct-callback -e)',
        );
  }
  return listed
    ? failed(
        'stasis-app',
        `Stasis app '${app}' is already registered: another connection holds it (a second one would silently take its calls over)`,
        `if it is this installation's service, run doctor with --running (or stop it first); otherwise stop the other plugin, or give this one its own name (ARI_APP) and its own Stasis(${app},…) lines`,
      )
    : passed('stasis-app', `Stasis app '${app}' is free`);
}

// ---- dialplan (AMI) -------------------------------------------------------------------------

export async function readDialplan(source: DialplanSource, user: string): Promise<{ check: CheckResult; dialplan?: Dialplan }> {
  try {
    const dialplan = await source.read();
    return { check: passed('ami', `${source.description}: dialplan read (${dialplan.priorities.length} priorities)`), dialplan };
  } catch (e) {
    if (!(e instanceof DialplanUnavailable)) throw e;
    const fix = {
      'login-failed': `AMI_PASSWORD_FILE must hold the secret of [${user}] in /etc/asterisk/manager.conf, and AMI_USER must name that section (asterisk -rx "manager reload" after editing)`,
      unreachable: 'start Asterisk and check manager.conf: enabled = yes, bindaddr and port matching AMI_HOST and AMI_PORT',
      'not-permitted': `give [${user}] in manager.conf "write = reporting" (ShowDialPlan needs config or reporting), then asterisk -rx "manager reload"`,
      failed: "see Asterisk's log",
    }[e.reason];
    return { check: failed('ami', `${source.description}: ${e.message}`, fix) };
  }
}

const FEATURE_KINDS_TEXT = HANDLED_ENTRY_KINDS.filter((k) => isFeatureCodeKind(k)).join('|');

function at(where: { context: string; extension: string }): string {
  return `${where.extension}@${where.context}`;
}

/**
 * Each configured queue, personal number and feature code reaches Stasis(<app>,…) with the
 * arguments the plugin expects. "Reaches" means an extension runs that Stasis line; whether
 * callers land in its context is decided by the endpoints' `context=` in pjsip.conf, which AMI's
 * dialplan listing does not show.
 */
export function checkDialplanEntries(dialplan: Dialplan, config: AppConfig, featureCodes: readonly FeatureCode[]): CheckResult {
  const app = config.ari.app;
  const lines = stasisLines(dialplan);
  const problems: string[] = [];
  const fixes: string[] = [];
  for (const q of config.queues) {
    if (lines.some((l) => l.app === app && l.args[0] === 'queue' && l.args[1] === q.id)) continue;
    const elsewhere = lines.find((l) => l.args[0] === 'queue' && l.args[1] === q.id);
    if (elsewhere) {
      problems.push(`queue ${q.id} goes to Stasis(${elsewhere.app},…) at ${at(elsewhere.where)}, but this plugin's app is '${app}'`);
      fixes.push(`make the app names equal: Stasis(${app},queue,${q.id}) in extensions.conf, or ARI_APP=${elsewhere.app}`);
    } else {
      problems.push(`no extension sends queue ${q.id} to Stasis(${app},queue,${q.id})`);
      fixes.push(`exten => <queue number>,1,Stasis(${app},queue,${q.id})  (see asterisk-config/extensions.conf, [callback-entry])`);
    }
  }
  for (const a of config.agents) {
    const number = a.personalNumber;
    if (number === undefined) continue;
    const reaching = lines.filter((l) => l.app === app && l.args[0] === 'direct' && extensionMatches(l.where.extension, number));
    const own = reaching.find((l) => {
      const target = l.args[1] ?? '';
      return target === a.id || target === number || hasVariable(target);
    });
    if (own) continue;
    const other = reaching[0];
    if (other) {
      problems.push(
        `personal number ${number} of agent ${a.id} reaches Stasis(${app},direct,${other.args[1] ?? ''}) at ${at(other.where)}, another agent's`,
      );
      fixes.push(`exten => ${number},1,Stasis(${app},direct,${a.id})`);
    } else {
      problems.push(`personal number ${number} of agent ${a.id} reaches no Stasis(${app},direct,…)`);
      fixes.push(`exten => ${number},1,Stasis(${app},direct,${a.id})  (in the context the provider's calls arrive in)`);
    }
  }
  for (const f of featureCodes) {
    if (lines.some((l) => l.app === app && l.args[0] === f.kind && extensionMatches(l.where.extension, f.code))) continue;
    problems.push(`feature code ${f.code} reaches no Stasis(${app},${f.kind},…)`);
    fixes.push(`exten => ${f.code},1,Stasis(${app},${f.kind},\${CHANNEL(endpoint)})  (in the agents' context)`);
  }
  const counts = `${config.queues.length} queue(s), ${config.agents.filter((a) => a.personalNumber !== undefined).length} personal number(s), ${featureCodes.length} feature code(s)`;
  if (problems.length > 0) return failed('dialplan', problems.join('; '), `${fixes.join('\n')}\nthen asterisk -rx "dialplan reload"`);
  return passed('dialplan', `${counts} reach Stasis(${app},…)`);
}

/**
 * Every Stasis(<app>,…) line in the dialplan is one the plugin handles: a queue it has, an agent
 * or personal number it knows, a route it has, a feature code naming an agent (or a variable such
 * as the sample's ${CHANNEL(endpoint)}). Any other call is hung up by the plugin (or, for a route,
 * gets the queue's own rule; for a feature code, the agent hears that it failed), which only a
 * caller would otherwise notice.
 */
export function checkDialplanArguments(dialplan: Dialplan, config: AppConfig): CheckResult {
  const app = config.ari.app;
  const lines = stasisLines(dialplan).filter((l) => l.app === app);
  const problems: string[] = [];
  const queues = new Set(config.queues.map((q) => q.id));
  const directTargets = new Set(config.agents.flatMap((a) => [a.id, ...(a.personalNumber !== undefined ? [a.personalNumber] : [])]));
  for (const l of lines) {
    const [kind = '', target = '', ...options] = l.args;
    const where = at(l.where);
    if (!(HANDLED_ENTRY_KINDS as readonly string[]).includes(kind)) {
      problems.push(
        `${where}: Stasis(${app},${l.args.join(',')}): the plugin handles ${HANDLED_ENTRY_KINDS.join(', ')} only, and hangs up '${kind}' calls`,
      );
      continue;
    }
    if (hasVariable(target)) continue;
    if (kind === 'queue' && !queues.has(target)) problems.push(`${where}: queue '${target}' is not in the config (queues[].id)`);
    if (kind === 'direct' && !directTargets.has(target))
      problems.push(`${where}: '${target}' is neither an agent id nor a personal number in the config`);
    if (isFeatureCodeKind(kind) && !featureCodeAgent(config.agents, target))
      problems.push(
        `${where}: '${target}' is neither an agent's endpoint nor an agent id in the config (pass \${CHANNEL(endpoint)}, the phone's own endpoint)`,
      );
    for (const o of options) {
      const route = /^route=(.+)$/.exec(o)?.[1];
      if (route !== undefined && !hasVariable(route) && !(route in config.routes))
        problems.push(`${where}: route '${route}' is not in the config's routes (the queue's own rule applies)`);
    }
  }
  if (problems.length > 0) {
    return failed(
      'dialplan-arguments',
      problems.join('; '),
      `correct those lines in extensions.conf (or the config): the plugin takes Stasis(${app},queue|direct|${FEATURE_KINDS_TEXT},…) (see asterisk-config/extensions.conf); then asterisk -rx "dialplan reload"`,
    );
  }
  return passed('dialplan-arguments', `all ${lines.length} Stasis(${app},…) line(s) name queues, agents and routes the plugin has`);
}
