import fs from 'node:fs';
import path from 'node:path';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';

/**
 * The plugin as a child process, for every tool and test that starts one (the real-Asterisk lab,
 * the fault runs, the benchmark, the resilience tests). Two ways to start it:
 * - `{ configFile }`: as an administrator runs it, `npm start`'s compiled command with
 *   --config FILE (npm itself is left out, so that a signal reaches the plugin and nothing else);
 * - `{ config }`: from source under tsx (plugin-entry.ts) with an inline config, optionally
 *   forwarding the call milestones on stdout.
 * `{ entry }` runs another tsx entry that prints {"ready":true} once connected (the benchmark's
 * floor app) with the same handling.
 */
export interface PluginLogLine {
  level?: string;
  message?: string;
  [key: string]: unknown;
}

export interface PluginExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface CommonOptions {
  /** The environment on top of this process's: ARI_URL, ARI_PASSWORD, DATABASE_URL, INSTANCE_ID, LOG_LEVEL, ... */
  env: Record<string, string>;
  /** DIRECT_CALLBACK_CRASH_AT: the plugin SIGKILLs itself at this step (src/config/crash-points.ts). */
  crashAt?: string;
  /** Everything the process prints (stdout and stderr) is appended to this file too. */
  logFile?: string;
}

export type PluginProcessOptions = CommonOptions &
  ({ configFile: string } | { config: Record<string, unknown>; milestones?: boolean } | { entry: string });

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const PLUGIN_ENTRY = path.resolve(__dirname, 'plugin-entry.ts');

/** `npm start`'s command, as [executable, ...args] run by this Node. */
export function npmStartCommand(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const start = pkg.scripts?.start;
  if (!start) throw new Error('package.json has no start script');
  const words = start.trim().split(/\s+/);
  if (words[0] === 'node') return words.slice(1);
  if (words[0] === 'tsx') return ['--import', 'tsx', ...words.slice(1)];
  throw new Error(`cannot run npm start's command without npm: ${start}`);
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

let built = false;

/**
 * `npm start` runs the compiled plugin: build it when dist/ is missing or older than src/ (a
 * fresh `npm ci` has built it already), so a lab never runs yesterday's code.
 */
export function ensureBuilt(): void {
  if (built) return;
  const [entry] = npmStartCommand();
  if (entry?.startsWith('dist')) {
    const compiled = path.join(REPO_ROOT, entry);
    if (!fs.existsSync(compiled) || fs.statSync(compiled).mtimeMs < newestMtime(path.join(REPO_ROOT, 'src'))) {
      const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`npm run build failed: ${(r.stderr || r.stdout).slice(-800)}`);
    }
  }
  built = true;
}

/** The command line and readiness test of one way of starting. */
function launchOf(opts: PluginProcessOptions): { args: string[]; env: Record<string, string>; isReady: (l: PluginLogLine) => boolean } {
  if ('configFile' in opts) {
    ensureBuilt();
    // The compiled plugin prints no marker: it is ready once it logs that it runs.
    return { args: [...npmStartCommand(), '--config', opts.configFile], env: {}, isReady: (l) => l.message === 'plugin running' };
  }
  const isReady = (l: PluginLogLine): boolean => l.ready === true;
  if ('entry' in opts) return { args: ['--import', 'tsx', opts.entry], env: {}, isReady };
  const args = ['--import', 'tsx', PLUGIN_ENTRY, ...(opts.milestones ? ['--milestones'] : [])];
  return { args, env: { PLUGIN_CONFIG_JSON: JSON.stringify(opts.config) }, isReady };
}

export class PluginProcess {
  /** Every line printed on stdout or stderr, parsed when JSON (the plugin's log lines), else `{ message }`. */
  readonly lines: PluginLogLine[] = [];
  readonly exited: Promise<PluginExit>;
  private readonly proc: ChildProcess;
  private readonly isReady: (l: PluginLogLine) => boolean;
  private exitInfo: PluginExit | undefined;
  private readonly listeners = new Set<() => void>();

  private constructor(opts: PluginProcessOptions) {
    const launch = launchOf(opts);
    this.isReady = launch.isReady;
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, ...launch.env };
    delete env.DIRECT_CALLBACK_CRASH_AT;
    if (opts.crashAt) env.DIRECT_CALLBACK_CRASH_AT = opts.crashAt;
    this.proc = spawn(process.execPath, launch.args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
    const collect = (stream: NodeJS.ReadableStream | null): void => {
      let buf = '';
      stream?.on('data', (d: Buffer) => {
        log?.write(d);
        buf += d.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          try {
            this.lines.push(JSON.parse(line) as PluginLogLine);
          } catch {
            this.lines.push({ message: line });
          }
        }
        this.notify();
      });
    };
    collect(this.proc.stdout);
    collect(this.proc.stderr);
    this.exited = new Promise((resolve) =>
      this.proc.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        log?.end();
        this.notify();
        resolve(this.exitInfo);
      }),
    );
  }

  static start(opts: PluginProcessOptions): PluginProcess {
    return new PluginProcess(opts);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** How the process ended, once it has. */
  get exit(): PluginExit | undefined {
    return this.exitInfo;
  }

  /** Resident set size in KB (Linux /proc), or undefined. */
  rssKb(): number | undefined {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${this.proc.pid}/status`, 'utf8'));
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Waits for a line matching `pred`; rejects if the process exits first or on timeout. */
  waitForLog(pred: (l: PluginLogLine) => boolean, timeoutMs: number, what: string): Promise<PluginLogLine> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.lines.find(pred);
        if (found) return done(() => resolve(found));
        if (this.exitInfo)
          return done(() => reject(new Error(`plugin exited (${JSON.stringify(this.exitInfo)}) before ${what}: ${this.tail()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${what}: not within ${timeoutMs} ms: ${this.tail()}`))), timeoutMs);
      const done = (f: () => void): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        f();
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Connected to ARI and serving; rejects if the process exits first or on timeout. */
  ready(timeoutMs = 30_000): Promise<PluginLogLine> {
    return this.waitForLog(this.isReady, timeoutMs, 'plugin ready');
  }

  /** The call milestones forwarded by plugin-entry.ts (started with `milestones: true`). */
  milestones(name: string): PluginLogLine[] {
    return this.lines.filter((l) => l.milestone === name);
  }

  /** Waits for the process to end (e.g. at its crash point); undefined on timeout. */
  async waitExit(timeoutMs: number): Promise<PluginExit | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.exited,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs))),
    ]);
    clearTimeout(timer);
    return r;
  }

  /** The last lines, one JSON object per line, for failure messages. */
  tail(n = 12): string {
    return this.lines
      .slice(-n)
      .map((l) => JSON.stringify(l))
      .join('\n');
  }

  /** kill -9, as the fault runs do. Only this process's pid is signalled. */
  kill(): void {
    if (this.running) this.proc.kill('SIGKILL');
  }

  /** SIGTERM (a clean stop), then SIGKILL after the grace. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    if (!(await this.waitExit(graceMs))) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}
