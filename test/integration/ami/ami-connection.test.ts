import { expect } from 'chai';
import { Writable } from 'node:stream';
import { AmiConnection, AmiConnectionOptions } from '../../../src/ami/ami-connection';
import { AmiActionError, AmiEvent } from '../../../src/ami/ami-messages';
import { createLogger, Logger } from '../../../src/logging/logger';
import { FakeAmiServer } from '../../helpers/fake-ami-server';

const USER = 'direct-callback';
const SECRET = 'Ami-T3st-Secret-9f27c1';

function capture(): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, logger: createLogger({ stream, level: 'debug' }) };
}

function once<T>(emitter: AmiConnection, event: 'connected' | 'disconnected' | 'loginFailed', timeoutMs = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (arg: unknown) => {
      clearTimeout(t);
      resolve(arg as T);
    });
  });
}

async function rejection(p: Promise<unknown>): Promise<AmiActionError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(AmiActionError);
    return err as AmiActionError;
  }
  throw new Error('expected a rejection');
}

describe('AMI connection (fake AMI server)', function () {
  this.timeout(10_000);
  let server: FakeAmiServer;
  let conn: AmiConnection | undefined;
  let log: { lines: string[]; logger: Logger };

  function connect(overrides: Partial<AmiConnectionOptions> = {}): AmiConnection {
    conn = new AmiConnection({
      host: '127.0.0.1',
      port: server.port,
      username: USER,
      password: SECRET,
      logger: log.logger,
      minDelayMs: 20,
      maxDelayMs: 100,
      pingIntervalMs: 0,
      ...overrides,
    });
    return conn;
  }

  beforeEach(async () => {
    server = await FakeAmiServer.start({ users: { [USER]: SECRET } });
    log = capture();
  });

  afterEach(async () => {
    await conn?.stop();
    conn = undefined;
    await server.stop();
  });

  it('logs in with Username/Secret and runs actions', async () => {
    const c = connect();
    const connected = once<{ reconnect: boolean }>(c, 'connected');
    c.start();
    expect(await connected).to.deep.equal({ reconnect: false });
    const login = server.actions('login')[0];
    expect(login?.headers.username).to.equal(USER);
    expect(login?.headers.secret).to.equal(SECRET);
    expect(c.isReady()).to.equal(true);

    const pong = await c.action({ action: 'Ping' });
    expect(pong.response).to.equal('Success');
    expect(pong.ping).to.equal('Pong');
    // Our ActionIDs, unique per action.
    const ids = [await c.action({ action: 'Ping' }), await c.action({ action: 'Ping' })].map((r) => r.actionid);
    expect(ids[0]).to.be.a('string').and.not.equal(ids[1]);
  });

  it('reports a refused login, does not send actions, and keeps retrying with back-off', async () => {
    await server.stop();
    server = await FakeAmiServer.start({ users: { [USER]: 'another-password' } });
    const c = connect();
    const failed = once<{ message: string }>(c, 'loginFailed');
    c.start();
    expect((await failed).message).to.equal('Authentication failed');
    expect(c.isReady()).to.equal(false);
    const err = await rejection(c.action({ action: 'Ping' }));
    expect(err.kind).to.equal('not_connected');
    await server.waitFor(() => server.loginAttempts >= 3, 3000, '3 login attempts');
    expect(server.loginSuccesses).to.equal(0);
    expect(server.actions('ping')).to.have.length(0);
  });

  it('rejects an action with a clear error when no answer comes within its timeout', async () => {
    const c = connect({ actionTimeoutMs: 150 });
    const connected = once(c, 'connected');
    c.start();
    await connected;
    server.holdAnswers('CoreStatus');
    const started = Date.now();
    const err = await rejection(c.action({ action: 'CoreStatus' }));
    expect(err.kind).to.equal('timeout');
    expect(err.action).to.equal('CoreStatus');
    expect(err.message).to.match(/CoreStatus got no answer within 150 ms/);
    expect(Date.now() - started).to.be.within(140, 1000);
    // Per-call timeout, and the connection is still usable.
    const err2 = await rejection(c.action({ action: 'CoreStatus' }, { timeoutMs: 50 }));
    expect(err2.message).to.match(/within 50 ms/);
    expect((await c.action({ action: 'Ping' })).ping).to.equal('Pong');
  });

  it('answers `Response: Error` with a rejected error carrying the response', async () => {
    const c = connect();
    const connected = once(c, 'connected');
    c.start();
    await connected;
    const err = await rejection(c.action({ action: 'NoSuchThing' }));
    expect(err.kind).to.equal('rejected');
    expect(err.message).to.include('Invalid/unknown command');
    expect(err.response?.response).to.equal('Error');
  });

  it('refuses header values with line breaks (no AMI header injection)', async () => {
    const c = connect();
    const connected = once(c, 'connected');
    c.start();
    await connected;
    const err = await rejection(c.action({ action: 'PresenceState', Provider: 'CustomPresence:1\r\nAction: Originate' }));
    expect(err.kind).to.equal('invalid');
    expect(server.actions('presencestate')).to.have.length(0);
    expect(server.actions('originate')).to.have.length(0);
  });

  it('fails every pending action at once when the socket closes', async () => {
    const c = connect({ actionTimeoutMs: 5000 });
    const connected = once(c, 'connected');
    c.start();
    await connected;
    server.holdAnswers();
    const a = rejection(c.action({ action: 'CoreStatus' }));
    const b = rejection(c.actionList({ action: 'QueueStatus' }));
    await server.waitForAction('queuestatus');
    const disconnected = once<{ reason: string }>(c, 'disconnected');
    const dropAt = Date.now();
    server.dropConnections();
    const [ea, eb] = await Promise.all([a, b]);
    expect(ea.kind).to.equal('disconnected');
    expect(eb.kind).to.equal('disconnected');
    expect(ea.message).to.match(/CoreStatus failed: AMI connection lost/);
    expect(Date.now() - dropAt).to.be.below(1000);
    expect((await disconnected).reason).to.be.a('string');
  });

  it('reconnects after the server goes away and comes back', async () => {
    const c = connect();
    let connects = 0;
    c.on('connected', () => connects++);
    const first = once(c, 'connected');
    c.start();
    await first;

    const disconnected = once(c, 'disconnected');
    const port = server.port;
    await server.stop();
    await disconnected;
    expect(c.isReady()).to.equal(false);
    expect((await rejection(c.action({ action: 'Ping' }))).kind).to.equal('not_connected');
    // Several refused attempts while it is down (capped back-off, not giving up).
    await new Promise((r) => setTimeout(r, 400));
    const attempts = log.lines.filter((l) => l.includes('ami connect failed')).length;
    expect(attempts).to.be.greaterThanOrEqual(2);

    const again = once<{ reconnect: boolean }>(c, 'connected');
    await server.listen();
    expect(server.port).to.equal(port);
    expect(await again).to.deep.equal({ reconnect: true });
    expect(connects).to.equal(2);
    expect((await c.action({ action: 'Ping' })).ping).to.equal('Pong');
  });

  it('treats an unanswered Ping as a dead peer and reconnects', async () => {
    const c = connect({ pingIntervalMs: 60, actionTimeoutMs: 100 });
    const first = once(c, 'connected');
    c.start();
    await first;
    server.holdAnswers('Ping');
    const disconnected = once<{ reason: string }>(c, 'disconnected');
    expect((await disconnected).reason).to.match(/ping/);
    server.releaseAnswers();
    await once(c, 'connected');
    expect(server.loginSuccesses).to.equal(2);
  });

  it('delivers unsolicited events and collects event lists without repeating them as events', async () => {
    server.setQueueMember({ queue: 'support', name: 'Alice', location: 'PJSIP/1001', paused: true, pausedReason: 'lunch' });
    const c = connect();
    const events: AmiEvent[] = [];
    c.on('event', (e) => events.push(e));
    const connected = once(c, 'connected');
    c.start();
    await connected;
    const seen: string[] = [];
    const list = await c.actionList({ action: 'QueueStatus' }, { onEvent: (e) => seen.push(e.name) });
    expect(list.response.eventlist).to.equal('start');
    expect(list.events.map((e) => e.name)).to.deep.equal(['QueueParams', 'QueueMember']);
    expect(seen).to.deep.equal(['QueueParams', 'QueueMember']);
    expect(list.events[1]?.fields).to.include({
      queue: 'support',
      name: 'Alice',
      location: 'PJSIP/1001',
      paused: '1',
      pausedreason: 'lunch',
    });
    expect(list.complete.name).to.equal('QueueStatusComplete');

    server.pushEvent({ Event: 'PresenceStateChange', Presentity: 'CustomPresence:1001', Status: 'dnd', Subtype: '', Message: '' });
    await new Promise((r) => setTimeout(r, 50));
    const names = events.map((e) => e.name);
    expect(names).to.include('PresenceStateChange');
    expect(names).to.not.include('QueueMember');
    expect(events.find((e) => e.name === 'PresenceStateChange')?.fields).to.include({ presentity: 'CustomPresence:1001', status: 'dnd' });
  });

  it('stop() fails pending actions and stops reconnecting', async () => {
    const c = connect();
    const connected = once(c, 'connected');
    c.start();
    await connected;
    server.holdAnswers();
    const p = rejection(c.action({ action: 'CoreStatus' }));
    await server.waitForAction('corestatus');
    await c.stop();
    expect((await p).kind).to.equal('stopped');
    const attempts = server.loginAttempts;
    await new Promise((r) => setTimeout(r, 200));
    expect(server.loginAttempts).to.equal(attempts);
    expect((await rejection(c.action({ action: 'Ping' }))).kind).to.equal('stopped');
  });

  it('never writes the AMI secret to the log (login ok, login refused, drops, reconnects, timeouts)', async () => {
    // Successful session, a timeout, a drop and a reconnect.
    const c = connect({ actionTimeoutMs: 80 });
    const first = once(c, 'connected');
    c.start();
    await first;
    server.holdAnswers('CoreStatus');
    await rejection(c.action({ action: 'CoreStatus' }));
    const back = once(c, 'connected');
    server.dropConnections();
    await back;
    await c.stop();

    // Refused logins (the configured secret is wrong for this server).
    await server.stop();
    server = await FakeAmiServer.start({ users: { [USER]: 'something-else' } });
    const c2 = connect();
    const failed = once(c2, 'loginFailed');
    c2.start();
    await failed;
    await server.waitFor(() => server.loginAttempts >= 2);
    await c2.stop();

    await new Promise((r) => setImmediate(r));
    const text = log.lines.join('');
    expect(log.lines.length).to.be.greaterThan(5);
    expect(text).to.include('ami login failed');
    expect(text).to.include('ami connected');
    expect(text).to.not.include(SECRET);
    // Not even masked: the redaction (registerSecret) never had to step in.
    expect(text).to.not.include('[REDACTED]');
  });
});
