import { EventEmitter } from 'node:events';
import AsteriskManager from 'asterisk-manager';
import { Logger, registerSecret } from '../logging/logger';
import {
  AmiAction,
  AmiActionError,
  AmiActionOptions,
  AmiEvent,
  AmiFields,
  AmiListOptions,
  AmiListResult,
  fieldsOf,
  whyRefused,
} from './ami-messages';

/**
 * Our own AMI client, built on asterisk-manager 0.2.0 for the wire protocol only (framing and
 * parsing). What the library does not do, or does badly, is owned here:
 * - reconnect: the library's keepConnected() retries at a fixed +10 s step and logs through
 *   console.log; here every attempt is a fresh library instance (no stale parser buffer, no
 *   "held" actions replayed into a new session) with capped exponential back-off, forever;
 * - timeouts: the library has none. Every action has one (default 5 s) and every pending action
 *   is rejected the moment the socket closes, so nothing ever hangs;
 * - ActionIDs: the library defaults to Date.now() (collides under load); ours are unique;
 * - dead peers: a periodic `Ping` whose timeout counts as a lost connection (TCP keep-alive
 *   alone takes hours to notice a vanished Asterisk);
 * - header injection: values with CR/LF are refused before they reach the socket.
 * The password is handed to the library and never to the logger (it is also registered with the
 * logger's redaction as a last line of defence).
 * Client only: nothing listens.
 */

let instanceCounter = 0;

export interface AmiConnectionOptions {
  host: string;
  port: number;
  username: string;
  password: string;
  logger: Logger;
  /** Default timeout of an action. Default 5000 ms. */
  actionTimeoutMs?: number;
  /** TCP connect + login must finish within this. Default 5000 ms. */
  loginTimeoutMs?: number;
  /** Back-off between attempts: minDelayMs * 2^n, capped at maxDelayMs, ±25 % jitter. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A connection up for this long resets the back-off. Default 10000 ms. */
  stableAfterMs?: number;
  /** Interval of the liveness `Ping`; 0 disables. Default 30000 ms. */
  pingIntervalMs?: number;
}

export interface AmiConnectionEvents {
  /** Logged in. `reconnect` is true after the first time: events of the gap are lost, re-read state. */
  connected: [{ reconnect: boolean }];
  /** A logged-in connection was lost. */
  disconnected: [{ reason: string }];
  /** Asterisk refused the login (the connection keeps retrying with back-off). */
  loginFailed: [{ message: string }];
  /** An unsolicited event (events answering our own list actions are not repeated here). */
  event: [AmiEvent];
}

interface Pending {
  action: string;
  timer: NodeJS.Timeout;
  resolve: (fields: AmiFields) => void;
  reject: (err: AmiActionError) => void;
  list?: {
    response?: AmiFields;
    events: AmiEvent[];
    onEvent?: (event: AmiEvent) => void;
    resolve: (result: AmiListResult) => void;
  };
}

export class AmiConnection extends EventEmitter<AmiConnectionEvents> {
  private readonly log: Logger;
  private readonly actionTimeoutMs: number;
  private readonly loginTimeoutMs: number;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly stableAfterMs: number;
  private readonly pingIntervalMs: number;
  /** ActionID prefix, unique per connection object so two in one process never mix answers. */
  private readonly idPrefix: string;
  private seq = 0;

  private manager: AsteriskManager.Manager | undefined;
  /** Bumped whenever the current library instance is given up: callbacks of older ones are ignored. */
  private generation = 0;
  private started = false;
  private stopped = false;
  private ready = false;
  private readyAt = 0;
  private everConnected = false;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private loginTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly opts: AmiConnectionOptions) {
    super();
    registerSecret(opts.password);
    this.log = opts.logger.child({ component: 'ami' });
    this.actionTimeoutMs = opts.actionTimeoutMs ?? 5000;
    this.loginTimeoutMs = opts.loginTimeoutMs ?? 5000;
    this.minDelayMs = opts.minDelayMs ?? 500;
    this.maxDelayMs = Math.max(opts.maxDelayMs ?? 30_000, this.minDelayMs);
    this.stableAfterMs = opts.stableAfterMs ?? 10_000;
    this.pingIntervalMs = opts.pingIntervalMs ?? 30_000;
    this.idPrefix = `dc${process.pid}.${++instanceCounter}.`;
  }

  /** Starts connecting (and keeps reconnecting until stop()). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.connectNow();
  }

  /** Logged in and usable. */
  isReady(): boolean {
    return this.ready;
  }

  /** One action, one answer (`Response: Success` resolves, `Response: Error` rejects). */
  action(action: AmiAction, opts: AmiActionOptions = {}): Promise<AmiFields> {
    return new Promise((resolve, reject) => {
      this.send(action, opts.timeoutMs, { resolve, reject });
    });
  }

  /**
   * An action answered by an event list (`EventList: start` ... `<Name>Complete`), e.g.
   * QueueStatus. The timeout covers the whole list.
   */
  actionList(action: AmiAction, opts: AmiListOptions = {}): Promise<AmiListResult> {
    return new Promise((resolve, reject) => {
      this.send(action, opts.timeoutMs, { resolve: () => undefined, reject, list: { events: [], onEvent: opts.onEvent, resolve } });
    });
  }

  /** Stops reconnecting, fails pending actions and closes the socket. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    const mgr = this.manager;
    const wasOpen = mgr?.isConnected() === true;
    this.giveUpCurrent();
    this.ready = false;
    this.failPending('stopped', 'AMI connection stopped');
    if (mgr && wasOpen) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        mgr.on('close', () => {
          clearTimeout(t);
          resolve();
        });
        mgr.disconnect();
      });
    } else {
      mgr?.disconnect();
    }
    this.log.info('ami stopped');
  }

  // --- connection lifecycle -------------------------------------------------------------------

  private connectNow(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    const { host, port, username, password } = this.opts;
    // A falsy port keeps the library from connecting (and logging in) on its own.
    const mgr = AsteriskManager(undefined, host, username, password, true);
    this.manager = mgr;
    const current = (): boolean => this.generation === generation && !this.stopped;

    mgr.on('error', (err: Error) => {
      if (current()) this.log.debug('ami socket error', { error: err.message });
    });
    mgr.on('close', () => {
      if (current()) this.lost(this.ready ? 'socket closed' : 'socket closed before login');
    });
    mgr.on('managerevent', (raw) => {
      if (current()) this.onRawEvent(raw);
    });

    this.loginTimer = setTimeout(() => {
      if (current() && !this.ready) this.lost(`no login within ${this.loginTimeoutMs} ms`);
    }, this.loginTimeoutMs);

    this.log.debug('ami connecting', { host, port, user: username, attempt: this.failures + 1 });
    mgr.connect(port, host, () => {
      if (!current()) {
        // A given-up attempt that connected late: close it, nobody will use it.
        mgr.disconnect();
        return;
      }
      mgr.login((err) => {
        if (!current()) return;
        if (err) {
          const message = fieldsOf(err).message ?? 'login rejected';
          this.log.error('ami login failed', { host, port, user: username, reason: message });
          this.emit('loginFailed', { message });
          this.lost(`login failed: ${message}`);
          return;
        }
        this.onLoggedIn();
      });
    });
  }

  private onLoggedIn(): void {
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.loginTimer = undefined;
    this.ready = true;
    this.readyAt = Date.now();
    const reconnect = this.everConnected;
    this.everConnected = true;
    this.log.info('ami connected', { host: this.opts.host, port: this.opts.port, user: this.opts.username, reconnect });
    if (this.pingIntervalMs > 0) {
      const generation = this.generation;
      this.pingTimer = setInterval(() => this.ping(generation), this.pingIntervalMs);
    }
    this.emit('connected', { reconnect });
  }

  private ping(generation: number): void {
    if (generation !== this.generation || !this.ready) return;
    this.action({ action: 'Ping' }).catch((err: unknown) => {
      if (generation !== this.generation || this.stopped) return;
      if (err instanceof AmiActionError && err.kind === 'timeout') this.lost('ping unanswered (peer gone?)');
    });
  }

  /** The current attempt or session is over: fail what waits on it and schedule the next one. */
  private lost(reason: string): void {
    const wasReady = this.ready;
    const upFor = wasReady ? Date.now() - this.readyAt : 0;
    this.clearTimers();
    this.giveUpCurrent();
    this.ready = false;
    this.failPending('disconnected', `AMI connection lost (${reason})`);
    if (wasReady) {
      if (upFor >= this.stableAfterMs) this.failures = 0;
      this.log.warn('ami disconnected', { reason });
      this.emit('disconnected', { reason });
    } else {
      this.log.warn('ami connect failed', { host: this.opts.host, port: this.opts.port, reason });
    }
    this.scheduleReconnect();
  }

  private giveUpCurrent(): void {
    const mgr = this.manager;
    this.manager = undefined;
    this.generation++;
    // Ends the socket when open; one still connecting is closed by connectNow()'s late callback.
    mgr?.disconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const base = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** Math.min(this.failures, 30));
    const delay = Math.min(this.maxDelayMs, Math.round(base * (0.75 + Math.random() * 0.5)));
    this.failures++;
    this.log.info('ami reconnect scheduled', { inMs: delay, attempt: this.failures });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connectNow();
    }, delay);
  }

  private clearTimers(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.loginTimer) clearTimeout(this.loginTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.reconnectTimer = this.loginTimer = this.pingTimer = undefined;
  }

  // --- actions ----------------------------------------------------------------------------------

  private send(action: AmiAction, timeoutMs: number | undefined, handlers: Omit<Pending, 'action' | 'timer'>): void {
    const name = action.action;
    const invalid = whyRefused(action);
    if (invalid) {
      handlers.reject(new AmiActionError('invalid', name, `AMI action ${name} refused: ${invalid}`));
      return;
    }
    const mgr = this.manager;
    if (!this.ready || !mgr) {
      const why = this.stopped ? 'stopped' : 'not connected';
      handlers.reject(new AmiActionError(this.stopped ? 'stopped' : 'not_connected', name, `AMI action ${name} not sent: ${why}`));
      return;
    }
    const id = `${this.idPrefix}${++this.seq}`;
    const ms = timeoutMs ?? this.actionTimeoutMs;
    const timer = setTimeout(() => {
      if (!this.pending.delete(id)) return;
      this.manager?.removeAllListeners(id);
      handlers.reject(new AmiActionError('timeout', name, `AMI action ${name} got no answer within ${ms} ms`));
    }, ms);
    this.pending.set(id, { action: name, timer, ...handlers });

    const headers: AsteriskManager.Action = { action: name, actionid: id };
    for (const [key, value] of Object.entries(action)) {
      if (key === 'action' || value === undefined) continue;
      headers[key] = value;
    }
    mgr.action(headers, (err, response) => this.onResponse(id, err ?? response));
  }

  private onResponse(id: string, raw: AsteriskManager.RawMessage | undefined): void {
    const p = this.pending.get(id);
    if (!p) return;
    const fields = fieldsOf(raw);
    if ((fields.response ?? '').toLowerCase() === 'error') {
      this.settle(id);
      p.reject(new AmiActionError('rejected', p.action, `AMI action ${p.action} failed: ${fields.message ?? 'error'}`, fields));
      return;
    }
    if (p.list) {
      p.list.response = fields;
      return;
    }
    this.settle(id);
    p.resolve(fields);
  }

  private onRawEvent(raw: AsteriskManager.RawMessage): void {
    const fields = fieldsOf(raw);
    const event: AmiEvent = { name: fields.event ?? '', fields };
    const actionId = fields.actionid;
    if (actionId !== undefined && actionId.startsWith(this.idPrefix)) {
      // Part of a list answering one of our actions (possibly a late one: dropped).
      const p = this.pending.get(actionId);
      if (!p?.list) return;
      const complete = (fields.eventlist ?? '').toLowerCase() === 'complete' || /complete$/i.test(event.name);
      if (complete) {
        this.settle(actionId);
        p.list.resolve({ response: p.list.response ?? {}, events: p.list.events, complete: event });
        return;
      }
      p.list.events.push(event);
      try {
        p.list.onEvent?.(event);
      } catch (err) {
        this.log.error('ami list event handler failed', { action: p.action, error: err instanceof Error ? err.message : String(err) });
      }
      return;
    }
    this.emit('event', event);
  }

  private settle(id: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
  }

  private failPending(kind: 'disconnected' | 'stopped', why: string): void {
    const all = [...this.pending.values()];
    for (const p of all) clearTimeout(p.timer);
    this.pending.clear();
    for (const p of all) p.reject(new AmiActionError(kind, p.action, `AMI action ${p.action} failed: ${why}`));
  }
}
