import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/config';

/**
 * Bearer tokens. The configuration holds only SHA-256 hashes; a presented token is hashed and
 * compared with every configured hash in constant time (no early exit on the first match, so the
 * response time does not tell which or how many tokens exist). Tokens are never logged.
 */
export type Principal =
  | { kind: 'admin'; name: string }
  | { kind: 'agent'; agentId: string; name: string }
  /** Reads /metrics only (when http.metricsAccess is `token`); every API route answers it 403. */
  | { kind: 'metrics'; name: string }
  /** Read only: the day report, the wallboard and /metrics; every route that changes something answers it 403. */
  | { kind: 'supervisor'; name: string };

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

interface KnownToken {
  hash: Buffer;
  principal: Principal;
}

export class TokenVerifier {
  private readonly known: KnownToken[];

  constructor(tokens: AppConfig['api']['tokens']) {
    this.known = tokens.map((t, i) => {
      const name = t.name ?? `token #${i + 1}`;
      const principal: Principal =
        t.scope === 'admin' || t.scope === 'metrics' || t.scope === 'supervisor'
          ? { kind: t.scope, name }
          : { kind: 'agent', agentId: t.scope.slice('agent:'.length), name };
      return { hash: Buffer.from(t.sha256, 'hex'), principal };
    });
  }

  /**
   * The principal of an `Authorization` header value, or undefined (missing, malformed, unknown).
   * The same object each time for one configured token: callers may count per token with it.
   */
  verify(header: string | undefined): Principal | undefined {
    if (!header) return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m || !m[1]) return undefined;
    const presented = Buffer.from(hashToken(m[1]), 'hex');
    let found: Principal | undefined;
    for (const k of this.known) {
      if (timingSafeEqual(presented, k.hash) && found === undefined) found = k.principal;
    }
    return found;
  }

  agentScopes(): string[] {
    return this.known.flatMap((k) => (k.principal.kind === 'agent' ? [k.principal.agentId] : []));
  }
}
