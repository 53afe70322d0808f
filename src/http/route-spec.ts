import { Principal } from './auth';

/** A JSON schema fragment (validation by fastify's Ajv, and the OpenAPI document). */
export type JsonSchema = { [key: string]: unknown };

/** Who may call a route: anyone, admin tokens, or agent tokens (admin too, naming the agent). */
export type Access = 'public' | 'admin' | 'agent';

export interface RouteRequest {
  principal: Principal | undefined;
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: Record<string, unknown>;
}

export interface RouteResult {
  status?: number;
  body: unknown;
}

export interface RouteSpec {
  method: 'GET' | 'POST';
  /** OpenAPI style, relative to /api/v1: `/callbacks/{id}`. */
  path: string;
  summary: string;
  description?: string;
  tag: 'queues' | 'callbacks' | 'agents' | 'me';
  access: Access;
  params?: JsonSchema;
  query?: JsonSchema;
  body?: JsonSchema;
  /** Status code -> description and response schema ($ref into components). */
  responses: Record<string, { description: string; schema?: JsonSchema }>;
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
