import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { ConfFile } from './conf-file';
import { AsteriskRuntime, CORE_SOUNDS_DIR, MOH_DIR, REPO_ROOT } from './runtime';

/**
 * One real Asterisk for a lab run, configured from the project's own `asterisk-config/` (what an
 * administrator installs), rendered for the test: only ports, loopback addresses, secrets and the
 * phones' contacts are changed (see `render`). It runs in the foreground as a child process, so a
 * test run that dies takes it along.
 */
export const PROJECT_CONFIG_DIR = path.join(REPO_ROOT, 'asterisk-config');

/** Modules that open listening sockets of their own; the runtime's README says to keep them off. */
const NETWORK_MODULES = [
  'chan_iax2.so',
  'chan_mgcp.so',
  'chan_skinny.so',
  'chan_unistim.so',
  'pbx_dundi.so',
  'res_hep.so',
  'res_hep_pjsip.so',
  'res_hep_rtcp.so',
  'res_phoneprov.so',
  'res_pjsip_phoneprov_provider.so',
  'res_stun_monitor.so',
  'res_statsd.so',
  'res_pktccops.so',
];

export interface AgentPhone {
  /** PJSIP endpoint name (the agent's id in the sample dialplan), e.g. 1001. */
  endpoint: string;
  /** Where its SIPp phone listens. */
  port: number;
  ip?: string;
}

export interface AsteriskPorts {
  sip: number;
  http: number;
  ami: number;
  rtpStart: number;
  rtpEnd: number;
}

export interface AsteriskServerOptions {
  runtime: AsteriskRuntime;
  ports: AsteriskPorts;
  ariPassword: string;
  amiPassword: string;
  agentPhones: readonly AgentPhone[];
  /** Where the customers' SIPp phone (behind the trunk) listens. */
  trunkPort: number;
  /** Extra `.conf` files (name → text), e.g. a queues.conf for app_queue members. */
  extraFiles?: Record<string, string>;
}

export interface AriAnswer<T = unknown> {
  status: number;
  body: T;
  ms: number;
}

export class AsteriskServer {
  readonly dir: string;
  readonly ariUrl: string;
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly env: NodeJS.ProcessEnv;
  /** The digest password rendered into pjsip.conf for each agent's phone (endpoint → password). */
  private readonly agentPasswords = new Map<string, string>();

  private constructor(readonly opts: AsteriskServerOptions) {
    // Short: the CLI's control socket lives in astrundir and a socket path is at most 107 bytes.
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adc-ast-'));
    this.ariUrl = `http://127.0.0.1:${opts.ports.http}`;
    this.env = {
      ...process.env,
      LD_LIBRARY_PATH: opts.runtime.libraryPath,
    };
    this.render();
  }

  static async start(opts: AsteriskServerOptions): Promise<AsteriskServer> {
    const server = new AsteriskServer(opts);
    await server.boot();
    return server;
  }

  get confFile(): string {
    return path.join(this.dir, 'etc', 'asterisk.conf');
  }

  /** Writes etc/, the data folder (rest-api, sounds with the project's prompts, moh) and the rest. */
  private render(): void {
    const { runtime, ports } = this.opts;
    const d = (p: string) => path.join(this.dir, p);
    for (const sub of ['etc', 'varlib', 'db', 'keys', 'data', 'spool', 'r', 'log', 'agi']) fs.mkdirSync(d(sub), { recursive: true });
    fs.symlinkSync(runtime.restApiDir, d('data/rest-api'));
    // Asterisk registers configuration options against its XML documentation: without it,
    // res_stasis refuses to initialise ("Stasis initialization failed").
    fs.symlinkSync(path.join(path.dirname(runtime.restApiDir), 'documentation'), d('data/documentation'));
    fs.symlinkSync(MOH_DIR, d('data/moh'));
    this.renderSounds(d('data/sounds'));
    fs.writeFileSync(
      this.confFile,
      [
        '[directories]',
        `astetcdir => ${d('etc')}`,
        `astmoddir => ${runtime.modulesDir}`,
        `astvarlibdir => ${d('varlib')}`,
        `astdbdir => ${d('db')}`,
        // Asterisk reads its keys from <astkeydir>/keys.
        `astkeydir => ${this.dir}`,
        `astdatadir => ${d('data')}`,
        `astagidir => ${d('agi')}`,
        `astspooldir => ${d('spool')}`,
        `astrundir => ${d('r')}`,
        `astlogdir => ${d('log')}`,
        `astsbindir => ${path.dirname(runtime.binary)}`,
        '[options]',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(d('etc/logger.conf'), '[general]\ndateformat = %F %T.%3q\n[logfiles]\nmessages => notice,warning,error\n');
    const project = (name: string) => new ConfFile(fs.readFileSync(path.join(PROJECT_CONFIG_DIR, name), 'utf8'));
    const write = (name: string, conf: ConfFile | string) => fs.writeFileSync(d(`etc/${name}`), conf.toString());

    write('http.conf', project('http.conf').set('general', 'bindaddr', '127.0.0.1').set('general', 'bindport', String(ports.http)));
    write('ari.conf', project('ari.conf').set('direct-callback', 'password', this.opts.ariPassword));
    write(
      'manager.conf',
      project('manager.conf')
        .set('general', 'bindaddr', '127.0.0.1')
        .set('general', 'port', String(ports.ami))
        .set('direct-callback', 'secret', this.opts.amiPassword),
    );
    write(
      'rtp.conf',
      project('rtp.conf').set('general', 'rtpstart', String(ports.rtpStart)).set('general', 'rtpend', String(ports.rtpEnd)),
    );
    write(
      'modules.conf',
      (() => {
        const m = project('modules.conf');
        for (const mod of NETWORK_MODULES) if (!m.toString().includes(`noload = ${mod}`)) m.appendLines('modules', [`noload = ${mod}`]);
        return m;
      })(),
    );
    write('pjsip.conf', this.renderPjsip(project('pjsip.conf')));
    for (const name of ['extensions.conf', 'musiconhold.conf', 'queues.conf', 'voicemail.conf', 'websocket_client.conf']) {
      if (fs.existsSync(path.join(PROJECT_CONFIG_DIR, name))) fs.copyFileSync(path.join(PROJECT_CONFIG_DIR, name), d(`etc/${name}`));
    }
    for (const [name, text] of Object.entries(this.opts.extraFiles ?? {})) write(name, text);
  }

  /**
   * The sample's phones become the test's SIPp phones: static contacts on loopback instead of
   * registrations, no OPTIONS pings (SIPp would take them for calls), random passwords; the trunk
   * points at the customers' SIPp and is identified by 127.0.0.1 (where the callers' SIPp sends
   * from). Agents beyond the sample's 1001/1002 are added from its own templates.
   */
  private renderPjsip(p: ConfFile): ConfFile {
    const { ports, agentPhones, trunkPort } = this.opts;
    p.set('transport-udp', 'bind', `127.0.0.1:${ports.sip}`);
    p.set('agent-aor', 'qualify_frequency', '0');
    for (const phone of agentPhones) {
      const user = phone.endpoint;
      const contact = `sip:${user}@${phone.ip ?? '127.0.0.1'}:${phone.port}`;
      if (!p.has(user, 'endpoint')) {
        p.append(
          user,
          [
            ['auth', user],
            ['aors', user],
            ['callerid', `"Agent ${user}" <${user}>`],
          ],
          '(agent-endpoint)',
        );
        p.append(
          user,
          [
            ['username', user],
            ['password', 'x'],
          ],
          '(agent-auth)',
        );
        p.append(user, [], '(agent-aor)');
      }
      const password = randomBytes(12).toString('hex');
      this.agentPasswords.set(user, password);
      p.set(user, 'password', password, { type: 'auth' });
      p.set(user, 'contact', contact, { type: 'aor' });
    }
    p.set('trunk', 'contact', `sip:127.0.0.1:${trunkPort}`, { type: 'aor' });
    p.set('trunk', 'qualify_frequency', '0', { type: 'aor' });
    p.set('trunk', 'match', '127.0.0.1', { type: 'identify' });
    return p;
  }

  /** sounds/<lang>/: Debian's core sounds for that language plus the project's `callback/` prompts. */
  private renderSounds(dest: string): void {
    const ours = path.join(PROJECT_CONFIG_DIR, 'sounds');
    const languages = fs.readdirSync(ours).filter((l) => fs.statSync(path.join(ours, l)).isDirectory());
    for (const lang of languages) {
      const dir = path.join(dest, lang);
      fs.mkdirSync(dir, { recursive: true });
      const core = path.join(CORE_SOUNDS_DIR, lang);
      if (fs.existsSync(core)) for (const entry of fs.readdirSync(core)) fs.symlinkSync(path.join(core, entry), path.join(dir, entry));
      for (const entry of fs.readdirSync(path.join(ours, lang))) {
        const target = path.join(dir, entry);
        if (!fs.existsSync(target)) fs.symlinkSync(path.join(ours, lang, entry), target);
      }
    }
  }

  private async boot(): Promise<void> {
    const out = fs.openSync(path.join(this.dir, 'log', 'console.log'), 'a');
    // stdin stays an open pipe: with /dev/null, `asterisk -f` never reports itself fully booted
    // (ARI answers "Asterisk not booted" for ever).
    const proc = spawn(this.opts.runtime.binary, ['-f', '-n', '-C', this.confFile], {
      env: this.env,
      stdio: ['pipe', out, out],
      cwd: this.dir,
    });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.on('exit', () => resolve()));
    fs.closeSync(out);
    // A boot takes 5-7 s on an idle lab machine; 30 s and more was measured with the machine's
    // load average above 20 (other labs beside it).
    const bootMs = 90_000;
    const deadline = Date.now() + bootMs;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null)
        throw new Error(`Asterisk exited at start (${proc.exitCode ?? proc.signalCode}): ${this.tail()}`);
      const r = await this.ari('GET', '/asterisk/info').catch(() => undefined);
      if (r?.status === 200) return;
      if (Date.now() > deadline) {
        // Not left running behind the error: nobody would stop it.
        proc.kill('SIGKILL');
        await this.exited;
        throw new Error(`Asterisk's ARI did not answer in ${bootMs / 1000} s: ${this.tail()}`);
      }
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  private tail(): string {
    const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').slice(-1500) : '');
    return `${read(path.join(this.dir, 'log', 'messages'))}\n${read(path.join(this.dir, 'log', 'console.log'))}`;
  }

  /**
   * The SIP password of an agent's phone, as rendered into pjsip.conf: a SIPp party that calls as
   * that phone answers Asterisk's digest challenge with it (and comes from another loopback
   * address than 127.0.0.1, which identifies the trunk).
   */
  agentPassword(endpoint: string): string {
    const password = this.agentPasswords.get(endpoint);
    if (password === undefined) throw new Error(`no agent phone ${endpoint} in this Asterisk`);
    return password;
  }

  /**
   * Changes one rendered `.conf` file (etc/<name>) of the running Asterisk, e.g. to break the
   * dialplan for a test. Asterisk reads it again only when told (`dialplan reload`, `module
   * reload …`): the caller sends that command.
   */
  editConf(name: string, edit: (text: string) => string): void {
    const file = path.join(this.dir, 'etc', name);
    const before = fs.readFileSync(file, 'utf8');
    const after = edit(before);
    if (after === before) throw new Error(`editConf(${name}): the edit changed nothing`);
    fs.writeFileSync(file, after);
  }

  /** One ARI request with the plugin's credentials (the lab's own checks and the observer's). */
  async ari<T = unknown>(
    method: string,
    resource: string,
    query: Record<string, string | number | boolean> = {},
    body?: unknown,
  ): Promise<AriAnswer<T>> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
    const auth = Buffer.from(`direct-callback:${this.opts.ariPassword}`).toString('base64');
    const t0 = performance.now();
    const res = await fetch(`${this.ariUrl}/ari${resource}${qs ? `?${qs}` : ''}`, {
      method,
      headers: { authorization: `Basic ${auth}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T, ms: performance.now() - t0 };
  }

  /** `asterisk -rx <command>` against this instance's control socket. */
  cli(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        this.opts.runtime.binary,
        ['-C', this.confFile, '-rx', command],
        { env: this.env, timeout: 15_000 },
        (err: Error | null, stdout: string) => (err ? reject(err) : resolve(stdout)),
      );
    });
  }

  /** Asterisk's own log (notice, warning, error) since start. */
  log(): string {
    const f = path.join(this.dir, 'log', 'messages');
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Stops Asterisk (`core stop now`, then SIGKILL) and, with `keep`, leaves its folder for reading. */
  async stop(opts: { keep?: boolean } = {}): Promise<void> {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      await this.cli('core stop now').catch(() => undefined);
      const stopped = await Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      if (!stopped) {
        this.proc.kill('SIGKILL');
        await this.exited;
      }
    }
    if (!opts.keep && !process.env.LAB_KEEP) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Asterisk restarted under the plugin: the same configuration, a new process. */
  async restart(): Promise<void> {
    await this.stop({ keep: true });
    await this.boot();
  }
}
