import { Dialplan } from './ami-dialplan';
import { AriHttp } from './ari-http';
import { TOLL_FRAUD_PROBES, unrestrictedOutbound } from './outbound-rules';
import { hasPlaceholderPassword, PjsipEndpointConfig } from './pjsip-config';
import { CheckResult, failed, passed } from './report';

/**
 * The doctor's toll-fraud checks (issue 19): no phone registers with the sample's public
 * password, and no context a SIP call starts in dials premium or international numbers through
 * the trunk. Both look at what the running Asterisk loaded, not at files.
 */

/** No PJSIP auth that authenticates an endpoint still has a `CHANGE_ME…` placeholder as its password. */
export async function checkSipPasswords(ari: AriHttp, endpoints: readonly PjsipEndpointConfig[]): Promise<CheckResult> {
  const auths = new Map<string, string[]>();
  for (const e of endpoints) for (const a of e.auths) auths.set(a, [...(auths.get(a) ?? []), e.name]);
  const placeholders: string[] = [];
  for (const [auth, users] of auths) {
    if (await hasPlaceholderPassword(ari, auth)) placeholders.push(`${auth} (endpoint ${users.join(', ')})`);
  }
  if (placeholders.length > 0)
    return failed(
      'sip-passwords',
      `PJSIP auth ${placeholders.join(', ')} still has the sample's CHANGE_ME password: anyone who has read the sample can register as that phone and call out through your trunk`,
      'give each its own secret in /etc/asterisk/pjsip.conf (password = output of openssl rand -hex 16), then asterisk -rx "module reload res_pjsip.so"\n' +
        'Docker: a line <name>=<secret> per phone in docker/secrets/sip_passwords.txt, then docker compose up -d asterisk',
    );
  return passed(
    'sip-passwords',
    `no CHANGE_ME password in the ${auths.size} PJSIP auth(s) of ${endpoints.length} endpoint(s)${auths.size > 0 ? ` (${[...auths.keys()].join(', ')})` : ''}`,
  );
}

/**
 * Every context an endpoint's calls start in (pjsip.conf `context=`), with its includes and the
 * Goto()s it takes, refuses premium, international and Caribbean numbers: none of them reaches a
 * Dial() that passes the dialled number on. An `_X.` (or `_[+0-9].`) → Dial(PJSIP/${EXTEN}@trunk)
 * reachable from the phones is the classic toll-fraud hole.
 */
export function checkOutboundDialling(dialplan: Dialplan, endpoints: readonly PjsipEndpointConfig[]): CheckResult {
  const contexts = new Map<string, string[]>();
  for (const e of endpoints) if (e.context) contexts.set(e.context, [...(contexts.get(e.context) ?? []), e.name]);
  const found = unrestrictedOutbound(dialplan, contexts);
  if (found.length > 0) {
    const problems = found.map(
      (f) =>
        `calls from ${f.endpoints.map((e) => `PJSIP/${e}`).join(', ')} (context ${f.context}) reach ${f.way.dial} at ${f.way.at} for ` +
        f.reached.map((p) => `${p.number} (${p.kind})`).join(', '),
    );
    return failed(
      'outbound-dialling',
      problems.join('; '),
      'let those contexts dial only the numbers you mean to pay for: patterns for domestic numbers (_NXXNXXXXXX, _1NXXNXXXXXX) with more specific ones refusing 1900, NXX 976, N11 and the non-US +1 area codes, and nothing for 011/00/+ (see [agents-outbound] in asterisk-config/extensions.conf), or remove the include that dials out; then asterisk -rx "dialplan reload"',
    );
  }
  return passed(
    'outbound-dialling',
    `${TOLL_FRAUD_PROBES.length} premium, international and Caribbean numbers dialled from ${contexts.size} context(s) (${[...contexts.keys()].join(', ')}) reach no trunk`,
  );
}
