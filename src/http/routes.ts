import { ITEM_PRIORITY_MAX, ITEM_PRIORITY_MIN, WorkItem } from '../domain';
import { AdminOperations, CallbackRefused } from '../engine/admin-port';
import { CallbackStatus } from '../store/callback-store';
import { agentView, attemptView, callbackView, historyView, queueView } from './views';
import { ApiError, JsonSchema, RouteSpec } from './route-spec';
import { errors, ID, ref, UUID } from './route-schemas';
import { changePresence, meRoutes } from './me-routes';

/**
 * Every route of /api/v1: the admin routes (queues, callbacks, agents) here, the agent's own /me
 * routes from me-routes.ts. The OpenAPI document is built from these.
 */

// server.ts resolves the agent of the /me/events stream with it.
export { meQueryAgent } from './me-routes';

const STATUSES: CallbackStatus[] = ['pending', 'in_progress', 'completed', 'failed', 'cancelled', 'expired'];
/** A dialable number: optional +, 3 to 20 digits. */
export const NUMBER_PATTERN = '^\\+?[0-9]{3,20}$';

const idParam = (pattern: string, description: string): JsonSchema => ({
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern, description } },
  additionalProperties: false,
});
const dateTime = (description: string): JsonSchema => ({ type: 'string', format: 'date-time', description });

function parseDate(value: unknown, field: string): Date {
  const d = typeof value === 'string' ? new Date(value) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new ApiError(400, `${field}: not a valid date-time (ISO 8601, e.g. 2030-01-31T14:00:00Z)`, field);
  return d;
}

/** One waiting item as GET /queues/{id}/waiting shows it. */
const WAITING_ITEM: JsonSchema = {
  type: 'object',
  properties: {
    position: { type: 'integer' },
    id: { type: 'string' },
    kind: { type: 'string', enum: ['caller', 'callback'] },
    priority: { type: 'integer' },
    arrivedAt: { type: 'string', format: 'date-time' },
  },
};
const waitingItemView = (item: WorkItem, i: number) => ({
  position: i + 1,
  id: item.id,
  kind: item.kind,
  priority: item.priority,
  arrivedAt: new Date(item.arrivedAt).toISOString(),
});

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
      return changePresence(admin, id, change, 'api');
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
    {
      method: 'GET',
      path: '/queues/{id}/waiting',
      summary: 'Who waits in one queue, in service order: priority, then original arrival',
      description: 'Live callers (of every instance) and open callbacks alike, each with the priority that places it.',
      tag: 'queues',
      access: 'admin',
      params: idParam(ID, 'Queue id'),
      responses: {
        '200': {
          description: 'The waiting items, first served first',
          schema: { type: 'object', properties: { queueId: { type: 'string' }, items: { type: 'array', items: WAITING_ITEM } } },
        },
        ...errors('400', '401', '403', '404'),
      },
      handler: async (req) => {
        const id = req.params.id ?? '';
        const items = admin.queueItems(id);
        if (!items) throw new ApiError(404, `unknown queue '${id}'`, 'id');
        return { body: { queueId: id, items: items.map(waitingItemView) } };
      },
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
          priority: {
            type: 'integer',
            minimum: ITEM_PRIORITY_MIN,
            maximum: ITEM_PRIORITY_MAX,
            description: "Its priority in the queue, higher served first (absent: the queue's). Nothing is added to it.",
          },
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
            priority: typeof b.priority === 'number' ? b.priority : undefined,
          });
        } catch (e) {
          // The message starts with the field at fault (admin-port.ts).
          if (e instanceof CallbackRefused) throw new ApiError(400, e.message, e.message.startsWith('priority:') ? 'priority' : 'number');
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
    ...meRoutes({ admin, crm }),
  ];
}
