import net from 'node:net';

/**
 * A small fake Asterisk Manager Interface server for tests (node:net, 127.0.0.1, ephemeral port).
 * Speaks the AMI text protocol the way Asterisk does:
 * - banner `Asterisk Call Manager/9.0.0`;
 * - messages are `Key: Value` lines ending with an empty line; header names case-insensitive;
 * - `Action: Login` (Username/Secret) -> `Response: Success` + `Message: Authentication accepted`
 *   (then a `FullyBooted` event), or `Response: Error` + `Message: Authentication failed` and the
 *   socket is closed (Asterisk ends the session on a failed login);
 * - any other action before login -> `Response: Error` / `Message: Permission denied`;
 * - the ActionID is echoed in answers and in the events of an event list
 *   (`EventList: start` ... `<Name>Complete` with `EventList: Complete`).
 * Scriptable: custom action handlers, pushed events, held (never answered) or delayed answers,
 * dropped sockets, stop and listen again on the same port.
 * Built-in handlers: Ping, Logoff, PresenceState (from setPresence), QueueStatus (from
 * setQueueMember), ShowDialPlan (from setDialplan, e.g. dialplanFromExtensionsConf()).
 */

export type Fields = Record<string, string>;

export interface ReceivedAction {
  /** Lower-cased action name. */
  name: string;
  /** Lower-cased header names. */
  headers: Fields;
  session: FakeAmiSession;
}

export interface FakeQueueMember {
  queue: string;
  name: string;
  location: string;
  stateInterface?: string;
  paused?: boolean;
  pausedReason?: string;
}

export type ActionHandler = (action: ReceivedAction, reply: Reply) => void;

/** One line of a loaded dialplan, as ShowDialPlan lists it: a priority, or an include. */
export type FakeDialplanLine =
  | { context: string; extension: string; priority: number; label?: string; application: string; appData: string; registrar?: string }
  | { context: string; include: string };

/**
 * The context res_stasis adds to the dialplan while an ARI app is connected, as a real Asterisk
 * 22.10.1 listed it in ShowDialPlan (`stasis-<app>`; AppData `(null)` for an empty NoOp).
 */
export function stasisAppContext(app: string): FakeDialplanLine[] {
  return [
    { context: `stasis-${app}`, extension: 'h', priority: 1, application: 'NoOp', appData: '(null)', registrar: 'res_stasis' },
    { context: `stasis-${app}`, extension: '_.', priority: 1, application: 'Stasis', appData: app, registrar: 'res_stasis' },
  ];
}

/**
 * The dialplan an `extensions.conf` loads (for the fake ShowDialPlan): `[context]`,
 * `exten => name,priority[(label)],App(data)`, `same => n[(label)],App(data)`, `include => ctx`.
 * Enough of pbx_config for the project's sample file; `;` starts a comment (no `\;` escapes).
 */
export function dialplanFromExtensionsConf(text: string): FakeDialplanLine[] {
  const out: FakeDialplanLine[] = [];
  let context = '';
  let extension = '';
  let priority = 0;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/;.*$/, '').trim();
    const section = /^\[([^\]]+)\]/.exec(line);
    if (section) {
      context = section[1] ?? '';
      continue;
    }
    const m = /^(exten|same|include)\s*=>\s*(.*)$/.exec(line);
    if (!m || context === 'general' || context === 'globals') continue;
    const [, kind, rest = ''] = m;
    if (kind === 'include') {
      out.push({ context, include: rest.trim() });
      continue;
    }
    const parts = rest.split(',');
    if (kind === 'exten') extension = (parts.shift() ?? '').trim();
    const prio = (parts.shift() ?? '').trim();
    const label = /\(([^)]+)\)$/.exec(prio)?.[1];
    const bare = prio.replace(/\(.*\)$/, '');
    if (bare === 'hint') continue;
    priority = bare === 'n' ? priority + 1 : Number(bare);
    const app = parts.join(',').trim();
    const call = /^([A-Za-z0-9_]+)\s*(?:\((.*)\))?$/.exec(app);
    out.push({ context, extension, priority, ...(label ? { label } : {}), application: call?.[1] ?? app, appData: call?.[2] ?? '' });
  }
  return out;
}

function serialize(fields: Fields): string {
  return (
    Object.entries(fields)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') + '\r\n'
  );
}

export class Reply {
  constructor(
    private readonly session: FakeAmiSession,
    readonly actionId: string | undefined,
    private readonly server: FakeAmiServer,
    private readonly actionName: string,
  ) {}

  private withId(fields: Fields, afterFirst = true): Fields {
    if (this.actionId === undefined) return fields;
    const entries = Object.entries(fields);
    const out: Fields = {};
    if (afterFirst && entries.length > 0) {
      const [k, v] = entries[0];
      out[k] = v;
      out.ActionID = this.actionId;
      for (const [key, val] of entries.slice(1)) out[key] = val;
      return out;
    }
    return { ...fields, ActionID: this.actionId };
  }

  /** Raw answer; ActionID inserted after the first header. */
  send(fields: Fields): void {
    this.server.deliver(this.session, this.actionName, serialize(this.withId(fields)));
  }

  /** Text already framed (several messages), delivered as one answer. */
  raw(text: string): void {
    this.server.deliver(this.session, this.actionName, text);
  }

  success(message?: string, extra: Fields = {}): void {
    this.send({ Response: 'Success', ...(message ? { Message: message } : {}), ...extra });
  }

  error(message: string): void {
    this.send({ Response: 'Error', Message: message });
  }

  /** An event list: `Response: Success` + `EventList: start`, the events, then the Complete event. */
  list(message: string, events: Fields[], completeEvent: string): void {
    let text = serialize(this.withId({ Response: 'Success', EventList: 'start', Message: message }));
    for (const e of events) text += serialize(this.withId(e));
    text += serialize(this.withId({ Event: completeEvent, EventList: 'Complete', ListItems: String(events.length) }));
    this.server.deliver(this.session, this.actionName, text);
  }
}

export class FakeAmiSession {
  authenticated = false;
  username: string | undefined;
  private buffer = '';

  constructor(
    readonly socket: net.Socket,
    private readonly server: FakeAmiServer,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => undefined);
  }

  write(text: string): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(text);
  }

  private onData(chunk: string): void {
    this.buffer += chunk.replace(/\r\n/g, '\n');
    let idx: number;
    while ((idx = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, idx);
      this.buffer = this.buffer.slice(idx + 2);
      const headers: Fields = {};
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const key = line.slice(0, colon).trim().toLowerCase();
        if (!(key in headers)) headers[key] = line.slice(colon + 1).trim();
      }
      if (Object.keys(headers).length > 0) this.server.handleMessage(this, headers);
    }
  }
}

export interface FakeAmiServerOptions {
  /** username -> secret. Default { 'direct-callback': 'test-secret' }. */
  users?: Record<string, string>;
}

export class FakeAmiServer {
  port = 0;
  readonly received: ReceivedAction[] = [];
  readonly sessions = new Set<FakeAmiSession>();
  private server: net.Server | undefined;
  private readonly users: Record<string, string>;
  private readonly handlers = new Map<string, ActionHandler>();
  private readonly held = new Set<string>();
  private holdAll = false;
  private readonly delays = new Map<string, number>();
  private readonly presence = new Map<string, { state: string; subtype?: string; message?: string }>();
  private readonly queueMembers: FakeQueueMember[] = [];
  private dialplan: FakeDialplanLine[] = [];
  private waiters: Array<{ test: () => boolean; resolve: () => void }> = [];
  loginAttempts = 0;
  loginSuccesses = 0;

  constructor(opts: FakeAmiServerOptions = {}) {
    this.users = opts.users ?? { 'direct-callback': 'test-secret' };
    this.handlers.set('ping', (_a, r) => r.success(undefined, { Ping: 'Pong', Timestamp: (Date.now() / 1000).toFixed(6) }));
    this.handlers.set('logoff', (a, r) => {
      r.send({ Response: 'Goodbye', Message: 'Thanks for all the fish.' });
      a.session.socket.end();
    });
    this.handlers.set('presencestate', (a, r) => this.answerPresenceState(a, r));
    this.handlers.set('queuestatus', (a, r) => this.answerQueueStatus(a, r));
    this.handlers.set('showdialplan', (a, r) => this.answerShowDialPlan(a, r));
  }

  static async start(opts: FakeAmiServerOptions = {}): Promise<FakeAmiServer> {
    const s = new FakeAmiServer(opts);
    await s.listen();
    return s;
  }

  /** Listens (again) on 127.0.0.1; the same port after the first time. */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => {
        const session = new FakeAmiSession(socket, this);
        this.sessions.add(session);
        socket.on('close', () => {
          this.sessions.delete(session);
          this.notify();
        });
        session.write('Asterisk Call Manager/9.0.0\r\n');
      });
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        const addr = server.address();
        if (addr && typeof addr === 'object') this.port = addr.port;
        this.server = server;
        resolve();
      });
    });
  }

  /** Closes the listener and every connection (Asterisk stopped). */
  async stop(): Promise<void> {
    this.dropConnections();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Destroys every connection abruptly (Asterisk crashed / restarted); keeps listening. */
  dropConnections(): void {
    for (const s of this.sessions) s.socket.destroy();
  }

  /** Replaces (or adds) the handler of an action (name case-insensitive). */
  handle(action: string, handler: ActionHandler): void {
    this.handlers.set(action.toLowerCase(), handler);
  }

  /** Never answer this action (or every action when no name is given) until releaseAnswers(). */
  holdAnswers(action?: string): void {
    if (action) this.held.add(action.toLowerCase());
    else this.holdAll = true;
  }

  releaseAnswers(): void {
    this.held.clear();
    this.holdAll = false;
  }

  /** Answer this action only after `ms`. */
  delayAnswers(action: string, ms: number): void {
    this.delays.set(action.toLowerCase(), ms);
  }

  /** Sends an event to every logged-in session. Give `Event` first. */
  pushEvent(fields: Fields): void {
    const text = serialize(fields);
    for (const s of this.sessions) if (s.authenticated) s.write(text);
  }

  /** State answered by the built-in PresenceState handler. */
  setPresence(presentity: string, state: string, extra: { subtype?: string; message?: string } = {}): void {
    this.presence.set(presentity, { state, ...extra });
  }

  /** State answered by the built-in QueueStatus handler (replaces the same queue+location). */
  setQueueMember(member: FakeQueueMember): void {
    this.removeQueueMember(member.queue, member.location);
    this.queueMembers.push(member);
  }

  removeQueueMember(queue: string, location: string): void {
    const i = this.queueMembers.findIndex((m) => m.queue === queue && m.location === location);
    if (i >= 0) this.queueMembers.splice(i, 1);
  }

  /** The dialplan answered by the built-in ShowDialPlan handler. */
  setDialplan(lines: FakeDialplanLine[]): void {
    this.dialplan = [...lines];
  }

  /** The dialplan loaded now (a copy). */
  dialplanLines(): FakeDialplanLine[] {
    return [...this.dialplan];
  }

  authenticatedSessions(): number {
    return [...this.sessions].filter((s) => s.authenticated).length;
  }

  actions(name: string): ReceivedAction[] {
    return this.received.filter((a) => a.name === name.toLowerCase());
  }

  /** Resolves when `test` holds (checked on every received action and closed session). */
  waitFor(test: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`fake AMI: timed out waiting for ${what}`));
      }, timeoutMs);
      const waiter = {
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  waitForAction(name: string, count = 1, timeoutMs = 3000): Promise<void> {
    return this.waitFor(() => this.actions(name).length >= count, timeoutMs, `${count} x ${name}`);
  }

  // --- internals (used by FakeAmiSession / Reply) ---------------------------------------------

  handleMessage(session: FakeAmiSession, headers: Fields): void {
    const name = (headers.action ?? '').toLowerCase();
    const action: ReceivedAction = { name, headers, session };
    this.received.push(action);
    const reply = new Reply(session, headers.actionid, this, name);
    try {
      if (!name) reply.error('Missing action in request');
      else if (name === 'login') this.login(action, reply);
      else if (!session.authenticated) reply.error('Permission denied');
      else {
        const handler = this.handlers.get(name);
        if (handler) handler(action, reply);
        else reply.error('Invalid/unknown command');
      }
    } finally {
      this.notify();
    }
  }

  deliver(session: FakeAmiSession, actionName: string, text: string): void {
    if (actionName !== 'login' && (this.holdAll || this.held.has(actionName))) return;
    const delay = this.delays.get(actionName);
    if (delay !== undefined) setTimeout(() => session.write(text), delay);
    else session.write(text);
  }

  private login(action: ReceivedAction, reply: Reply): void {
    this.loginAttempts++;
    const user = action.headers.username ?? '';
    const secret = action.headers.secret;
    if (secret !== undefined && Object.prototype.hasOwnProperty.call(this.users, user) && this.users[user] === secret) {
      action.session.authenticated = true;
      action.session.username = user;
      this.loginSuccesses++;
      reply.success('Authentication accepted');
      action.session.write(
        serialize({ Event: 'FullyBooted', Privilege: 'system,all', Uptime: '10', LastReload: '10', Status: 'Fully Booted' }),
      );
    } else {
      reply.error('Authentication failed');
      action.session.socket.end();
    }
  }

  private answerPresenceState(action: ReceivedAction, reply: Reply): void {
    const provider = action.headers.provider ?? '';
    if (!provider) return reply.error('No provider specified');
    const p = this.presence.get(provider);
    if (!p) return reply.error(`Invalid provider ${provider} or provider in invalid state`);
    // As main/manager.c action_presencestate(): Message twice when a custom message is set.
    let text = `Response: Success\r\n${action.headers.actionid !== undefined ? `ActionID: ${action.headers.actionid}\r\n` : ''}Message: Presence State\r\nState: ${p.state}\r\n`;
    if (p.subtype) text += `Subtype: ${p.subtype}\r\n`;
    if (p.message) text += `Message: ${p.message}\r\nPresenceMessage: ${p.message}\r\n`;
    this.deliver(action.session, action.name, text + '\r\n');
  }

  private answerQueueStatus(action: ReceivedAction, reply: Reply): void {
    const only = action.headers.queue;
    const queues = [...new Set(this.queueMembers.map((m) => m.queue))].filter((q) => !only || q === only);
    if (only && !queues.includes(only)) queues.push(only);
    const events: Fields[] = [];
    for (const q of queues) {
      events.push({
        Event: 'QueueParams',
        Queue: q,
        Max: '0',
        Strategy: 'ringall',
        Calls: '0',
        Holdtime: '0',
        TalkTime: '0',
        Completed: '0',
        Abandoned: '0',
        ServiceLevel: '0',
        ServicelevelPerf: '0.0',
        Weight: '0',
      });
      for (const m of this.queueMembers.filter((x) => x.queue === q)) {
        events.push({
          Event: 'QueueMember',
          Queue: q,
          Name: m.name,
          Location: m.location,
          StateInterface: m.stateInterface ?? m.location,
          Membership: 'dynamic',
          Penalty: '0',
          CallsTaken: '0',
          LastCall: '0',
          LastPause: '0',
          LoginTime: '0',
          InCall: '0',
          Status: '1',
          Paused: m.paused ? '1' : '0',
          PausedReason: m.pausedReason ?? '',
          Wrapuptime: '0',
        });
      }
    }
    reply.list('Queue status will follow', events, 'QueueStatusComplete');
  }

  /**
   * As main/pbx.c manager_show_dialplan(): per context its extensions' priorities (ExtensionLabel
   * when the priority has one), then its includes; the list ends with ShowDialPlanComplete and its
   * counters. Registrar is pbx_config (extensions.conf) unless the line names another. Context/Extension
   * filters are not modelled.
   */
  private answerShowDialPlan(_action: ReceivedAction, reply: Reply): void {
    const events: Fields[] = [];
    const contexts = [...new Set(this.dialplan.map((l) => l.context))];
    const extensions = new Set<string>();
    let priorities = 0;
    for (const context of contexts) {
      for (const l of this.dialplan) {
        if (l.context !== context || 'include' in l) continue;
        extensions.add(`${context}/${l.extension}`);
        priorities++;
        events.push({
          Event: 'ListDialplan',
          Context: context,
          Extension: l.extension,
          ...(l.label ? { ExtensionLabel: l.label } : {}),
          Priority: String(l.priority),
          Application: l.application,
          AppData: l.appData,
          Registrar: l.registrar ?? 'pbx_config',
        });
      }
      for (const l of this.dialplan) {
        if (l.context === context && 'include' in l)
          events.push({ Event: 'ListDialplan', Context: context, IncludeContext: l.include, Registrar: 'pbx_config' });
      }
    }
    let text = serialize({
      Response: 'Success',
      ...(reply.actionId !== undefined ? { ActionID: reply.actionId } : {}),
      EventList: 'start',
      Message: 'DialPlan list will follow',
    });
    for (const e of events)
      text += serialize({ Event: e.Event, ...(reply.actionId !== undefined ? { ActionID: reply.actionId } : {}), ...e });
    text += serialize({
      Event: 'ShowDialPlanComplete',
      ...(reply.actionId !== undefined ? { ActionID: reply.actionId } : {}),
      EventList: 'Complete',
      ListItems: String(events.length),
      ListExtensions: String(extensions.size),
      ListPriorities: String(priorities),
      ListContexts: String(contexts.length),
    });
    reply.raw(text);
  }

  private notify(): void {
    const ready = this.waiters.filter((w) => w.test());
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}
