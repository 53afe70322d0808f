import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { readFileSync } from 'node:fs';

/** A plugin child process (tools/faults/plugin-process.ts) and what it printed. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface PluginChildOptions {
  config: Record<string, unknown>;
  env: Record<string, string>;
  crashAt?: string;
  /** Another entry (default: plugin-process.ts), e.g. the benchmark's floor app. */
  entry?: string;
}

const ENTRY = path.resolve(__dirname, 'plugin-process.ts');

export class PluginChild {
  readonly stdoutLines: Record<string, unknown>[] = [];
  readonly stderrLines: string[] = [];
  readonly exited: Promise<ChildExit>;
  private readonly proc: ChildProcess;
  private exitInfo: ChildExit | undefined;
  private readyResolve: (() => void) | undefined;
  private readonly readyPromise: Promise<void>;

  private constructor(opts: PluginChildOptions) {
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, FAULTS_CONFIG_JSON: JSON.stringify(opts.config) };
    delete env.DIRECT_CALLBACK_CRASH_AT;
    if (opts.crashAt !== undefined) env.DIRECT_CALLBACK_CRASH_AT = opts.crashAt;
    this.readyPromise = new Promise((resolve) => (this.readyResolve = resolve));
    this.proc = spawn(process.execPath, ['--import', 'tsx', opts.entry ?? ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    this.proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        try {
          const obj = JSON.parse(line) as Record<string, unknown>;
          this.stdoutLines.push(obj);
          if (obj.ready === true) this.readyResolve?.();
        } catch {
          this.stderrLines.push(`[stdout] ${line}`);
        }
      }
    });
    let err = '';
    this.proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      let nl: number;
      while ((nl = err.indexOf('\n')) >= 0) {
        this.stderrLines.push(err.slice(0, nl));
        err = err.slice(nl + 1);
      }
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  static start(opts: PluginChildOptions): PluginChild {
    return new PluginChild(opts);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Resident set size of the child in KB (Linux /proc), or undefined. */
  rssKb(): number | undefined {
    try {
      const status = readFileSync(`/proc/${this.proc.pid}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  get exit(): ChildExit | undefined {
    return this.exitInfo;
  }

  /** Resolves once the plugin is connected to ARI; rejects if it exits first or on timeout. */
  async ready(timeoutMs = 20000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.readyPromise,
        this.exited.then((e) => Promise.reject(new Error(`plugin child exited before ready (${JSON.stringify(e)}): ${this.stderrLines.slice(-5).join(' | ')}`))),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`plugin child not ready in ${timeoutMs} ms: ${this.stderrLines.slice(-5).join(' | ')}`)), timeoutMs))),
      ]);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Waits for the process to end (e.g. its crash point); undefined on timeout. */
  async waitExit(timeoutMs: number): Promise<ChildExit | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([this.exited, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)))]);
    if (timer) clearTimeout(timer);
    return r;
  }

  milestones(name: string): Record<string, unknown>[] {
    return this.stdoutLines.filter((l) => l.milestone === name);
  }

  /** SIGTERM (clean stop), then SIGKILL after a grace. Only this child's pid is signalled. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exitInfo) return;
    this.proc.kill('SIGTERM');
    if (!(await this.waitExit(graceMs))) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }

  kill(): void {
    if (!this.exitInfo) this.proc.kill('SIGKILL');
  }
}
