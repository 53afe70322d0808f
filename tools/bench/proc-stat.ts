import fs from 'node:fs';

/**
 * CPU time from Linux's /proc, for the benchmarks: where the cores went during a window. Both
 * read counters (USER_HZ ticks, 100 per second on Linux) and are compared before and after.
 */

/** CPU time (user + system) a process has used so far, in ms; NaN when it is gone or not Linux. */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    // Fields after the command (which may hold spaces): utime and stime are the 12th and 13th.
    const after = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(after[11]) + Number(after[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/** The whole machine's CPU so far (all cores), in ms: busy (not idle, not waiting for I/O) and total. */
export function machineCpuMs(): { busy: number; total: number } {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0); // guest time is already in user
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return { busy: ((total - idle) * 1000) / 100, total: (total * 1000) / 100 };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

/** Threads of a process (/proc/<pid>/status); NaN when it is gone. */
export function threadCount(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** Threads runnable on the whole machine right now (/proc/stat procs_running): the run queue. */
export function runnableThreads(): number {
  try {
    return Number(/^procs_running\s+(\d+)/m.exec(fs.readFileSync('/proc/stat', 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/**
 * Waits until the whole machine has been quiet (busy below `busyBelow` of all cores) for
 * `quietMs` in a row, or `maxMs` have passed: a run that starts while the previous run's tail
 * (SIPp's last calls, Asterisk tearing down hundreds of channels, PostgreSQL's checkpoint) still
 * runs measures that tail. The 1-minute load average cannot tell: it decays for minutes after the
 * machine is idle. Answers how long it waited and the busy share of the last window.
 */
export async function waitForQuietMachine(
  opts: { busyBelow?: number; quietMs?: number; maxMs?: number; stepMs?: number } = {},
): Promise<{ waitedMs: number; busyPercent: number; quiet: boolean }> {
  const busyBelow = opts.busyBelow ?? 0.15;
  const quietMs = opts.quietMs ?? 5000;
  const maxMs = opts.maxMs ?? 120_000;
  const stepMs = opts.stepMs ?? 1000;
  const t0 = Date.now();
  let quietSince: number | undefined;
  let busy: number;
  let before = machineCpuMs();
  for (;;) {
    await new Promise((r) => setTimeout(r, stepMs));
    const now = machineCpuMs();
    const total = now.total - before.total;
    busy = total > 0 ? (now.busy - before.busy) / total : NaN;
    before = now;
    if (!(busy < busyBelow)) quietSince = undefined;
    else quietSince ??= Date.now() - stepMs;
    const waited = Date.now() - t0;
    if (quietSince !== undefined && Date.now() - quietSince >= quietMs)
      return { waitedMs: waited, busyPercent: Math.round(busy * 1000) / 10, quiet: true };
    if (waited >= maxMs) return { waitedMs: waited, busyPercent: Math.round(busy * 1000) / 10, quiet: false };
  }
}
