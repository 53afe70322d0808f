import { AppConfig } from '../config/config';
import { FEATURE_CODE_KINDS, FeatureCodeKind } from '../domain/feature-codes';
import { Dialplan, DialplanPriority } from './ami-dialplan';

/**
 * Pure reading of a dialplan and of the config for the doctor: which Stasis lines exist, which
 * entries the config needs, where the dial template sends customers.
 */

/** The first arguments the plugin handles in StasisStart (src/engine/call-router.ts onStasisStart); it hangs up any other. */
export const HANDLED_ENTRY_KINDS = ['queue', 'direct', ...FEATURE_CODE_KINDS] as const;

export interface StasisLine {
  where: DialplanPriority;
  app: string;
  args: string[];
}

/**
 * `Stasis(app,queue,support,route=vip)` lines of the dialplan, with their arguments split. The
 * lines res_stasis adds itself while an app is connected (`stasis-<app>`) are left out: taken for
 * the administrator's, they made a running plugin look like a dialplan sending calls without
 * arguments (see DialplanPriority.registrar).
 */
export function stasisLines(dialplan: Dialplan): StasisLine[] {
  return dialplan.priorities
    .filter((p) => p.application.toLowerCase() === 'stasis' && p.registrar !== 'res_stasis')
    .map((p) => {
      // Asterisk splits application arguments on commas; spaces and quotes around one are tolerated here.
      const [app = '', ...args] = p.appData.split(',').map((a) => a.trim().replace(/^"(.*)"$/, '$1'));
      return { where: p, app, args };
    });
}

export function hasVariable(s: string): boolean {
  return s.includes('${');
}

/**
 * Whether a dialplan extension name matches a dialled number, as Asterisk matches: `_` starts a
 * pattern (X = 0-9, Z = 1-9, N = 2-9, [..] a set with ranges, `.` one or more, `!` zero or more);
 * `-` outside a set is decoration in both literal names and patterns.
 */
export function extensionMatches(extension: string, number: string): boolean {
  if (!extension.startsWith('_')) return extension.replace(/-/g, '') === number;
  let re = '';
  const pattern = extension.slice(1);
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === 'X' || c === 'x') re += '[0-9]';
    else if (c === 'Z' || c === 'z') re += '[1-9]';
    else if (c === 'N' || c === 'n') re += '[2-9]';
    else if (c === '.') re += '.+';
    else if (c === '!') re += '.*';
    else if (c === '-') continue;
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end < 0) return false;
      re += `[${pattern.slice(i + 1, end).replace(/[\\^]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(number);
}

/** A feature code the config names (`featureCodes`), with the Stasis argument it must send. */
export interface FeatureCode {
  code: string;
  /** The Stasis argument that names the feature, e.g. `agent-login`. */
  kind: FeatureCodeKind;
}

const FEATURE_CODE_FIELDS: Record<keyof AppConfig['featureCodes'], FeatureCodeKind> = {
  agentLogin: 'agent-login',
  agentLogout: 'agent-logout',
  agentPause: 'agent-pause',
  agentUnpause: 'agent-unpause',
};

/** The feature codes the dialplan should have: those the config lists (none unless it does). */
export function featureCodesOf(config: AppConfig): FeatureCode[] {
  const out: FeatureCode[] = [];
  for (const [field, kind] of Object.entries(FEATURE_CODE_FIELDS) as [keyof AppConfig['featureCodes'], FeatureCodeKind][]) {
    const code = config.featureCodes[field];
    if (code !== undefined) out.push({ code, kind });
  }
  return out;
}

/** Where the customer leg goes, from `callback.dialTemplate`. */
export type DialTarget =
  /** An ARI endpoint (`PJSIP/{number}@trunk` → PJSIP/trunk; `SIP/trunk/{number}` → SIP/trunk). */
  | { kind: 'endpoint'; technology: string; resource: string }
  /** Through the dialplan (`Local/{number}@callback-outbound/n`). */
  | { kind: 'local'; context: string }
  /** Nothing fixed to check (e.g. `PJSIP/{number}`: the number is the endpoint). */
  | { kind: 'unknown' };

export function dialTarget(template: string): DialTarget {
  const slash = template.indexOf('/');
  if (slash <= 0) return { kind: 'unknown' };
  const technology = template.slice(0, slash);
  const rest = template.slice(slash + 1);
  if (technology.toLowerCase() === 'local') {
    const context = /@([^/]+)/.exec(rest)?.[1];
    return context && !context.includes('{') ? { kind: 'local', context } : { kind: 'unknown' };
  }
  const at = /^[^@/]*\{number\}[^@/]*@([^/]+)/.exec(rest);
  if (at?.[1] && !at[1].includes('{')) return { kind: 'endpoint', technology, resource: at[1] };
  const first = /^([^/{}@]+)\//.exec(rest);
  if (first?.[1]) return { kind: 'endpoint', technology, resource: first[1] };
  return { kind: 'unknown' };
}
