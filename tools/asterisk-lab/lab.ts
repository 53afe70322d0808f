import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Knex } from 'knex';
import { createDatabase, migrate } from '../../src/store/database';
import { createScratchDatabase, PostgresServer, ScratchDatabase } from '../support/postgres-server';
import { AsteriskServer } from './asterisk-server';
import { AriObserver } from './observer';
import { PluginProcess } from '../support/plugin-process';
import { PortAllocator } from './ports';
import { AsteriskRuntime } from './runtime';
import { callerScenario, CallerScript, phoneScenario, PhoneScript, SippProcess } from './sipp';

/** Where agents' phones call from: any loopback address but the trunk's 127.0.0.1. */
export const AGENT_PHONE_CALLER_IP = '127.0.0.2';

/**
 * A lab: one real Asterisk configured from `asterisk-config/`, SIPp phones for the agents and for
 * the customers behind the trunk, SIPp callers, a fresh PostgreSQL database, an observer app
 * subscribed to all of Asterisk's events, and the plugin started as `npm start` starts it.
 */
export interface LabAgent {
  /** Agent id = PJSIP endpoint name in the sample config (the dialplan's `direct,<id>`). */
  id: string;
  name?: string;
  queues?: string[];
  personalNumber?: string;
  /** Logged in at start (default true). */
  loggedIn?: boolean;
  /** More of the agent's configuration (e.g. `ami`, `language`). */
  extra?: Record<string, unknown>;
}

export interface LabOptions {
  runtime: AsteriskRuntime;
  postgres: PostgresServer;
  agents: readonly LabAgent[];
  /** The plugin's configuration without agents (they come from `agents`); validated by the plugin. */
  pluginConfig: Record<string, unknown>;
  /** Extra Asterisk `.conf` files (e.g. queues.conf). */
  extraAsteriskFiles?: Record<string, string>;
  /** Start the plugin now (default) or leave it to the test. */
  startPlugin?: boolean;
  /** RTP ports for Asterisk (two per call leg; default 400). */
  rtpPorts?: number;
  instanceId?: string;
  /** Turn on the plugin's REST API on a lab port with an admin token (`lab.api`). */
  http?: boolean;
  /** Give the plugin AMI (presence from app_queue and presence states) as the user of manager.conf. */
  ami?: boolean;
}

interface SippPorts {
  sip: number;
  media: number;
  control: number;
}

/** A SIPp phone on a fixed port whose behaviour a test can change between calls. */
export class LabPhone {
  private sipp: SippProcess | undefined;
  private generation = 0;
  readonly history: SippProcess[] = [];

  constructor(
    private readonly lab: Lab,
    readonly user: string,
    readonly ports: SippPorts,
  ) {}

  /** (Re)starts this phone's SIPp with a new behaviour. */
  async use(script: Omit<PhoneScript, 'user'>): Promise<SippProcess> {
    await this.sipp?.stop();
    this.generation += 1;
    this.sipp = SippProcess.start({
      sipp: this.lab.runtime.sipp,
      workDir: this.lab.dir,
      name: `phone-${this.user}-${this.generation}`,
      scenario: phoneScenario({ ...script, user: this.user }),
      sipPort: this.ports.sip,
      mediaPort: this.ports.media,
      controlPort: this.ports.control,
    });
    this.history.push(this.sipp);
    await new Promise((r) => setTimeout(r, 150)); // SIPp binds its socket
    return this.sipp;
  }

  get current(): SippProcess | undefined {
    return this.sipp;
  }

  async stop(): Promise<void> {
    await this.sipp?.stop();
  }
}

export class Lab {
  readonly dir: string;
  plugin: PluginProcess | undefined;
  /** Every plugin process this lab started (restarts, standbys), oldest first. */
  readonly plugins: PluginProcess[] = [];
  readonly phones = new Map<string, LabPhone>();
  private callers: SippProcess[] = [];
  private callerSeq = 0;
  readonly ariPassword: string;
  readonly amiPassword: string;
  readonly configFile: string;
  readonly customers: LabPhone;
  /** The plugin's REST API (with `http: true`). */
  httpPort: number | undefined;
  private readonly adminToken = randomBytes(18).toString('hex');

  private constructor(
    readonly opts: LabOptions,
    readonly asterisk: AsteriskServer,
    readonly observer: AriObserver,
    readonly database: ScratchDatabase,
    readonly db: Knex,
    private readonly ports: PortAllocator,
    sippPorts: { trunk: SippPorts; agents: Map<string, SippPorts> },
    passwords: { ari: string; ami: string },
  ) {
    this.ariPassword = passwords.ari;
    this.amiPassword = passwords.ami;
    this.dir = path.join(asterisk.dir, 'lab');
    fs.mkdirSync(this.dir, { recursive: true });
    this.configFile = path.join(this.dir, 'direct-callback.json');
    this.customers = new LabPhone(this, 'customer', sippPorts.trunk);
    for (const [id, p] of sippPorts.agents) this.phones.set(id, new LabPhone(this, id, p));
  }

  get runtime(): AsteriskRuntime {
    return this.opts.runtime;
  }

  static async start(opts: LabOptions): Promise<Lab> {
    // Every port this lab can use, reserved against parallel labs: RTP, then a few per SIPp party.
    const ports = new PortAllocator((opts.rtpPorts ?? 400) + 200 + 8 * opts.agents.length);
    const sippPorts = async () => {
      const [sip, media, control] = [await ports.take(), (await ports.takeRange(4))[0], await ports.take()];
      return { sip, media, control };
    };
    const agentPorts = new Map<string, SippPorts>();
    for (const a of opts.agents) agentPorts.set(a.id, await sippPorts());
    const trunk = await sippPorts();
    const rtp = await ports.takeRange(opts.rtpPorts ?? 400);
    const passwords = { ari: randomBytes(16).toString('hex'), ami: randomBytes(16).toString('hex') };
    const asterisk = await AsteriskServer.start({
      runtime: opts.runtime,
      ports: { sip: await ports.take(), http: await ports.take(), ami: await ports.take(), rtpStart: rtp[0], rtpEnd: rtp[rtp.length - 1] },
      ariPassword: passwords.ari,
      amiPassword: passwords.ami,
      agentPhones: opts.agents.map((a) => ({ endpoint: a.id, port: (agentPorts.get(a.id) as SippPorts).sip })),
      trunkPort: trunk.sip,
      extraFiles: opts.extraAsteriskFiles,
    });
    let observer: AriObserver | undefined;
    let database: ScratchDatabase | undefined;
    try {
      observer = await AriObserver.start(asterisk.ariUrl, 'direct-callback', passwords.ari);
      database = await createScratchDatabase(opts.postgres, 'adc_lab');
      const db = createDatabase(database.url, { poolMax: 4 });
      await migrate(db);
      const lab = new Lab(opts, asterisk, observer, database, db, ports, { trunk, agents: agentPorts }, passwords);
      if (opts.http) lab.httpPort = await ports.take();
      lab.writePluginConfig();
      if (opts.startPlugin !== false) await lab.startPlugin();
      return lab;
    } catch (e) {
      observer?.close();
      await database?.drop().catch(() => undefined);
      await asterisk.stop({ keep: true });
      ports.release();
      throw e;
    }
  }

  /** The plugin config file: the test's settings plus the lab's agents on their PJSIP endpoints. */
  writePluginConfig(): void {
    const config = {
      ...this.opts.pluginConfig,
      ...(this.httpPort !== undefined
        ? {
            http: { enabled: true, host: '127.0.0.1', port: this.httpPort },
            api: { tokens: [{ name: 'lab', sha256: createHash('sha256').update(this.adminToken).digest('hex'), scope: 'admin' }] },
          }
        : {}),
      agents: this.opts.agents.map((a) => ({
        id: a.id,
        name: a.name ?? `Agent ${a.id}`,
        endpoint: `PJSIP/${a.id}`,
        queues: (a.queues ?? ['support']).map((id) => ({ id })),
        ...(a.personalNumber ? { personalNumber: a.personalNumber } : {}),
        ...(a.loggedIn === false ? { loggedIn: false } : {}),
        ...a.extra,
      })),
    };
    fs.writeFileSync(this.configFile, JSON.stringify(config, null, 2));
  }

  /** The environment `npm start` gets in this lab (secrets by environment, as documented). */
  pluginEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ARI_URL: this.asterisk.ariUrl,
      ARI_PASSWORD: this.ariPassword,
      DATABASE_URL: this.database.url,
      INSTANCE_ID: this.opts.instanceId ?? 'lab',
      LOG_LEVEL: 'debug',
      ...(this.opts.ami
        ? {
            AMI_USER: 'direct-callback',
            AMI_PASSWORD: this.amiPassword,
            AMI_HOST: '127.0.0.1',
            AMI_PORT: String(this.asterisk.opts.ports.ami),
          }
        : {}),
      ...extra,
    };
  }

  /**
   * Starts the plugin (`npm start`'s command) and waits until it serves; with `wait: false` it
   * returns at once (a hot standby only serves once it leads). `lab.plugin` is the newest; every
   * process started is in `plugins` and stopped with the lab. A restart appends to plugin.log; a
   * process started beside a running one (a standby) writes its own plugin-<instance>.log.
   */
  async startPlugin(opts: { crashAt?: string; env?: Record<string, string>; wait?: boolean } = {}): Promise<PluginProcess> {
    const env = this.pluginEnv(opts.env);
    const beside = this.plugins.some((p) => p.running);
    const logFile = path.join(
      this.dir,
      beside ? `plugin-${(env.INSTANCE_ID ?? 'standby').replace(/[^0-9a-z_-]/gi, '_')}.log` : 'plugin.log',
    );
    const plugin = PluginProcess.start({ configFile: this.configFile, env, crashAt: opts.crashAt, logFile });
    this.plugin = plugin;
    this.plugins.push(plugin);
    if (opts.wait !== false) await plugin.ready();
    return plugin;
  }

  /** A request to the plugin's REST API as the lab's administrator. */
  async api<T = unknown>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
    if (this.httpPort === undefined) throw new Error('the lab was started without http');
    const res = await fetch(`http://127.0.0.1:${this.httpPort}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  phone(agentId: string): LabPhone {
    const p = this.phones.get(agentId);
    if (!p) throw new Error(`no phone for agent ${agentId}`);
    return p;
  }

  /** Places calls to a DID from SIPp callers (one process; `count` calls at `rate`/s). */
  async call(
    did: string,
    script: CallerScript,
    opts: { count?: number; rate?: number; injection?: readonly (readonly string[])[]; ip?: string } = {},
  ): Promise<SippProcess> {
    // Taken before the first await: calls placed at once (Promise.all) each get their own folder.
    const seq = ++this.callerSeq;
    const p = {
      sip: await this.ports.take(),
      media: (await this.ports.takeRange(4))[0],
      control: await this.ports.take(),
    };
    const sipp = SippProcess.start({
      sipp: this.runtime.sipp,
      workDir: this.dir,
      name: `caller-${seq}-${script.from.replace(/[^0-9a-z]/gi, '')}`,
      scenario: callerScenario(script),
      sipPort: p.sip,
      mediaPort: p.media,
      controlPort: p.control,
      ...(opts.ip ? { ip: opts.ip } : {}),
      remote: `127.0.0.1:${this.asterisk.opts.ports.sip}`,
      service: did,
      calls: opts.count ?? 1,
      rate: opts.rate ?? 10,
      injection: opts.injection,
    });
    this.callers.push(sipp);
    return sipp;
  }

  /**
   * A call placed by an agent's own desk phone (a feature code such as *51, an internal number):
   * it authenticates as the agent's PJSIP endpoint with the password the lab rendered, so Asterisk
   * puts it in the endpoint's context (`from-agents`). It comes from 127.0.0.2: 127.0.0.1 is the
   * trunk's address, and pjsip.conf identifies by address before user name.
   */
  callFromPhone(agentId: string, number: string, steps: CallerScript['steps']): Promise<SippProcess> {
    return this.call(
      number,
      { from: agentId, fromName: `Agent ${agentId}`, steps, auth: { user: agentId, password: this.asterisk.agentPassword(agentId) } },
      { ip: AGENT_PHONE_CALLER_IP },
    );
  }

  /** Rows of a table in the lab's database. */
  rows<T = Record<string, unknown>>(table: string): Promise<T[]> {
    return this.db(table).select('*') as Promise<T[]>;
  }

  async stop(opts: { keep?: boolean } = {}): Promise<void> {
    // What Asterisk did, for whoever reads a kept lab folder.
    fs.writeFileSync(path.join(this.dir, 'events.jsonl'), this.observer.events.map((e) => JSON.stringify(e.raw)).join('\n'));
    for (const p of this.plugins) await p.stop();
    for (const c of this.callers) await c.stop();
    for (const p of this.phones.values()) await p.stop();
    await this.customers.stop();
    this.observer.close();
    await this.db.destroy();
    await this.database.drop().catch(() => undefined);
    await this.asterisk.stop({ keep: opts.keep });
    this.ports.release();
  }
}
