import { hashToken } from '../../src/http/auth';
import { Rig, startRig, testConfigInput } from '../helpers/plugin-harness';

/** A rig (simulator + fresh PostgreSQL + real plugin) with the HTTP surface on a free port. */
export const TOKENS = { admin: 'adm-6f1c0e3b9a-test', a1001: 'agt-ann-5d2e77-test', a1002: 'agt-bob-91aa04-test' } as const;

export interface SurfaceRig extends Rig {
  base: string;
  api(
    method: 'GET' | 'POST',
    path: string,
    opts?: { token?: string | null; body?: unknown },
  ): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }>;
}

export async function startSurfaceRig(opts: { over?: Record<string, unknown>; agentsBusy?: boolean } = {}): Promise<SurfaceRig> {
  const config = testConfigInput({
    http: { enabled: true, port: 0 },
    api: {
      tokens: [
        { name: 'ops', sha256: hashToken(TOKENS.admin), scope: 'admin' },
        { name: 'ann', sha256: hashToken(TOKENS.a1001), scope: 'agent:a1001' },
        { name: 'bob', sha256: hashToken(TOKENS.a1002), scope: 'agent:a1002' },
      ],
    },
    ...(opts.over ?? {}),
  });
  const rig = await startRig({ config, agentsBusy: opts.agentsBusy });
  const http = rig.plugin.http;
  if (!http) throw new Error('HTTP surface not started');
  const base = http.url;
  return Object.assign(rig, {
    base,
    async api(method: 'GET' | 'POST', path: string, o: { token?: string | null; body?: unknown } = {}) {
      const token = o.token === undefined ? TOKENS.admin : o.token;
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (o.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${base}/api/v1${path}`, {
        method,
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
      });
      const text = await res.text();
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = { text };
      }
      return { status: res.status, headers: res.headers, json };
    },
  });
}
