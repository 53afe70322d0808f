import { AriHttp } from './ari-http';

/**
 * The PJSIP endpoints' configuration as Asterisk loaded it, read over ARI's dynamic configuration
 * (`GET /asterisk/config/dynamic/res_pjsip/<type>/<id>`, Asterisk 13.5+): a list of
 * `{attribute, value}` for one sorcery object, pjsip.conf's included. Measured on Asterisk 22.10.1
 * (test/asterisk/doctor.asterisk.test.ts): an endpoint has `context` and `auth` (the auth
 * sections' names, comma-separated); an auth has `password` in clear, also for a read-only ARI
 * user; an unknown id answers 404; a type without an id, 405. AMI's PJSIPShowEndpoint and
 * PJSIPShowAuths would need `write = system` (the sample's AMI user has `reporting`: "Permission
 * denied"), which could also restart Asterisk, so the doctor does not use them.
 */

export interface PjsipEndpointConfig {
  name: string;
  /** The dialplan context its calls start in. */
  context: string;
  /** The auth sections that authenticate it (inbound). */
  auths: string[];
}

export class PjsipConfigUnreadable extends Error {
  override name = 'PjsipConfigUnreadable';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One sorcery object's attributes, or undefined when Asterisk has none by that id (404). */
async function readObject(ari: AriHttp, type: string, id: string): Promise<Map<string, string> | undefined> {
  const path = `/asterisk/config/dynamic/res_pjsip/${type}/${encodeURIComponent(id)}`;
  const answer = await ari.get(path);
  if (answer.status === 404) return undefined;
  if (answer.status !== 200 || !Array.isArray(answer.json))
    throw new PjsipConfigUnreadable(`GET /ari${path} answered ${answer.status}${answer.status === 200 ? ' without a list' : ''}`);
  const attributes = new Map<string, string>();
  for (const t of answer.json)
    if (isRecord(t) && typeof t.attribute === 'string' && typeof t.value === 'string') attributes.set(t.attribute, t.value);
  return attributes;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The configuration of every PJSIP endpoint GET /endpoints lists. Throws PjsipConfigUnreadable,
 * also when a listed endpoint has no configuration: checks that saw none would pass for nothing.
 */
export async function readPjsipEndpoints(ari: AriHttp): Promise<PjsipEndpointConfig[]> {
  const listed = await ari.get('/endpoints');
  if (listed.status !== 200 || !Array.isArray(listed.json)) throw new PjsipConfigUnreadable(`GET /ari/endpoints answered ${listed.status}`);
  const names = listed.json
    .filter(isRecord)
    .filter((e) => String(e.technology).toUpperCase() === 'PJSIP')
    .map((e) => String(e.resource));
  const out: PjsipEndpointConfig[] = [];
  for (const name of names) {
    const attributes = await readObject(ari, 'endpoint', name);
    if (!attributes) throw new PjsipConfigUnreadable(`GET /ari/endpoints lists PJSIP/${name}, whose configuration answered 404`);
    out.push({ name, context: attributes.get('context') ?? '', auths: list(attributes.get('auth')) });
  }
  return out;
}

/**
 * Whether an auth section's password is a sample placeholder (`CHANGE_ME`, `CHANGE_ME_1001`).
 * Only that answer leaves this function: the password itself is never kept or shown.
 */
export async function hasPlaceholderPassword(ari: AriHttp, auth: string): Promise<boolean> {
  const attributes = await readObject(ari, 'auth', auth);
  return /CHANGE_ME/i.test(attributes?.get('password') ?? '');
}
