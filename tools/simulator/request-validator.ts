/**
 * Routes an ARI REST request to its operation in the compact spec and checks its parameters
 * strictly (stricter than Asterisk: see README "Where the simulator is an assumption").
 */
import type { CompactOperation, CompactParameter, CompactSpec } from './spec/ari-spec';

export interface RouteMatch {
  resource: string;
  apiPath: string;
  operation: CompactOperation;
  pathParams: Record<string, string>;
}

export type RouteResult = { kind: 'ok'; match: RouteMatch } | { kind: 'not-found' } | { kind: 'bad-method'; allowed: string[] };

interface CompiledApi {
  resource: string;
  path: string;
  segments: string[];
  operations: CompactOperation[];
}

/** Query parameters that are not operation parameters but always allowed (auth). */
const ALWAYS_ALLOWED_QUERY = new Set(['api_key']);

export class RequestValidator {
  private readonly apis: CompiledApi[] = [];

  constructor(spec: CompactSpec) {
    for (const r of spec.resources) {
      for (const a of r.apis) {
        this.apis.push({ resource: r.name, path: a.path, segments: a.path.split('/').filter(Boolean), operations: a.operations });
      }
    }
  }

  /**
   * Match the path (below /ari) the way Asterisk's REST tree does: at each level a literal
   * segment wins over a {param} segment.
   */
  route(method: string, ariPath: string): RouteResult {
    const segs = ariPath
      .split('/')
      .filter(Boolean)
      .map((s) => {
        try {
          return decodeURIComponent(s);
        } catch {
          return s;
        }
      });
    let candidates = this.apis.filter((a) => a.segments.length === segs.length);
    for (let i = 0; i < segs.length && candidates.length; i++) {
      const literal = candidates.filter((a) => a.segments[i] === segs[i]);
      candidates = literal.length ? literal : candidates.filter((a) => /^\{.+\}$/.test(a.segments[i]));
    }
    const api = candidates[0];
    if (!api) return { kind: 'not-found' };
    const op = api.operations.find((o) => o.httpMethod === method.toUpperCase());
    if (!op) return { kind: 'bad-method', allowed: api.operations.map((o) => o.httpMethod) };
    const pathParams: Record<string, string> = {};
    api.segments.forEach((s, i) => {
      const m = /^\{(.+)\}$/.exec(s);
      if (m) pathParams[m[1]] = segs[i];
    });
    return { kind: 'ok', match: { resource: api.resource, apiPath: api.path, operation: op, pathParams } };
  }

  /**
   * Strict parameter check. Returns human-readable problems (each names the parameter).
   * `query` holds the raw query values (a repeated key gives several values).
   */
  check(op: CompactOperation, query: Map<string, string[]>, body: unknown): string[] {
    const problems: string[] = [];
    const byName = new Map<string, CompactParameter>();
    for (const p of op.parameters) byName.set(p.name, p);
    for (const [name, values] of query) {
      if (ALWAYS_ALLOWED_QUERY.has(name)) continue;
      const p = byName.get(name);
      if (!p || p.paramType !== 'query') {
        problems.push(`unknown query parameter '${name}' for ${op.httpMethod} ${op.nickname}`);
        continue;
      }
      if (values.length > 1 && !p.allowMultiple) {
        problems.push(`query parameter '${name}' given ${values.length} times but does not allow multiple values`);
      }
      const parts = p.allowMultiple ? values.flatMap((v) => v.split(',')) : values;
      for (const v of parts) {
        const typeProblem = checkValue(p, v);
        if (typeProblem) problems.push(typeProblem);
      }
    }
    const bodyParams = op.parameters.filter((p) => p.paramType === 'body');
    let bodyObj: Record<string, unknown> = {};
    if (body !== undefined && body !== null) {
      if (typeof body !== 'object' || Array.isArray(body)) {
        problems.push('request body must be a JSON object');
      } else {
        bodyObj = body as Record<string, unknown>;
        for (const [k, v] of Object.entries(bodyObj)) {
          const p = bodyParams.find((b) => b.name === k);
          if (!p) {
            problems.push(`unknown body field '${k}' for ${op.httpMethod} ${op.nickname}`);
            continue;
          }
          if (p.dataType === 'containers' || p.dataType === 'object') {
            if (typeof v !== 'object' || v === null || Array.isArray(v)) {
              problems.push(`body field '${k}' must be a JSON object`);
            } else if (p.dataType === 'containers') {
              for (const [vk, vv] of Object.entries(v as Record<string, unknown>)) {
                if (typeof vv !== 'string') problems.push(`body field '${k}.${vk}' must be a string (got ${typeof vv})`);
              }
            }
          }
        }
      }
    }
    for (const p of op.parameters) {
      if (!p.required) continue;
      if (p.paramType === 'query' && !query.has(p.name)) problems.push(`missing required query parameter '${p.name}'`);
      if (p.paramType === 'body' && bodyObj[p.name] === undefined) problems.push(`missing required body field '${p.name}'`);
    }
    return problems;
  }
}

function checkValue(p: CompactParameter, v: string): string | null {
  const t = p.dataType.toLowerCase();
  if (t === 'int' || t === 'long') {
    if (!/^-?\d+$/.test(v)) return `query parameter '${p.name}' must be an integer (${p.dataType}), got '${v}'`;
  } else if (t === 'double' || t === 'float') {
    if (v.trim() === '' || Number.isNaN(Number(v))) return `query parameter '${p.name}' must be a number, got '${v}'`;
  } else if (t === 'boolean') {
    if (v !== 'true' && v !== 'false') return `query parameter '${p.name}' must be 'true' or 'false', got '${v}'`;
  }
  const av = p.allowableValues;
  if (av) {
    if (av.valueType === 'LIST' && !av.values.includes(v)) {
      return `query parameter '${p.name}' has value '${v}' outside its allowable values [${av.values.join(', ')}]`;
    }
    if (av.valueType === 'RANGE') {
      const n = Number(v);
      if ((av.min !== undefined && n < av.min) || (av.max !== undefined && n > av.max)) {
        return `query parameter '${p.name}' value ${v} is outside the allowed range [${av.min ?? '-inf'}, ${av.max ?? 'inf'}]`;
      }
    }
  }
  return null;
}

/** Collect query values per key, preserving repeats. */
export function parseQuery(search: URLSearchParams): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, v] of search) {
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return out;
}
