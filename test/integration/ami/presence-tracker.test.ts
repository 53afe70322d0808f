import { expect } from 'chai';
import { AmiPresence, AmiPresenceOptions, startAmiPresence } from '../../../src/ami/ami-presence';
import { PresenceTracker, PresenceUpdate } from '../../../src/ami/presence-tracker';
import { silentLogger } from '../../../src/logging/logger';
import { FakeAmiServer } from '../../helpers/fake-ami-server';

const USER = 'direct-callback';
const SECRET = 'presence-test-secret';

const AGENTS = {
  alice: { presentity: 'CustomPresence:1001', queueInterface: 'PJSIP/1001' },
  bob: { presentity: 'CustomPresence:1002', queueInterface: 'PJSIP/1002' },
  carol: { queueInterface: 'PJSIP/1003' },
};

function waitUntil(test: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = (): void => {
      if (test()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

function memberEvent(
  event: string,
  queue: string,
  iface: string,
  paused: boolean,
  reason = '',
  stateInterface = iface,
): Record<string, string> {
  return {
    Event: event,
    Queue: queue,
    MemberName: iface,
    Interface: iface,
    StateInterface: stateInterface,
    Membership: 'dynamic',
    Penalty: '0',
    CallsTaken: '0',
    LastCall: '0',
    LastPause: '0',
    LoginTime: '0',
    InCall: '0',
    Status: '1',
    Paused: paused ? '1' : '0',
    PausedReason: reason,
    Ringinuse: '0',
    Wrapuptime: '0',
  };
}

describe('AMI presence (fake AMI server)', function () {
  this.timeout(10_000);
  let server: FakeAmiServer;
  let presence: AmiPresence | undefined;
  let updates: PresenceUpdate[];

  async function start(overrides: Partial<AmiPresenceOptions> = {}): Promise<AmiPresence> {
    updates = [];
    const p = startAmiPresence({
      ami: { host: '127.0.0.1', port: server.port, username: USER, password: SECRET, minDelayMs: 20, maxDelayMs: 100, pingIntervalMs: 0 },
      agents: AGENTS,
      queues: ['support', 'sales'],
      logger: silentLogger(),
      ...overrides,
    });
    presence = p;
    p.on('update', (u) => updates.push(u));
    await new Promise<void>((resolve) => p.once('synced', resolve));
    return p;
  }

  const presenceOf = (agentId: string): PresenceUpdate[] => updates.filter((u) => u.kind === 'presence' && u.agentId === agentId);
  const memberOf = (agentId: string, queue?: string): PresenceUpdate[] =>
    updates.filter((u) => u.kind === 'queue_member' && u.agentId === agentId && (queue === undefined || u.queue === queue));

  beforeEach(async () => {
    server = await FakeAmiServer.start({ users: { [USER]: SECRET } });
  });

  afterEach(async () => {
    await presence?.stop();
    presence = undefined;
    await server.stop();
  });

  it('reads the initial state from QueueStatus and PresenceState at start-up', async () => {
    server.setPresence('CustomPresence:1001', 'dnd', { message: 'In a meeting' });
    server.setPresence('CustomPresence:1002', 'available');
    server.setQueueMember({ queue: 'support', name: 'Alice', location: 'PJSIP/1001' });
    server.setQueueMember({ queue: 'support', name: 'Bob', location: 'PJSIP/1002', paused: true, pausedReason: 'lunch' });
    // Carol is a FreePBX-style Local member: her phone is the StateInterface.
    server.setQueueMember({ queue: 'sales', name: 'Carol', location: 'Local/1003@from-queue/n', stateInterface: 'PJSIP/1003' });
    server.setQueueMember({ queue: 'unwatched', name: 'Alice', location: 'PJSIP/1001' });

    const p = await start();

    expect(server.actions('queuestatus').map((a) => a.headers.queue)).to.deep.equal(['support', 'sales']);
    expect(server.actions('presencestate').map((a) => a.headers.provider)).to.deep.equal(['CustomPresence:1001', 'CustomPresence:1002']);

    expect(presenceOf('alice')).to.deep.equal([
      {
        kind: 'presence',
        agentId: 'alice',
        presentity: 'CustomPresence:1001',
        presence: 'dnd',
        available: false,
        message: 'In a meeting',
        source: 'startup',
      },
    ]);
    expect(presenceOf('bob')).to.deep.equal([
      { kind: 'presence', agentId: 'bob', presentity: 'CustomPresence:1002', presence: 'available', available: true, source: 'startup' },
    ]);

    expect(memberOf('alice', 'support')).to.deep.equal([
      {
        kind: 'queue_member',
        agentId: 'alice',
        agentInterface: 'PJSIP/1001',
        queue: 'support',
        loggedIn: true,
        paused: false,
        source: 'startup',
      },
    ]);
    expect(memberOf('bob', 'support')).to.deep.equal([
      {
        kind: 'queue_member',
        agentId: 'bob',
        agentInterface: 'PJSIP/1002',
        queue: 'support',
        loggedIn: true,
        paused: true,
        pausedReason: 'lunch',
        source: 'startup',
      },
    ]);
    expect(memberOf('carol', 'sales')).to.deep.include.members([
      {
        kind: 'queue_member',
        agentId: 'carol',
        agentInterface: 'PJSIP/1003',
        queue: 'sales',
        loggedIn: true,
        paused: false,
        source: 'startup',
      },
    ]);
    // Watched queues an agent is absent from: reported logged out. Unwatched queues: not reported.
    expect(memberOf('alice', 'sales')).to.deep.equal([
      {
        kind: 'queue_member',
        agentId: 'alice',
        agentInterface: 'PJSIP/1001',
        queue: 'sales',
        loggedIn: false,
        paused: false,
        source: 'startup',
      },
    ]);
    expect(memberOf('carol', 'support')[0]).to.include({ loggedIn: false });
    expect(updates.some((u) => u.kind === 'queue_member' && u.queue === 'unwatched')).to.equal(false);

    expect(p.summary('alice')).to.deep.equal({ presence: 'dnd', presenceAllowsCalls: false, loggedIn: true, paused: false });
    expect(p.summary('bob')).to.deep.equal({ presence: 'available', presenceAllowsCalls: true, loggedIn: true, paused: true });
  });

  it('maps PresenceStateChange: DND makes the agent unavailable, available makes it available again', async () => {
    server.setPresence('CustomPresence:1001', 'available');
    server.setPresence('CustomPresence:1002', 'not_set');
    const p = await start();
    updates.length = 0;

    server.pushEvent({
      Event: 'PresenceStateChange',
      Privilege: 'call,all',
      Presentity: 'CustomPresence:1001',
      Status: 'dnd',
      Subtype: '',
      Message: '',
    });
    await waitUntil(() => presenceOf('alice').length === 1, 3000, 'dnd update');
    expect(presenceOf('alice')[0]).to.deep.equal({
      kind: 'presence',
      agentId: 'alice',
      presentity: 'CustomPresence:1001',
      presence: 'dnd',
      available: false,
      source: 'event',
    });
    expect(p.summary('alice').presenceAllowsCalls).to.equal(false);

    // Repeated state: no update. Presentity matched case-insensitively. Unknown presentity: ignored.
    server.pushEvent({ Event: 'PresenceStateChange', Presentity: 'custompresence:1001', Status: 'dnd', Subtype: '', Message: '' });
    server.pushEvent({ Event: 'PresenceStateChange', Presentity: 'CustomPresence:9999', Status: 'away', Subtype: '', Message: '' });
    server.pushEvent({
      Event: 'PresenceStateChange',
      Presentity: 'CustomPresence:1002',
      Status: 'away',
      Subtype: 'temporary',
      Message: 'Out to lunch',
    });
    await waitUntil(() => presenceOf('bob').length === 1, 3000, 'away update');
    expect(presenceOf('bob')[0]).to.include({ presence: 'away', available: false, message: 'Out to lunch' });

    server.pushEvent({ Event: 'PresenceStateChange', Presentity: 'CustomPresence:1001', Status: 'available', Subtype: '', Message: '' });
    await waitUntil(() => presenceOf('alice').length === 2, 3000, 'available update');
    expect(presenceOf('alice')[1]).to.include({ presence: 'available', available: true });
    expect(updates.filter((u) => u.kind === 'presence')).to.have.length(3);
    expect(p.summary('alice').presenceAllowsCalls).to.equal(true);
  });

  it('follows app_queue members: added, paused with reason, unpaused, removed', async () => {
    await start({ queues: ['support'] });
    expect(memberOf('alice', 'support')).to.deep.equal([
      {
        kind: 'queue_member',
        agentId: 'alice',
        agentInterface: 'PJSIP/1001',
        queue: 'support',
        loggedIn: false,
        paused: false,
        source: 'startup',
      },
    ]);
    updates.length = 0;

    server.pushEvent(memberEvent('QueueMemberAdded', 'support', 'PJSIP/1001', false));
    await waitUntil(() => memberOf('alice').length === 1);
    expect(memberOf('alice')[0]).to.include({ loggedIn: true, paused: false, source: 'event' });

    server.pushEvent(memberEvent('QueueMemberPause', 'support', 'PJSIP/1001', true, 'break'));
    await waitUntil(() => memberOf('alice').length === 2);
    expect(memberOf('alice')[1]).to.include({ loggedIn: true, paused: true, pausedReason: 'break' });
    expect(presence?.summary('alice')).to.include({ loggedIn: true, paused: true });

    // A device-state QueueMemberStatus with nothing new for us: no update.
    server.pushEvent({ ...memberEvent('QueueMemberStatus', 'support', 'PJSIP/1001', true, 'break'), Status: '2', InCall: '1' });
    server.pushEvent(memberEvent('QueueMemberPause', 'support', 'PJSIP/1001', false));
    await waitUntil(() => memberOf('alice').length === 3);
    expect(memberOf('alice')[2]).to.include({ loggedIn: true, paused: false });
    expect(memberOf('alice')[2]).to.not.have.property('pausedReason');

    server.pushEvent(memberEvent('QueueMemberRemoved', 'support', 'PJSIP/1001', false));
    await waitUntil(() => memberOf('alice').length === 4);
    expect(memberOf('alice')[3]).to.include({ loggedIn: false, paused: false });
    expect(presence?.summary('alice')).to.include({ loggedIn: false });

    // Other queues and unknown interfaces are ignored.
    server.pushEvent(memberEvent('QueueMemberAdded', 'sales', 'PJSIP/1001', false));
    server.pushEvent(memberEvent('QueueMemberAdded', 'support', 'PJSIP/7777', false));
    // A Local member whose phone (StateInterface) is Bob's.
    server.pushEvent(memberEvent('QueueMemberAdded', 'support', 'Local/1002@from-queue/n', false, '', 'PJSIP/1002'));
    await waitUntil(() => memberOf('bob').length === 1);
    expect(memberOf('bob')[0]).to.include({ agentInterface: 'PJSIP/1002', loggedIn: true });
    expect(updates).to.have.length(5);
  });

  it('re-reads the state after a reconnect and reports what changed during the gap', async () => {
    server.setPresence('CustomPresence:1001', 'available');
    server.setPresence('CustomPresence:1002', 'available');
    server.setQueueMember({ queue: 'support', name: 'Alice', location: 'PJSIP/1001' });
    const connections: boolean[] = [];
    const p = await start({ queues: undefined });
    p.on('connection', (c) => connections.push(c.connected));
    updates.length = 0;

    // While AMI is down: Alice logs out of support and sets DND.
    server.dropConnections();
    await waitUntil(() => connections.includes(false));
    server.removeQueueMember('support', 'PJSIP/1001');
    server.setPresence('CustomPresence:1001', 'dnd');
    await new Promise<void>((resolve) => p.once('synced', resolve));

    expect(connections).to.deep.equal([false, true]);
    expect(memberOf('alice')).to.deep.equal([
      {
        kind: 'queue_member',
        agentId: 'alice',
        agentInterface: 'PJSIP/1001',
        queue: 'support',
        loggedIn: false,
        paused: false,
        source: 'startup',
      },
    ]);
    expect(presenceOf('alice')).to.have.length(1);
    expect(presenceOf('alice')[0]).to.include({ presence: 'dnd', available: false });
    // Unchanged: Bob's presence is not repeated.
    expect(presenceOf('bob')).to.have.length(0);
  });

  it('a presentity Asterisk refuses does not block the others; a timed-out start-up read is retried', async () => {
    server.setPresence('CustomPresence:1002', 'away');
    server.holdAnswers('QueueStatus');
    updates = [];
    const p = startAmiPresence({
      ami: { host: '127.0.0.1', port: server.port, username: USER, password: SECRET, minDelayMs: 20, maxDelayMs: 100, pingIntervalMs: 0 },
      agents: AGENTS,
      queues: ['support'],
      logger: silentLogger(),
      syncTimeoutMs: 100,
      resyncDelayMs: 50,
    });
    presence = p;
    p.on('update', (u) => updates.push(u));
    await server.waitForAction('queuestatus', 2);
    server.releaseAnswers();
    await new Promise<void>((resolve) => p.once('synced', resolve));
    // CustomPresence:1001 is unknown to this server (error answer): skipped, Bob still read.
    expect(presenceOf('alice')).to.have.length(0);
    expect(presenceOf('bob')[0]).to.include({ presence: 'away', available: false });
    expect(memberOf('alice', 'support')[0]).to.include({ loggedIn: false });
  });
});

describe('PresenceTracker (pure mapping)', () => {
  const tracker = (): PresenceTracker => new PresenceTracker({ agents: AGENTS, logger: silentLogger() });

  it('maps every presence value to call availability', () => {
    const t = tracker();
    const expected: Record<string, boolean> = {
      available: true,
      chat: true,
      not_set: true,
      invisible: true,
      dnd: false,
      away: false,
      xa: false,
      unavailable: false,
    };
    for (const [status, available] of Object.entries(expected)) {
      const [u] = t.handleEvent({
        name: 'PresenceStateChange',
        fields: { event: 'PresenceStateChange', presentity: 'CustomPresence:1001', status },
      });
      expect(u, status).to.include({ kind: 'presence', presence: status, available });
    }
    expect(t.handleEvent({ name: 'PresenceStateChange', fields: { presentity: 'CustomPresence:1001', status: 'bogus' } })).to.deep.equal(
      [],
    );
  });

  it('reads the PresenceState answer from State and PresenceMessage (Message is "Presence State")', () => {
    const t = tracker();
    const [u] = t.handlePresenceStateResponse('CustomPresence:1002', {
      response: 'Success',
      message: 'Presence State',
      state: 'xa',
      presencemessage: 'Holiday',
    });
    expect(u).to.deep.equal({
      kind: 'presence',
      agentId: 'bob',
      presentity: 'CustomPresence:1002',
      presence: 'xa',
      available: false,
      message: 'Holiday',
      source: 'startup',
    });
  });

  it('accepts the Asterisk 12/13 `Reason` header of QueueMemberPause and "true" booleans', () => {
    const t = tracker();
    const [u] = t.handleEvent({
      name: 'QueueMemberPause',
      fields: { queue: 'q', interface: 'pjsip/1003', paused: 'true', reason: 'training' },
    });
    expect(u).to.deep.equal({
      kind: 'queue_member',
      agentId: 'carol',
      agentInterface: 'PJSIP/1003',
      queue: 'q',
      loggedIn: true,
      paused: true,
      pausedReason: 'training',
      source: 'event',
    });
  });
});
