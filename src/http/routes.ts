import { AdminOperations, CallbackRefused } from '../engine/admin-port';
import { CallbackStatus } from '../store/callback-store';
import { crmLookup } from './crm';
import { agentView, attemptView, callbackView, historyView, queueView } from './views';
import { ApiError, JsonSchema, RouteRequest, RouteSpec } from './route-spec';

/** Every route of /api/v1: validation schemas, access, handler. The OpenAPI document is built from these. */

const STATUSES: CallbackStatus[] = ['pending', 'in_progress', 'completed', 'failed', 'cancelled', 'expired'];
const ID = '^[A-Za-z0-9_:-]{1,80}$';
const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
/** A dialable number: optional +, 3 to 20 digits. */
export const NUMBER_PATTERN = '^\\+?[0-9]{3,20}$';

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const errors = (...codes: string[]) => {
  const text: Record<string, string> = {
    '400': 'Invalid input; `field` names the offending field',
    '401': 'No token or an unknown token',
    '403': 'The token may not do this',
    '404': 'Not found',
    '409': 'Not possible in the current state',
  };
  return Object.fromEntries(codes.map((c) => [c, { description: text[c] ?? c, schema: ref('Error') }]));
};
const idParam = (pattern: string, description: string): JsonSchema => ({
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern, description } },
  additionalProperties: false,
});
const meQuery: JsonSchema = {
  type: 'object',
  properties: { agentId: { type: 'string', pattern: ID, description: 'Admin tokens only: act as this agent' } },
  additionalProperties: false,
};
const dateTime = (description: string): JsonSchema => ({ type: 'string', format: 'date-time', description });

function parseDate(value: unknown, field: string): Date {
  const d = typeof value === 'string' ? new Date(value) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new ApiError(400, `${field}: not a valid date-time (ISO 8601, e.g. 2030-01-31T14:00:00Z)`, field);
  return d;
}

export interface RouteDeps {
  admin: AdminOperations;
  crm: { urlTemplate?: string; timeoutMs: number };
}

export function apiRoutes({ admin, crm }: RouteDeps): RouteSpec[] {
  const store = admin.callbacks;

  const queueOr404 = (id: string) => {
    const q = queueView(admin, id);
    if (!q) throw new ApiError(404, `unknown queue '${id}'`, 'id');
    return q;
  };
  const agentOr404 = (id: string) => {
    const a = admin.agent(id);
    if (!a) throw new ApiError(404, `unknown agent '${id}'`, 'id');
    return a;
  };
  /** The agent a /me route acts for: the agent token's own, or (admin) ?agentId=. */
  const meAgent = (req: RouteRequest) => {
    const id = meQueryAgent(admin, req);
    const a = admin.agent(id);
    if (!a) throw new ApiError(403, `this token's agent '${id}' is not configured`);
    return a;
  };
  /** The preview the agent may act on; 403 for another agent's, 409 when there is none. */
  const ownPreview = (agentId: string, body: Record<string, unknown>) => {
    const preview = admin.activePreviewOf(agentId);
    const asked = typeof body.callbackId === 'string' ? body.callbackId : undefined;
    if (asked !== undefined && preview?.callbackId !== asked) {
      const other = admin.previewFor(asked);
      if (other && other.agent !== agentId) throw new ApiError(403, 'this callback is being offered to another agent', 'callbackId');
      throw new ApiError(409, 'this callback is not being offered to you now', 'callbackId');
    }
    if (!preview) throw new ApiError(409, 'no preview call in progress');
    return preview;
  };
  const presence = async (agentId: string, change: { loggedIn?: boolean; paused?: boolean }, source: 'api' | 'panel') => {
    try {
      await admin.setAgentPresence(agentId, change, source);
    } catch {
      // Applied on this instance, but a restart or another instance would not know it.
      throw new ApiError(503, 'the change applies now but could not be stored; try again');
    }
    return { body: agentView(admin, agentOr404(agentId)) };
  };

  const agentAction = (action: 'login' | 'logout' | 'pause' | 'unpause', summary: string): RouteSpec => ({
    method: 'POST',
    path: `/agents/{id}/${action}`,
    summary,
    tag: 'agents',
    access: 'admin',
    params: idParam(ID, 'Agent id'),
    responses: { '200': { description: 'The agent after the change', schema: ref('Agent') }, ...errors('400', '401', '403', '404') },
    handler: async (req) => {
      const id = req.params.id ?? '';
      agentOr404(id);
      const change = action === 'login' ? { loggedIn: true } : action === 'logout' ? { loggedIn: false } : { paused: action === 'pause' };
      return presence(id, change, 'api');
    },
  });

  return [
    // ---- queues ----
    {
      method: 'GET',
      path: '/queues',
      summary: 'Queues: configuration and live figures',
      tag: 'queues',
      access: 'admin',
      responses: {
        '200': { description: 'All queues', schema: { type: 'object', properties: { queues: { type: 'array', items: ref('Queue') } } } },
        ...errors('401', '403'),
      },
      handler: async () => ({ body: { queues: admin.queueIds().flatMap((id) => queueView(admin, id) ?? []) } }),
    },
    {
      method: 'GET',
      path: '/queues/{id}',
      summary: 'One queue',
      tag: 'queues',
      access: 'admin',
      params: idParam(ID, 'Queue id'),
      responses: { '200': { description: 'The queue', schema: ref('Queue') }, ...errors('400', '401', '403', '404') },
      handler: async (req) => ({ body: queueOr404(req.params.id ?? '') }),
    },
    // ---- callbacks ----
    {
      method: 'GET',
      path: '/callbacks',
      summary: 'List callbacks, newest request first',
      tag: 'callbacks',
      access: 'admin',
      query: {
        type: 'object',
        properties: {
          status: { type: 'string', enum: STATUSES },
          queue: { type: 'string', pattern: ID },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
        },
        additionalProperties: false,
      },
      responses: {
        '200': {
          description: 'Callbacks',
          schema: { type: 'object', properties: { callbacks: { type: 'array', items: ref('Callback') } } },
        },
        ...errors('400', '401', '403'),
      },
      handler: async (req) => {
        const q = req.query;
        const list = await store.list({
          status: typeof q.status === 'string' ? (q.status as CallbackStatus) : undefined,
          queueId: typeof q.queue === 'string' ? q.queue : undefined,
          limit: typeof q.limit === 'number' ? q.limit : 100,
        });
        return { body: { callbacks: list.map(callbackView) } };
      },
    },
    {
      method: 'GET',
      path: '/callbacks/{id}',
      summary: 'One callback with its history and attempts',
      tag: 'callbacks',
      access: 'admin',
      params: idParam(UUID, 'Callback id (UUID)'),
      responses: { '200': { description: 'The callback', schema: ref('CallbackDetail') }, ...errors('400', '401', '403', '404') },
      handler: async (req) => {
        const id = req.params.id ?? '';
        const cb = await store.get(id);
        if (!cb) throw new ApiError(404, `no callback '${id}'`, 'id');
        const [history, attempts] = await Promise.all([store.history(id), store.attempts(id)]);
        return { body: { ...callbackView(cb), history: history.map(historyView), attemptList: attempts.map(attemptView) } };
      },
    },
    {
      method: 'POST',
      path: '/callbacks',
      summary: 'Create a proactive callback (now, or scheduled with notBefore)',
      description:
        'A second open request for the same number in the same queue keeps the first: the answer is 200 with `duplicate: true` and the existing callback.',
      tag: 'callbacks',
      access: 'admin',
      body: {
        type: 'object',
        required: ['queueId', 'number'],
        properties: {
          queueId: { type: 'string', pattern: ID, description: 'A configured queue' },
          number: { type: 'string', pattern: NUMBER_PATTERN, description: 'The number to call: optional +, 3 to 20 digits' },
          name: { type: 'string', minLength: 1, maxLength: 120 },
          notBefore: dateTime('Not dialled before this time (ISO 8601); the callback takes its place in the queue then'),
          ownerAgentId: { type: 'string', pattern: ID, description: 'Only this agent is offered it' },
          language: { type: 'string', pattern: '^[a-z]{2}(-[A-Za-z]{2})?$' },
        },
        additionalProperties: false,
      },
      responses: {
        '201': {
          description: 'Stored',
          schema: { type: 'object', properties: { duplicate: { type: 'boolean' }, callback: ref('Callback') } },
        },
        '200': {
          description: 'An open callback for this number and queue already exists',
          schema: { type: 'object', properties: { duplicate: { type: 'boolean' }, callback: ref('Callback') } },
        },
        ...errors('400', '401', '403'),
      },
      handler: async (req) => {
        const b = req.body;
        const queueId = String(b.queueId);
        if (!admin.queueConfig(queueId) || queueId.startsWith('direct:'))
          throw new ApiError(400, `queueId: unknown queue '${queueId}'`, 'queueId');
        const ownerAgentId = typeof b.ownerAgentId === 'string' ? b.ownerAgentId : undefined;
        if (ownerAgentId !== undefined && !admin.agent(ownerAgentId))
          throw new ApiError(400, `ownerAgentId: unknown agent '${ownerAgentId}'`, 'ownerAgentId');
        const notBefore = b.notBefore !== undefined ? parseDate(b.notBefore, 'notBefore') : undefined;
        let r: Awaited<ReturnType<typeof admin.createCallback>>;
        try {
          r = await admin.createCallback({
            queueId,
            number: String(b.number),
            name: typeof b.name === 'string' ? b.name : undefined,
            notBefore,
            ownerAgentId,
            language: typeof b.language === 'string' ? b.language : undefined,
          });
        } catch (e) {
          if (e instanceof CallbackRefused) throw new ApiError(400, e.message, 'number');
          throw e;
        }
        return { status: r.kind === 'stored' ? 201 : 200, body: { duplicate: r.kind === 'duplicate', callback: callbackView(r.callback) } };
      },
    },
    {
      method: 'POST',
      path: '/callbacks/{id}/cancel',
      summary: 'Cancel an open callback',
      tag: 'callbacks',
      access: 'admin',
      params: idParam(UUID, 'Callback id (UUID)'),
      body: { type: 'object', properties: { reason: { type: 'string', maxLength: 200 } }, additionalProperties: false },
      responses: {
        '200': { description: 'Cancelled', schema: { type: 'object', properties: { callback: ref('Callback') } } },
        ...errors('400', '401', '403', '404', '409'),
      },
      handler: async (req) => {
        const id = req.params.id ?? '';
        const reason = typeof req.body.reason === 'string' ? req.body.reason : 'cancelled through the API';
        const r = await admin.cancelCallback(id, reason);
        if (r === 'in_progress') throw new ApiError(409, 'the callback is being dialled now; try again when the attempt ended');
        const cb = await store.get(id);
        if (!cb) throw new ApiError(404, `no callback '${id}'`, 'id');
        if (r === 'not_open') throw new ApiError(409, `the callback is ${cb.status}, not open`);
        return { body: { callback: callbackView(cb) } };
      },
    },
    {
      method: 'POST',
      path: '/callbacks/{id}/reschedule',
      summary: 'Move a pending callback to a later (or earlier) time',
      tag: 'callbacks',
      access: 'admin',
      params: idParam(UUID, 'Callback id (UUID)'),
      body: {
        type: 'object',
        required: ['notBefore'],
        properties: { notBefore: dateTime('Not dialled before this time (ISO 8601)') },
        additionalProperties: false,
      },
      responses: {
        '200': { description: 'Rescheduled', schema: { type: 'object', properties: { callback: ref('Callback') } } },
        ...errors('400', '401', '403', '404', '409'),
      },
      handler: async (req) => {
        const id = req.params.id ?? '';
        const notBefore = parseDate(req.body.notBefore, 'notBefore');
        const updated = await admin.rescheduleCallback(id, notBefore);
        if (updated) return { body: { callback: callbackView(updated) } };
        const cb = await store.get(id);
        if (!cb) throw new ApiError(404, `no callback '${id}'`, 'id');
        throw new ApiError(409, `the callback is ${cb.status}; only a pending callback can be rescheduled`);
      },
    },
    // ---- agents ----
    {
      method: 'GET',
      path: '/agents',
      summary: 'Agents and their state',
      tag: 'agents',
      access: 'admin',
      responses: {
        '200': { description: 'All agents', schema: { type: 'object', properties: { agents: { type: 'array', items: ref('Agent') } } } },
        ...errors('401', '403'),
      },
      handler: async () => ({ body: { agents: admin.allAgents().map((a) => agentView(admin, a)) } }),
    },
    agentAction('login', 'Log an agent in'),
    agentAction('logout', 'Log an agent out'),
    agentAction('pause', 'Pause an agent (stays logged in, gets no calls)'),
    agentAction('unpause', 'End an agent’s pause'),
    // ---- the agent's own surface ----
    {
      method: 'GET',
      path: '/me',
      summary: 'The agent of this token',
      tag: 'me',
      access: 'agent',
      query: meQuery,
      responses: { '200': { description: 'The agent', schema: ref('Agent') }, ...errors('400', '401', '403') },
      handler: async (req) => ({ body: agentView(admin, meAgent(req)) }),
    },
    {
      method: 'GET',
      path: '/me/preview',
      summary: 'The preview call in progress (the agent answered, has not accepted or skipped yet)',
      description:
        '`preview` is null when there is none. With `crm.urlTemplate` configured, `crm` holds the CRM answer or the reason it failed.',
      tag: 'me',
      access: 'agent',
      query: meQuery,
      responses: {
        '200': {
          description: 'The preview or null',
          schema: { type: 'object', properties: { preview: { oneOf: [ref('Preview'), { type: 'null' }] } } },
        },
        ...errors('400', '401', '403'),
      },
      handler: async (req) => {
        const agent = meAgent(req);
        const p = admin.activePreviewOf(agent.id);
        if (!p) return { body: { preview: null } };
        const cb = p.customer;
        const [history, attempts, crmResult] = await Promise.all([
          store.history(cb.id).catch(() => []),
          store.attempts(cb.id).catch(() => []),
          crm.urlTemplate ? crmLookup(crm.urlTemplate, cb.customerNumber, crm.timeoutMs) : Promise.resolve(undefined),
        ]);
        const q = admin.queueConfig(cb.queueId);
        return {
          body: {
            preview: {
              callbackId: cb.id,
              name: cb.customerName,
              number: cb.customerNumber,
              queueId: cb.queueId,
              queueName: q?.name ?? cb.queueId,
              requestedAt: cb.requestedAt.toISOString(),
              waitedSec: Math.max(0, Math.round((admin.now() - cb.requestedAt.getTime()) / 1000)),
              attempts: cb.attempts,
              maxAttempts: cb.maxAttempts,
              history: history.map(historyView),
              attemptList: attempts.map(attemptView),
              crm: crmResult ?? null,
            },
          },
        };
      },
    },
    ...(['accept', 'decline'] as const).map((action): RouteSpec => ({
      method: 'POST',
      path: `/me/preview/${action}`,
      summary:
        action === 'accept'
          ? 'Accept the preview: the customer is dialled (as key 1 on the phone)'
          : 'Skip the preview: it goes to another agent (as key 2 on the phone)',
      tag: 'me',
      access: 'agent',
      query: meQuery,
      body: {
        type: 'object',
        properties: { callbackId: { type: 'string', pattern: UUID, description: 'Act only if this is still the preview shown' } },
        additionalProperties: false,
      },
      responses: {
        '200': {
          description: 'Done',
          schema: { type: 'object', properties: { callbackId: { type: 'string' }, action: { type: 'string' } } },
        },
        ...errors('400', '401', '403', '409'),
      },
      handler: async (req) => {
        const agent = meAgent(req);
        const preview = ownPreview(agent.id, req.body);
        const done = action === 'accept' ? await preview.accept() : await preview.decline();
        if (!done) throw new ApiError(409, 'the preview already ended');
        return { body: { callbackId: preview.callbackId, action } };
      },
    })),
    {
      method: 'POST',
      path: '/me/presence',
      summary: 'Log in or out, pause or resume',
      tag: 'me',
      access: 'agent',
      query: meQuery,
      body: {
        type: 'object',
        minProperties: 1,
        properties: { loggedIn: { type: 'boolean' }, paused: { type: 'boolean' } },
        additionalProperties: false,
      },
      responses: { '200': { description: 'The agent after the change', schema: ref('Agent') }, ...errors('400', '401', '403') },
      handler: async (req) => {
        const agent = meAgent(req);
        return presence(
          agent.id,
          {
            loggedIn: typeof req.body.loggedIn === 'boolean' ? req.body.loggedIn : undefined,
            paused: typeof req.body.paused === 'boolean' ? req.body.paused : undefined,
          },
          'panel',
        );
      },
    },
    {
      method: 'GET',
      path: '/me/events',
      summary: 'Server-sent events for this agent: preview_started, preview_ended',
      description:
        'text/event-stream. Each event carries JSON `{callbackId, agentId, reason?}`. A preview already in progress is sent at once on connect. Comment lines keep the stream alive every 15 s.',
      tag: 'me',
      access: 'agent',
      query: meQuery,
      sse: true,
      responses: { '200': { description: 'The event stream', schema: { type: 'string' } }, ...errors('400', '401', '403') },
    },
  ];
}

/** The agent a /me route acts for: the agent token's own, or (admin tokens) `?agentId=`. */
export function meQueryAgent(admin: AdminOperations, req: RouteRequest): string {
  const p = req.principal;
  const asked = typeof req.query.agentId === 'string' ? req.query.agentId : undefined;
  if (p?.kind === 'agent') {
    if (asked !== undefined && asked !== p.agentId) throw new ApiError(403, 'an agent token acts only for its own agent', 'agentId');
    return p.agentId;
  }
  if (asked === undefined) throw new ApiError(400, 'agentId: an admin token must name the agent (?agentId=)', 'agentId');
  if (!admin.agent(asked)) throw new ApiError(404, `unknown agent '${asked}'`, 'agentId');
  return asked;
}
