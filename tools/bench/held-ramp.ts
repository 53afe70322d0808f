/**
 * The verdict of the held-callers ramp of `npm run bench -- --asterisk` (tools/bench/asterisk-bench.ts),
 * kept apart from the calls so its rules are unit-tested (test/unit/foundation/held-ramp.test.ts):
 *
 * - held_callers_max is the last step of an unbroken run of passing steps from the first (a step
 *   passes when its press-1 p95 is at most twice the floor's and nothing failed);
 * - the ramp goes on past a step whose ratio is above 2, up to the first step where a call failed
 *   or a held caller was dropped: held_callers_max_no_failures is the step before that one;
 * - the plugin's CPU per held caller is taken at the largest step whose callers were all held: its
 *   fixed costs are then spread over the most callers.
 */
export interface HeldStepOutcome {
  target: number;
  /** Ratio ≤ 2, every sample caller confirmed, nothing dropped or failed. */
  passed: boolean;
  /** A call failed, a held caller was dropped, or not all were put on hold: the ramp stops. */
  failed: boolean;
  /** Why the step did not pass (empty when it did). */
  why: string;
  allHeld: boolean;
  pluginCpuMsPerHeldCallerMin: number;
  asteriskCpuMsPerHeldCallerMin: number;
}

export interface HeldRampResult {
  heldMax: number;
  heldMaxNoFailures: number;
  bound: string;
  failureBound: string;
  pluginCpuMsPerHeldCallerMin: number;
  asteriskCpuMsPerHeldCallerMin: number;
}

export class HeldRamp {
  private heldMax = 0;
  private heldMaxNoFailures = 0;
  private perHeldCaller = NaN;
  private asteriskPerHeldCaller = NaN;
  private bound = '';
  private failureBound: string;
  private stopped = false;
  private last = 0;

  constructor(
    private readonly step: number,
    private readonly cap: number,
  ) {
    if (!(step > 0) || !(cap >= step))
      throw new Error(`held callers: step ${step} and cap ${cap} must be positive, the cap at least one step`);
    this.failureBound = `not reached: no call failed up to the cap of ${cap}`;
  }

  /** The next step's number of held callers, or undefined when the ramp is over. */
  next(): number | undefined {
    if (this.stopped) return undefined;
    const target = this.last + this.step;
    return target <= this.cap ? target : undefined;
  }

  record(s: HeldStepOutcome): void {
    this.last = s.target;
    if (s.allHeld) {
      this.perHeldCaller = s.pluginCpuMsPerHeldCallerMin;
      this.asteriskPerHeldCaller = s.asteriskCpuMsPerHeldCallerMin;
    }
    if (s.passed && this.heldMax === s.target - this.step) this.heldMax = s.target;
    if (!s.passed && !this.bound) this.bound = s.why;
    if (s.failed) {
      this.failureBound = s.why;
      this.stopped = true;
      return;
    }
    this.heldMaxNoFailures = s.target;
  }

  result(): HeldRampResult {
    return {
      heldMax: this.heldMax,
      heldMaxNoFailures: this.heldMaxNoFailures,
      bound: this.bound || `not reached: every step up to the cap of ${this.cap} passed`,
      failureBound: this.failureBound,
      pluginCpuMsPerHeldCallerMin: this.perHeldCaller,
      asteriskCpuMsPerHeldCallerMin: this.asteriskPerHeldCaller,
    };
  }
}
