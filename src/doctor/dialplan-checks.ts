import { AppConfig } from '../config/config';
import { featureCodeAgent, isFeatureCodeKind } from '../domain/feature-codes';
import { Dialplan, DialplanSource, DialplanUnavailable } from './ami-dialplan';
import { extensionMatches, FeatureCode, HANDLED_ENTRY_KINDS, hasVariable, stasisLines } from './dialplan-rules';
import { CheckResult, failed, passed } from './report';

/**
 * The doctor's checks of the dialplan read over AMI: it can be read, every configured entry reaches
 * the plugin's Stasis app, and every Stasis line names something the plugin handles.
 */

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
