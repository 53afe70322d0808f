import { EventEmitter } from 'node:events';
import ariClient, { AriClient } from 'ari-client';
import { Logger } from '../logging/logger';
import { AriEvent, HANDLED_EVENT_TYPES, decodeAriEvent } from './ari-events';
import { AriRestTarget, ariRestTarget } from './rest-client';

/**
 * Owns the ARI connection (ari-client is only used through this class):
 * - start-up retries forever with capped back-off (ari-client itself gives up);
 * - swagger-client throws the failure message as an uncaught *string* when the api-docs answer
 *   401/503 while Asterisk boots; that exact shape is caught here and turned into a retry;
 * - when ari-client exhausts its 10 WebSocket reconnects, or another socket took the app (Asterisk
 *   sends that socket's predecessor ApplicationReplaced and then nothing, without closing it),
 *   the connection is rebuilt from scratch;
 * - every (re)connection emits `connected` so the app reconciles: Asterisk drops the events of a
 *   gap (a caller's DTMF included) and replays nothing.
 */
export interface AriConnectionOptions {
  url: string;
  user: string;
  password: string;
  app: string;
  logger: Logger;
  /** Back-off bounds for (re)connecting. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /**
   * Another WebSocket took the app name (ApplicationReplaced): take it back (true), or
   * yield to it (false: this connection stops; the caller decides what that means).
   */
  reclaimWhenReplaced?: () => boolean;
}

export interface AriConnectionEvents {
  event: [AriEvent];
  connected: [{ reconnect: boolean }];
  disconnected: [];
  /** Yielded the app to another connection (reclaimWhenReplaced said no). */
  replaced: [];
}

/**
 * swagger-client (inside ari-client) prints through an implicit global `log` straight to
 * stdout ("This API is using a deprecated version of Swagger!"); route it to our logger so stdout
 * stays clean for tools that print JSON.
 */
function captureSwaggerLog(logger: Logger): void {
  (globalThis as { log?: unknown }).log = (...args: unknown[]) =>
    logger.debug('swagger-client', { detail: args.map(String).join(' ').slice(0, 300) });
}

let stringThrowGuardInstalled = false;
function installStringThrowGuard(logger: Logger): void {
  if (stringThrowGuardInstalled) return;
  stringThrowGuardInstalled = true;
  process.on('uncaughtException', (err: unknown) => {
    if (typeof err === 'string') {
      // swagger-client's SwaggerApi.fail(): `this.failure(message); throw message;` The failure
      // callback already rejected our connect attempt, which is retried.
      logger.warn('ari api-docs load failed (swagger-client threw a string); retrying', { detail: err.slice(0, 200) });
      return;
    }
    logger.error('uncaught exception', { error: err instanceof Error ? err.stack : String(err) });
    process.exit(1);
  });
  // A rejection nobody handled is a bug in one call's handling (each call path catches its own
  // failures and ends that call). Left to Node it becomes an uncaught exception, and the exit
  // above would drop every other caller in Stasis with it: logged as an error instead.
  process.on('unhandledRejection', (reason: unknown) => {
    logger.error('unhandled rejection; the process goes on', { error: reason instanceof Error ? reason.stack : String(reason) });
  });
}

/**
 * Which Asterisk this is (its entity id) and its version, over ARI's REST API alone: a standby
 * process learns its group without opening the WebSocket that only the leader may open.
 */
export async function fetchAsteriskInfo(url: string, user: string, password: string): Promise<{ entityId: string; version: string }> {
  const auth = Buffer.from(`${user}:${password}`).toString('base64');
  const res = await fetch(`${url.replace(/\/+$/, '')}/ari/asterisk/info`, {
    headers: { authorization: `Basic ${auth}` },
    signal: AbortSignal.timeout(5000),
  });
  if (res.status !== 200) throw new Error(`GET /ari/asterisk/info answered ${res.status}`);
  const body = (await res.json()) as { system?: { entity_id?: unknown; version?: unknown } };
  const entityId = body.system?.entity_id;
  if (typeof entityId !== 'string') throw new Error('GET /ari/asterisk/info has no system.entity_id');
  return { entityId, version: typeof body.system?.version === 'string' ? body.system.version : 'unknown' };
}

export class AriConnection extends EventEmitter<AriConnectionEvents> {
  private client: AriClient | undefined;
  private stopped = false;
  private everConnected = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  /** Where REST requests go and as whom: the same Asterisk and credentials as the WebSocket. */
  readonly restTarget: AriRestTarget;

  constructor(private readonly opts: AriConnectionOptions) {
    super();
    this.restTarget = ariRestTarget(opts.url, opts.user, opts.password);
  }

  /** The live client; throws if there is none (callers' requests then fail as transport errors). */
  current(): AriClient {
    if (!this.client) throw new Error('ECONNREFUSED: ARI is not connected');
    return this.client;
  }

  get isConnected(): boolean {
    return this.client !== undefined;
  }

  /** Resolves at the first successful connection; keeps retrying in the background for ever. */
  start(): Promise<void> {
    installStringThrowGuard(this.opts.logger);
    captureSwaggerLog(this.opts.logger);
    return new Promise((resolve) => {
      this.once('connected', () => resolve());
      void this.connectOnce();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = undefined;
    if (c) {
      c.removeAllListeners();
      try {
        c.stop();
      } catch {
        /* socket already gone */
      }
    }
  }

  /** Drops the current client and builds a new one (ari-client cannot be revived once it gave up). */
  private rebuild(why: string): void {
    if (this.stopped) return;
    this.opts.logger.warn('ari connection lost; rebuilding', { why });
    const c = this.client;
    this.client = undefined;
    if (c) {
      c.removeAllListeners();
      try {
        c.stop();
      } catch {
        /* ignore */
      }
    }
    this.emit('disconnected');
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    const min = this.opts.minDelayMs ?? 200;
    const max = this.opts.maxDelayMs ?? 5000;
    const delay = Math.min(max, min * 2 ** Math.min(this.attempt, 10));
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connectOnce();
    }, delay);
  }

  /**
   * Asks for the api-docs ourselves before handing over to ari-client: while Asterisk boots they
   * answer 401/503, and swagger-client would then throw a bare string out of an HTTP callback
   * (an uncaught exception; see installStringThrowGuard). Only a 200 lets ari-client try.
   */
  private async apiDocsReady(): Promise<string | undefined> {
    const url = `${this.opts.url.replace(/\/+$/, '')}/ari/api-docs/resources.json`;
    const auth = Buffer.from(`${this.opts.user}:${this.opts.password}`).toString('base64');
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 5000);
    try {
      const res = await fetch(url, { headers: { authorization: `Basic ${auth}` }, signal: ctl.signal });
      await res.arrayBuffer().catch(() => undefined);
      return res.status === 200 ? undefined : `api-docs answered ${res.status}`;
    } catch (e) {
      const cause = (e as { cause?: { code?: unknown } }).cause;
      return `api-docs unreachable: ${typeof cause?.code === 'string' ? cause.code : e instanceof Error ? e.message : String(e)}`;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Events are decoded here from the socket's raw messages (decodeAriEvent), not by ari-client:
   * its decoding built REST resource objects for every event that nothing uses. ari-client still
   * owns the socket (its reconnects, WebSocketConnected, WebSocketMaxRetries) and the REST API.
   * Each socket it opens announces itself with WebSocketConnected, from the socket's 'open',
   * before any message can arrive on it; its message listener is replaced then.
   */
  private decodeEventsOf(client: AriClient, onEvent: (event: AriEvent) => void): void {
    const ws = client._ws;
    if (!ws || typeof ws.removeAllListeners !== 'function') {
      this.opts.logger.warn('ari-client has no socket to read; its own event decoding stays');
      return;
    }
    ws.removeAllListeners('message');
    ws.on('message', (data: unknown) => {
      const event = decodeAriEvent(data);
      if (event) onEvent(event);
    });
  }

  private async connectOnce(): Promise<void> {
    if (this.stopped) return;
    const notReady = await this.apiDocsReady();
    if (this.stopped) return;
    if (notReady !== undefined) {
      this.opts.logger.warn('ari connect failed', { url: this.opts.url, error: notReady, attempt: this.attempt });
      this.scheduleRetry();
      return;
    }
    let client: AriClient;
    try {
      client = await ariClient.connect(this.opts.url, this.opts.user, this.opts.password);
    } catch (e) {
      this.opts.logger.warn('ari connect failed', {
        url: this.opts.url,
        error: e instanceof Error ? e.message : String(e),
        attempt: this.attempt,
      });
      this.scheduleRetry();
      return;
    }
    if (this.stopped) return;
    const onEvent = (event: AriEvent): void => {
      if (event.type === 'ApplicationReplaced') {
        // Another socket took our app name: Asterisk sends this one nothing more and leaves it open.
        if (this.opts.reclaimWhenReplaced?.() === false) {
          this.emit('replaced');
          void this.stop();
          return;
        }
        this.opts.logger.error(
          'another connection took this Stasis app; taking it back (is a second plugin configured with the same app name?)',
          { app: this.opts.app },
        );
        this.rebuild('ApplicationReplaced');
        return;
      }
      this.emit('event', event);
    };
    // ari-client's own decoding, used only on a socket this connection could not take over.
    for (const type of HANDLED_EVENT_TYPES) client.on(type, onEvent);
    client.on('WebSocketMaxRetries', () => this.rebuild('WebSocketMaxRetries'));
    client.on('WebSocketReconnecting', () => this.opts.logger.warn('ari websocket reconnecting'));
    client.on('WebSocketConnected', () => {
      if (this.client !== client) return;
      this.decodeEventsOf(client, onEvent);
      // ari-client's own reconnect succeeded: events may have been lost in the gap.
      this.opts.logger.info('ari websocket connected', { reconnect: this.everConnected });
      const reconnect = this.everConnected;
      this.everConnected = true;
      this.emit('connected', { reconnect });
    });
    this.client = client;
    try {
      await client.start(this.opts.app);
      this.attempt = 0;
    } catch (e) {
      this.rebuild(`websocket start failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
