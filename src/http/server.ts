import fs from 'node:fs';
import path from 'node:path';
import { ServerResponse } from 'node:http';
import Fastify, { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../config/config';
import { AdminHost } from '../engine/admin-port';
import { Logger } from '../logging/logger';
import { PluginMetrics } from '../metrics/metrics';
import { FailedAuthGuard, isLoopbackHost, StreamCap } from './abuse-guards';
import { AgentEventHub, AgentNotice } from './agent-events';
import { Principal, TokenVerifier } from './auth';
import { buildOpenApi } from './openapi';
import { ApiError, RouteRequest, RouteSpec } from './route-spec';
import { reportRoutes } from './report-routes';
import { apiRoutes, meQueryAgent } from './routes';
import { PACKAGE_ROOT, packageVersion } from '../package-root';
import { WallFeed } from './wall-feed';
import { registerWallStream, wallApiRoutes } from './wall-routes';

/**
 * The administrators' and agents' HTTP surface: REST API under /api/v1 (OpenAPI document at
 * /api/v1/openapi.json), the agent panel under /panel/, Prometheus metrics at /metrics.
 * Fastify's own request logging is off: request headers (tokens) never reach a log line.
 */
export const API_PREFIX = '/api/v1';
/** Static files, shipped as they are (not compiled): the same folder under tsx and from dist/. */
export const PANEL_DIR = path.join(PACKAGE_ROOT, 'src', 'panel');
/** A Map, not an object: `/panel/__proto__` or `/panel/constructor` must find nothing (issue 19). */
const PANEL_FILES: ReadonlyMap<string, string> = new Map([
  ['index.html', 'text/html; charset=utf-8'],
  ['panel.js', 'text/javascript; charset=utf-8'],
  ['panel.css', 'text/css; charset=utf-8'],
  // The event-stream reader both pages load before their own script.
  ['event-stream.js', 'text/javascript; charset=utf-8'],
  // The supervisors' wallboard: /panel/wall is wall.html.
  ['wall', 'text/html; charset=utf-8'],
  ['wall.js', 'text/javascript; charset=utf-8'],
  ['wall.css', 'text/css; charset=utf-8'],
]);
const SSE_PING_MS = 15000;

export interface HttpDeps {
  /** Carries the admin operations the routes, the panel's events and the metrics use. */
  app: AdminHost;
  config: AppConfig;
  logger: Logger;
  metrics: PluginMetrics;
}

export interface HttpSurface {
  server: FastifyInstance;
  hub: AgentEventHub;
  /** e.g. http://127.0.0.1:8090 */
  url: string;
  close(): Promise<void>;
}

function fieldOf(e: FastifyError): string | undefined {
  const first = e.validation?.[0];
  if (!first) return undefined;
  const params = first.params;
  const extra =
    typeof params.missingProperty === 'string'
      ? params.missingProperty
      : typeof params.additionalProperty === 'string'
        ? params.additionalProperty
        : undefined;
  const parts = first.instancePath.split('/').filter((p) => p !== '');
  if (extra) parts.push(extra);
  return parts.length > 0 ? parts.join('.') : undefined;
}

/** 429, with the whole seconds to wait in Retry-After when a wait is known. */
class TooManyRequests extends ApiError {
  constructor(
    message: string,
    readonly retryAfterSec?: number,
  ) {
    super(429, message);
  }
}

function sendError(reply: FastifyReply, status: number, error: string, field?: string): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="direct-callback"');
  return reply
    .code(status)
    .type('application/json')
    .send(field ? { error, field } : { error });
}

export function buildHttpServer(deps: HttpDeps): { server: FastifyInstance; hub: AgentEventHub } {
  const { config, logger, metrics } = deps;
  const { admin } = deps.app;
  const verifier = new TokenVerifier(config.api.tokens);
  for (const id of verifier.agentScopes())
    if (!admin.agent(id)) logger.warn('an API token names an agent that is not configured', { agentId: id });
  const hub = new AgentEventHub(admin);
  const streams = new Set<ServerResponse>();
  const guard = new FailedAuthGuard(config.api.failedAuthPerMinute, () => admin.now());
  const streamCap = new StreamCap<Principal>(config.api.streamsPerToken);
  const server = Fastify({
    logger: false,
    // Behind a configured reverse proxy, request.ip is the client from X-Forwarded-For.
    trustProxy: config.http.trustedProxies.length > 0 ? config.http.trustedProxies : false,
    forceCloseConnections: true,
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  });
  const wall = new WallFeed(admin, { timeZone: config.reports.timeZone, serviceLevelSec: config.reports.serviceLevelSec }, logger);
  const routes = [...apiRoutes({ admin, crm: config.crm }), ...reportRoutes({ admin, reports: config.reports }), ...wallApiRoutes(wall)];
  const openapi = buildOpenApi(routes, packageVersion());

  server.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof TooManyRequests && err.retryAfterSec !== undefined) reply.header('retry-after', String(err.retryAfterSec));
    if (err instanceof ApiError) return sendError(reply, err.status, err.message, err.field);
    if (err.validation) {
      const field = fieldOf(err);
      const first = err.validation[0];
      const what =
        first?.keyword === 'required'
          ? 'is required'
          : first?.keyword === 'additionalProperties'
            ? 'is not a known field'
            : (first?.message ?? 'is invalid');
      return sendError(reply, 400, field ? `${field}: ${what}` : `${err.validationContext ?? 'request'} ${what}`, field);
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500)
      return sendError(reply, err.statusCode, err.message);
    logger.error('API request failed', { method: request.method, route: request.routeOptions.url, error: err.stack ?? String(err) });
    return sendError(reply, 500, 'internal error');
  });
  server.setNotFoundHandler((request, reply) => sendError(reply, 404, `no route ${request.method} ${request.url.split('?')[0] ?? ''}`));

  // Every answer may carry customers' names and numbers: no cache keeps it, no browser sniffs it.
  // (The panel's static files set their own cache-control; the event stream writes its own headers.)
  server.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });

  /** The token's principal; 401 without a (known) token, 429 while the client is blocked for guessing. */
  const authenticate = (request: FastifyRequest): Principal => {
    const header = request.headers.authorization;
    if (!header) throw new ApiError(401, 'missing token: send Authorization: Bearer <token>');
    const wait = guard.retryAfterSec(request.ip);
    if (wait > 0) throw new TooManyRequests('too many wrong tokens from this address; try again later', wait);
    const principal = verifier.verify(header);
    if (!principal) {
      guard.failed(request.ip);
      throw new ApiError(401, 'invalid token');
    }
    return principal;
  };

  const authorize = (spec: RouteSpec, request: FastifyRequest): Principal | undefined => {
    if (spec.access === 'public') return undefined;
    const principal = authenticate(request);
    if (principal.kind === 'metrics') throw new ApiError(403, 'a metrics token may read only /metrics');
    if (spec.access === 'admin' && principal.kind !== 'admin') throw new ApiError(403, 'this route needs an admin token');
    // A supervisor reads (reports, wallboard); it never acts for an agent or changes a callback.
    if (spec.access === 'agent' && principal.kind === 'supervisor') throw new ApiError(403, 'a supervisor token is read-only');
    if (spec.access === 'supervisor' && principal.kind !== 'admin' && principal.kind !== 'supervisor')
      throw new ApiError(403, 'this route needs an admin or supervisor token');
    return principal;
  };

  for (const spec of routes) {
    server.route({
      method: spec.method,
      url: API_PREFIX + spec.path.replace(/\{(\w+)\}/g, ':$1'),
      schema: {
        ...(spec.params ? { params: spec.params } : {}),
        ...(spec.query ? { querystring: spec.query } : {}),
        ...(spec.body ? { body: spec.body } : {}),
      },
      // Authentication before validation: an anonymous caller learns nothing about the input rules.
      preValidation: async (request) => {
        request.principal = authorize(spec, request);
        // A POST without a body counts as `{}` (cancel, accept, decline take only optional fields).
        if (spec.method === 'POST' && (request.body === undefined || request.body === null)) request.body = {};
      },
      handler: async (request, reply) => {
        const req: RouteRequest = {
          principal: request.principal,
          params: (request.params ?? {}) as Record<string, string>,
          query: (request.query ?? {}) as Record<string, unknown>,
          body: (request.body ?? {}) as Record<string, unknown>,
          accept: request.headers.accept,
        };
        if (spec.sse && request.principal) return openStream(reply, meQueryAgent(admin, req), request.principal);
        if (!spec.handler) throw new Error(`route ${spec.path} has no handler`);
        const result = await spec.handler(req);
        if (result.contentType) reply.type(result.contentType);
        return reply.code(result.status ?? 200).send(result.body);
      },
    });
  }
  server.removeContentTypeParser('application/json');
  server.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body: string, done) => {
    if (body.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body) as unknown);
    } catch {
      done(new ApiError(400, 'the body is not valid JSON'), undefined);
    }
  });

  const openStream = (reply: FastifyReply, agentId: string, holder: Principal): void => {
    const release = streamCap.tryOpen(holder);
    if (!release) throw new TooManyRequests(`this token already holds ${config.api.streamsPerToken} event streams (api.streamsPerToken)`);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const send = (n: AgentNotice) =>
      raw.write(
        `event: ${n.event}\ndata: ${JSON.stringify({ callbackId: n.callbackId, agentId: n.agentId, ...(n.reason ? { reason: n.reason } : {}) })}\n\n`,
      );
    raw.write('retry: 2000\n: connected\n\n');
    const current = admin.activePreviewOf(agentId);
    if (current) send({ event: 'preview_started', callbackId: current.callbackId, agentId });
    const unsubscribe = hub.subscribe(agentId, send);
    const ping = setInterval(() => raw.write(': ping\n\n'), SSE_PING_MS);
    streams.add(raw);
    // The response's close: the client went away or the server ended the stream.
    raw.on('close', () => {
      clearInterval(ping);
      unsubscribe();
      streams.delete(raw);
      release();
    });
  };

  registerWallStream(server, API_PREFIX, {
    feed: wall,
    authenticate,
    perToken: streamCap,
    streamsPerToken: config.api.streamsPerToken,
    streams,
  });

  server.get(`${API_PREFIX}/openapi.json`, async (_request, reply) => reply.send(openapi));

  server.get('/metrics', async (request, reply) => {
    if (config.http.metricsAccess === 'token' && authenticate(request).kind === 'agent')
      throw new ApiError(403, '/metrics needs an admin or metrics token');
    return reply.type(metrics.contentType).send(await metrics.text());
  });

  // The agent panel and the wallboard: the files of PANEL_FILES, no directory listing, a strict content security policy.
  server.get('/panel', async (_request, reply) => reply.redirect('/panel/'));
  server.get('/panel/*', async (request, reply) => {
    const name = (request.params as Record<string, string>)['*'] || 'index.html';
    const type = PANEL_FILES.get(name);
    if (!type) return sendError(reply, 404, 'not found');
    const body = await fs.promises.readFile(path.join(PANEL_DIR, name === 'wall' ? 'wall.html' : name));
    return reply
      .type(type)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
      )
      .send(body);
  });

  server.addHook('preClose', async () => {
    for (const s of streams) s.end();
    streams.clear();
    hub.stop();
    metrics.stop();
  });
  return { server, hub };
}

export async function startHttpServer(deps: HttpDeps): Promise<HttpSurface> {
  const { server, hub } = buildHttpServer(deps);
  const { host, port } = deps.config.http;
  await server.listen({ host, port });
  const address = server.server.address();
  const actualPort = address && typeof address === 'object' ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  deps.logger.info('HTTP API listening', {
    url,
    api: `${url}${API_PREFIX}`,
    panel: `${url}/panel/`,
    metrics: `${url}/metrics`,
    tokens: deps.config.api.tokens.length,
  });
  if (!isLoopbackHost(host))
    deps.logger.warn(
      'HTTP API listens beyond loopback over plain HTTP (no TLS here): put a TLS reverse proxy in front, or tokens and customers’ numbers cross the network in clear',
      {
        host,
        metrics:
          deps.config.http.metricsAccess === 'public'
            ? 'open to anyone who reaches the port (http.metricsAccess: token closes it)'
            : 'token',
      },
    );
  return { server, hub, url, close: () => server.close() };
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}
