import fs from 'node:fs';
import path from 'node:path';
import { AgentConfig } from '../config/config';
import { PACKAGE_ROOT } from '../package-root';
import { Dialplan } from './ami-dialplan';
import { AriHttp, AriUnreachable } from './ari-http';
import { CheckOutcome } from './checks';
import { dialTarget } from './dialplan-rules';
import { PromptSet } from './prompt-inventory';
import { CheckResult, failed, passed } from './report';

/**
 * The doctor's checks that ask Asterisk over ARI: is it reachable with these credentials, are the
 * prompts on its disk, do the agents' phones and the trunk exist, is the Stasis app name free.
 */

/** Where Debian's Asterisk (and the sample configuration) keeps sounds: astdatadir/sounds. */
const ASTERISK_SOUNDS_DIR = '/var/lib/asterisk/sounds';

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
