import { ServerResponse } from 'node:http';
import { FastifyInstance, FastifyRequest } from 'fastify';
import { StreamCap } from './abuse-guards';
import { Principal } from './auth';
import { ApiError, RouteSpec } from './route-spec';
import { WallFeed } from './wall-feed';

/**
 * The supervisors' wallboard over HTTP: its page is /panel/wall (served with the agent panel's
 * files and policy, server.ts), its live frames come from GET /api/v1/wall/events (server-sent
 * events, one producer for every viewer: wall-feed.ts), and GET /api/v1/wall answers one frame.
 * A supervisor or admin token reads them; an agent or metrics token gets 403.
 */

/** Screens that may watch at once, all tokens together (each token also has api.streamsPerToken). */
export const WALL_VIEWERS_MAX = 50;
const SSE_PING_MS = 15000;
/** A viewer this far behind (a frozen tab, a dead link) is dropped rather than buffered for. */
const MAX_BACKLOG_BYTES = 1024 * 1024;

const mayWatch = (p: Principal): boolean => p.kind === 'admin' || p.kind === 'supervisor';

/** GET /wall, in the OpenAPI document with the other routes. */
export function wallApiRoutes(feed: WallFeed): RouteSpec[] {
  return [
    {
      method: 'GET',
      path: '/wall',
      summary: 'The wallboard: queues, waiting items with their priority, agents, the day so far',
      description:
        'One frame of the wallboard, as GET /api/v1/wall/events (text/event-stream, event `wall`) sends one a second to every viewer. Holds no customer numbers or names.',
      tag: 'reports',
      access: 'supervisor',
      responses: {
        '200': {
          description: 'The frame',
          schema: {
            type: 'object',
            properties: {
              at: { type: 'string', format: 'date-time' },
              queues: { type: 'array', items: { type: 'object' } },
              agents: { type: 'array', items: { type: 'object' } },
              day: { type: ['object', 'null'] },
              dayStale: { type: 'boolean' },
            },
          },
        },
      },
      handler: async () => ({ body: await feed.current() }),
    },
  ];
}

export interface WallStreamDeps {
  feed: WallFeed;
  /** The server's token check (with its guard against guessing): 401 / 429 as for every route. */
  authenticate(request: FastifyRequest): Principal;
  /** The server's per-token cap on event streams (api.streamsPerToken), shared with the agents' streams. */
  perToken: StreamCap<Principal>;
  streamsPerToken: number;
  /** The server's open streams, ended when it closes. */
  streams: Set<ServerResponse>;
  maxViewers?: number;
}

export function registerWallStream(server: FastifyInstance, prefix: string, deps: WallStreamDeps): void {
  const { feed } = deps;
  const maxViewers = deps.maxViewers ?? WALL_VIEWERS_MAX;
  const everyone = new StreamCap<'wall'>(maxViewers);

  server.get(`${prefix}/wall/events`, async (request, reply) => {
    const principal = deps.authenticate(request);
    if (!mayWatch(principal)) throw new ApiError(403, 'the wallboard needs a supervisor or admin token');
    const releaseSeat = everyone.tryOpen('wall');
    if (!releaseSeat) throw new ApiError(429, `the wallboard already has ${maxViewers} viewers`);
    const releaseToken = deps.perToken.tryOpen(principal);
    if (!releaseToken) {
      releaseSeat();
      throw new ApiError(429, `this token already holds ${deps.streamsPerToken} event streams (api.streamsPerToken)`);
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write('retry: 2000\n: connected\n\n');
    const send = (text: string): void => {
      if (raw.writableEnded) return;
      if (raw.writableLength > MAX_BACKLOG_BYTES) raw.end();
      else raw.write(text);
    };
    const unsubscribe = feed.subscribe(send);
    const ping = setInterval(() => send(': ping\n\n'), SSE_PING_MS);
    deps.streams.add(raw);
    raw.on('close', () => {
      clearInterval(ping);
      unsubscribe();
      deps.streams.delete(raw);
      releaseToken();
      releaseSeat();
    });
  });

  server.addHook('preClose', async () => feed.stop());
}
