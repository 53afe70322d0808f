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
