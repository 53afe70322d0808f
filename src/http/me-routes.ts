import { AdminOperations } from '../engine/admin-port';
import { crmLookup } from './crm';
import { agentView, attemptView, historyView } from './views';
import { ApiError, JsonSchema, RouteRequest, RouteSpec } from './route-spec';
import { errors, ID, ref, UUID } from './route-schemas';
import type { RouteDeps } from './routes';

/** The agent's own routes under /api/v1/me (agent tokens, or admin tokens naming the agent): presence, the preview call, its events. */

const meQuery: JsonSchema = {
  type: 'object',
  properties: { agentId: { type: 'string', pattern: ID, description: 'Admin tokens only: act as this agent' } },
  additionalProperties: false,
};

/**
 * Sets an agent's presence and answers the agent as it is now. Shared with the admin presence
 * routes so both answer a failed store the same way.
 */
export async function changePresence(
  admin: AdminOperations,
  agentId: string,
  change: { loggedIn?: boolean; paused?: boolean },
  source: 'api' | 'panel',
) {
  try {
    await admin.setAgentPresence(agentId, change, source);
  } catch {
    // Applied on this instance, but a restart or another instance would not know it.
    throw new ApiError(503, 'the change applies now but could not be stored; try again');
  }
  const agent = admin.agent(agentId);
  if (!agent) throw new ApiError(404, `unknown agent '${agentId}'`, 'id');
  return { body: agentView(admin, agent) };
}

export function meRoutes({ admin, crm }: RouteDeps): RouteSpec[] {
  const store = admin.callbacks;

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

  return [
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
        return changePresence(
          admin,
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
