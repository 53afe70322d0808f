import fs from 'node:fs';
import path from 'node:path';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { REPO_ROOT } from './runtime';

/**
 * The plugin as an administrator runs it: the command behind `npm start`, with a config file and
 * the environment (ARI_URL, ARI_PASSWORD, DATABASE_URL, ...). npm itself is left out so that a
 * signal (SIGKILL in the fault runs) reaches the plugin and nothing else.
 */
export interface PluginLogLine {
  level?: string;
  message?: string;
  [key: string]: unknown;
}

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

export interface PluginProcessOptions {
  configFile: string;
  env: Record<string, string>;
  /** DIRECT_CALLBACK_CRASH_AT: the plugin SIGKILLs itself at this step (src/config/crash-points.ts). */
  crashAt?: string;
  logFile?: string;
}

export class PluginProcess {
  readonly lines: PluginLogLine[] = [];
  private readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly listeners = new Set<() => void>();

  private constructor(opts: PluginProcessOptions) {
    ensureBuilt();
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
    delete env.DIRECT_CALLBACK_CRASH_AT;
    if (opts.crashAt) env.DIRECT_CALLBACK_CRASH_AT = opts.crashAt;
    this.proc = spawn(process.execPath, [...npmStartCommand(), '--config', opts.configFile], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
    let buf = '';
    const onData = (d: Buffer) => {
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
      for (const l of [...this.listeners]) l();
    };
    this.proc.stderr?.on('data', onData);
    this.proc.stdout?.on('data', onData);
    this.exited = new Promise((resolve) =>
      this.proc.on('exit', (code, signal) => {
        this.exit = { code, signal };
        log?.end();
        for (const l of [...this.listeners]) l();
        resolve(this.exit);
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
    return this.exit === undefined;
  }

  /** Waits for a log line matching `pred`; rejects if the process exits first or on timeout. */
  waitForLog(pred: (l: PluginLogLine) => boolean, timeoutMs: number, what: string): Promise<PluginLogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.find(pred);
        if (found) return done(() => resolve(found));
        if (this.exit) return done(() => reject(new Error(`plugin exited (${JSON.stringify(this.exit)}) before ${what}: ${this.tail()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${what}: not within ${timeoutMs} ms: ${this.tail()}`))), timeoutMs);
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        f();
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Connected to ARI and serving (the plugin logs "plugin running" once). */
  ready(timeoutMs = 30_000): Promise<PluginLogLine> {
    return this.waitForLog((l) => l.message === 'plugin running', timeoutMs, 'plugin ready');
  }

  tail(n = 12): string {
    return this.lines
      .slice(-n)
      .map((l) => JSON.stringify(l))
      .join('\n');
  }

  /** kill -9, as the fault runs do. */
  kill(): void {
    if (this.running) this.proc.kill('SIGKILL');
  }

  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    const r = await Promise.race([this.exited, new Promise<undefined>((res) => setTimeout(() => res(undefined), graceMs))]);
    if (!r) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }
}
