import { Principal } from './auth';

/** A JSON schema fragment (validation by fastify's Ajv, and the OpenAPI document). */
export type JsonSchema = { [key: string]: unknown };

/**
 * Who may call a route: anyone, admin tokens, agent tokens (admin too, naming the agent), or
 * supervisor tokens (admin too; read-only routes only).
 */
export type Access = 'public' | 'admin' | 'agent' | 'supervisor';

export interface RouteRequest {
  principal: Principal | undefined;
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: Record<string, unknown>;
  /** The request's Accept header (a route with `produces` answers in the type asked for). */
  accept?: string;
}

export interface RouteResult {
  status?: number;
  body: unknown;
  /** Default: JSON. */
  contentType?: string;
}

export interface RouteSpec {
  method: 'GET' | 'POST';
  /** OpenAPI style, relative to /api/v1: `/callbacks/{id}`. */
  path: string;
  summary: string;
  description?: string;
  tag: 'queues' | 'callbacks' | 'agents' | 'me' | 'reports';
  access: Access;
  params?: JsonSchema;
  query?: JsonSchema;
  body?: JsonSchema;
  /** Status code -> description and response schema ($ref into components). */
  responses: Record<string, { description: string; schema?: JsonSchema }>;
  /** Media types the 200 answer may take besides JSON, chosen by the Accept header. */
  produces?: string[];
  /** A server-sent events stream: handled by the server, not by `handler`. */
  sse?: true;
  handler?: (req: RouteRequest) => Promise<RouteResult>;
}

/** An answer other than 2xx: `{ "error": message, "field": field }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}
