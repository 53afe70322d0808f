import { PROMPTS } from '../../src/calls/prompts';
import { AriSimulator, OutboundLeg } from '../simulator/ari-simulator';

/**
 * Plays the people on the phone for fault runs and benchmarks: agents answer, accept a preview
 * with 1 after the whisper, talk, and hang up; customers answer. Every wait is bounded; a leg
 * that goes away early is simply left.
 */
export interface RobotOptions {
  agentEndpoints: string[];
  /** Customer numbers to answer (endpoint `PJSIP/<digits>@trunk`). */
  customerEndpoints: string[];
  answerAfterMs?: number;
  talkMs?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class CallRobot {
  private readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly agents: Set<string>;
  private readonly customers: Set<string>;

  constructor(
    private readonly sim: AriSimulator,
    private readonly opts: RobotOptions,
  ) {
    this.agents = new Set(opts.agentEndpoints);
    this.customers = new Set(opts.customerEndpoints);
    for (const e of opts.agentEndpoints) sim.endpoint(e).answersAfter(opts.answerAfterMs ?? 100);
    for (const e of opts.customerEndpoints) sim.endpoint(e).answersAfter(opts.answerAfterMs ?? 100);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.poll(), 40);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private poll(): void {
    for (const leg of this.sim.legs) {
      if (this.seen.has(leg.id)) continue;
      this.seen.add(leg.id);
      if (this.agents.has(leg.endpointName)) void this.playAgent(leg).catch(() => undefined);
      else if (this.customers.has(leg.endpointName)) void this.playCustomer(leg).catch(() => undefined);
    }
  }

  /** A person, not a voicemail: presses 1 at the answering-machine guard when it plays. */
  private async playCustomer(leg: OutboundLeg): Promise<void> {
    await leg.waitFor('Up', 15000);
    const guard = (PROMPTS as Record<string, string>).guard;
    if (guard === undefined) return;
    await leg.waitForPlayback((m) => m === guard, 5000);
    await leg.pressDtmf('1');
  }

  private async playAgent(leg: OutboundLeg): Promise<void> {
    await leg.waitFor('Up', 15000);
    // A preview plays the whisper to the answered agent; a live caller is bridged with no whisper.
    // Whichever comes first says which. (A fixed 1.5 s wait for the whisper took a late one on a
    // loaded machine for a live call: the preview was never accepted, and the callback went round
    // again.) Neither within the wait: the plugin is down, and the leg is left.
    const whisper = leg.waitForPlayback((m) => m === PROMPTS.whisperIntro, 15000).then(() => true);
    const bridged = leg.waitFor('inBridge', 15000).then(() => false);
    whisper.catch(() => undefined);
    bridged.catch(() => undefined);
    const preview = await Promise.race([whisper, bridged]);
    if (preview) await leg.pressDtmf('1');
    await leg.waitFor('inBridge', preview ? 10000 : 4000);
    await sleep(this.opts.talkMs ?? 1000);
    if (leg.alive) leg.hangup();
  }
}
