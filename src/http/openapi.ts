import { JsonSchema, RouteSpec } from './route-spec';

/** The OpenAPI 3.1 document of /api/v1, built from the same route specs that fastify validates with. */

const str = { type: 'string' };
const nstr = { type: ['string', 'null'] };
const int = { type: 'integer' };
const dt = { type: 'string', format: 'date-time' };
const ndt = { type: ['string', 'null'], format: 'date-time' };

const COMPONENTS: Record<string, JsonSchema> = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: { error: str, field: { ...str, description: 'The offending input field, when there is one' } },
  },
  Callback: {
    type: 'object',
    properties: {
      id: str,
      queueId: str,
      routeId: nstr,
      ownerAgentId: nstr,
      number: str,
      name: nstr,
      status: { type: 'string', enum: ['pending', 'in_progress', 'completed', 'failed', 'cancelled', 'expired'] },
      attempts: { ...int, description: 'Customer dials made' },
      maxAttempts: int,
      priority: int,
      language: str,
      arrivedAt: { ...dt, description: 'The place in the queue (the original arrival)' },
      requestedAt: dt,
      notBefore: ndt,
      claimedBy: nstr,
      claimExpiresAt: ndt,
      outcomeReason: nstr,
    },
  },
  HistoryEvent: { type: 'object', properties: { at: dt, type: str, agentId: nstr, detail: { type: 'object' } } },
  Attempt: {
    type: 'object',
    properties: { attemptNo: int, agentId: str, outcome: nstr, cause: { type: ['integer', 'null'] }, startedAt: dt, endedAt: ndt },
  },
  CallbackDetail: {
    allOf: [
      { $ref: '#/components/schemas/Callback' },
      {
        type: 'object',
        properties: {
          history: { type: 'array', items: { $ref: '#/components/schemas/HistoryEvent' } },
          attemptList: { type: 'array', items: { $ref: '#/components/schemas/Attempt' } },
        },
      },
    ],
  },
  Queue: {
    type: 'object',
    properties: {
      id: str,
      name: str,
      priority: int,
      overflow: {
        type: 'object',
        properties: { maxWaiting: { type: ['integer', 'null'] }, maxEstimatedWaitSec: { type: ['number', 'null'] } },
      },
      offer: {
        type: 'object',
        properties: { initialDelaySec: { type: 'number' }, intervalSec: { type: 'number' }, thresholdPosition: int },
      },
      maxAttempts: int,
      retryMinGapSec: { type: 'number' },
      wrapUpSec: { type: 'number' },
      outboundCallerId: { type: 'object', properties: { name: str, number: str } },
      live: {
        type: 'object',
        properties: {
          waiting: { ...int, description: 'Callers and callbacks in the queue order' },
          callers: int,
          pendingCallbacks: int,
          estimatedWaitSec: { ...int, description: 'For a caller joining now' },
          agentsStaffed: int,
          agentsAvailable: int,
        },
      },
    },
  },
  Agent: {
    type: 'object',
    properties: {
      id: str,
      name: str,
      endpoint: str,
      queues: { type: 'array', items: str },
      loggedIn: { type: 'boolean' },
      paused: { type: 'boolean' },
      deviceState: str,
      onPluginCall: { type: 'boolean' },
      available: { type: 'boolean' },
      wrapUpUntil: ndt,
      previewCallbackId: nstr,
    },
  },
  Preview: {
    type: 'object',
    properties: {
      callbackId: str,
      name: nstr,
      number: str,
      queueId: str,
      queueName: str,
      requestedAt: dt,
      waitedSec: { ...int, description: 'Seconds since the customer asked for the callback' },
      attempts: int,
      maxAttempts: int,
      history: { type: 'array', items: { $ref: '#/components/schemas/HistoryEvent' } },
      attemptList: { type: 'array', items: { $ref: '#/components/schemas/Attempt' } },
      crm: { description: 'null without crm.urlTemplate; else {ok:true,status,data} or {ok:false,error}' },
    },
  },
};

function parameters(where: 'path' | 'query', schema: JsonSchema | undefined): JsonSchema[] {
  const props = (schema?.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema?.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s;
    return { name, in: where, required: where === 'path' || required.has(name), ...(description ? { description } : {}), schema: rest };
  });
}

/** Any route behind a token: the client sent too many wrong tokens, or (event streams) the token holds too many. */
const TOO_MANY = {
  '429': {
    description: 'Too many wrong tokens from this address (wait `Retry-After` seconds), or too many open event streams for this token',
    schema: { $ref: '#/components/schemas/Error' },
  },
};

export function buildOpenApi(routes: readonly RouteSpec[], version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const r of routes) {
    const op: JsonSchema = {
      operationId: `${r.method.toLowerCase()}${r.path.replace(/[{}]/g, '').replace(/[/-](\w)/g, (_m, c: string) => c.toUpperCase())}`,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      security: r.access === 'public' ? [] : [{ bearer: [] }],
      'x-access':
        r.access === 'admin'
          ? 'admin token'
          : r.access === 'agent'
            ? 'agent token (admin: with ?agentId=)'
            : r.access === 'supervisor'
              ? 'supervisor or admin token'
              : 'public',
      parameters: [...parameters('path', r.params), ...parameters('query', r.query)],
      ...(r.body
        ? {
            requestBody: {
              required: Array.isArray(r.body.required) && r.body.required.length > 0,
              content: { 'application/json': { schema: r.body } },
            },
          }
        : {}),
      responses: Object.fromEntries(
        Object.entries({ ...r.responses, ...(r.access === 'public' ? {} : TOO_MANY) }).map(([code, resp]) => [
          code,
          {
            description: resp.description,
            ...(resp.schema
              ? {
                  content: {
                    [r.sse && code === '200' ? 'text/event-stream' : 'application/json']: { schema: resp.schema },
                    ...(code === '200' ? Object.fromEntries((r.produces ?? []).map((t) => [t, { schema: { type: 'string' } }])) : {}),
                  },
                }
              : {}),
          },
        ]),
      ),
    };
    (paths[r.path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'asterisk-direct-callback API',
      version,
      description:
        'Queues, callbacks, agents and the agent panel. `Authorization: Bearer <token>`; tokens are configured as SHA-256 hashes with scope `admin`, `agent:<id>`, `supervisor` (read only: reports and the wallboard) or `metrics` (only /metrics, outside this document). Errors are `{ "error": "...", "field": "..." }`.',
    },
    servers: [{ url: '/api/v1' }],
    tags: [
      { name: 'queues', description: 'Queue configuration and live figures' },
      { name: 'callbacks', description: 'Stored callbacks: list, create, cancel, reschedule' },
      { name: 'reports', description: "The day's figures per queue, hour and agent (supervisor or admin token)" },
      { name: 'agents', description: 'Agent presence (admin)' },
      { name: 'me', description: 'The agent panel: the token’s own agent' },
    ],
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: COMPONENTS },
  };
}
