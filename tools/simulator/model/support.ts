/** Small shared helpers for the simulator model: timers, time format, caller ids, causes, errors. */

export class TimerSet {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly immediates = new Set<NodeJS.Immediate>();
  stopped = false;

  after(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        if (!this.stopped) fn();
      },
      Math.max(0, ms),
    );
    this.timers.add(t);
    return t;
  }

  soon(fn: () => void): void {
    const i = setImmediate(() => {
      this.immediates.delete(i);
      if (!this.stopped) fn();
    });
    this.immediates.add(i);
  }

  cancel(t: NodeJS.Timeout | null | undefined): void {
    if (!t) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  clearAll(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const i of this.immediates) clearImmediate(i);
    this.timers.clear();
    this.immediates.clear();
  }
}

/** Asterisk's ARI timestamp format: 2026-11-24T19:14:49.111+0000 (UTC). */
export function asteriskTime(d: Date = new Date()): string {
  return d.toISOString().replace('Z', '+0000');
}

export interface CallerId {
  name: string;
  number: string;
}

/** Parses `"Name" <number>`, `Name <number>` or `number`. */
export function parseCallerIdString(s: string): CallerId {
  const m = /^\s*(?:"([^"]*)"|([^<]*?))\s*<([^>]*)>\s*$/.exec(s);
  if (m) return { name: (m[1] ?? m[2] ?? '').trim(), number: m[3].trim() };
  return { name: '', number: s.trim() };
}

export const CAUSE_TEXT: Record<number, string> = {
  0: 'Unknown',
  1: 'Unallocated (unassigned) number',
  3: 'No route to destination',
  16: 'Normal Clearing',
  17: 'User busy',
  18: 'No user responding',
  19: 'User alerting, no answer',
  21: 'Call Rejected',
  26: 'Answered elsewhere',
  27: 'Destination out of order',
  28: 'Invalid number format',
  31: 'Normal, unspecified',
  34: 'Circuit/channel congestion',
  38: 'Network out of order',
  41: 'Temporary failure',
  58: 'Bearer capability not available',
  127: 'Interworking, unspecified',
};

export function causeText(cause: number): string {
  return CAUSE_TEXT[cause] ?? 'Unknown';
}

/** ARI hangup `reason` values → Q.850 cause (res/ari/resource_channels.c). */
export const HANGUP_REASON_CAUSE: Record<string, number> = {
  normal: 16,
  busy: 17,
  congestion: 34,
  no_answer: 19,
  timeout: 18,
  rejected: 21,
  unallocated: 1,
  normal_unspecified: 31,
  number_incomplete: 28,
  codec_mismatch: 58,
  interworking: 127,
  failure: 38,
  answered_elsewhere: 26,
};

/** An ARI error answer: status + exact JSON body. */
export class AriHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(`${status} ${JSON.stringify(body)}`);
  }
}

export function notFound(message: string): AriHttpError {
  return new AriHttpError(404, { message });
}
