import { PROMPTS } from '../../src/calls/prompts';
import type { OutboundLeg, PlaybackRecord, SimCall } from '../simulator/ari-simulator';
import { AGENT_WITHOUT_NUMBER, agentOf, queuesOf } from './config';
import { AriFaultBook, AriFaultRule, FaultOwner, randomAriFaults } from './faults';
import { Person, PersonHooks, randomKeys, sleep } from './people';
import { Rng, rngFor } from './random';
import { FuzzRig } from './rig';

/**
 * One fuzz scenario: in its slot (one agent, an agent-first and a customer-first queue), some of
 * queue callers, direct callers to the agent's personal number, callbacks created through the
 * API and misrouted calls, at random moments, with the agent busy or free, ARI faults on the
 * scenario's own requests, and now and then a fault for everyone (the database cut or locked,
 * the WebSocket dropped). Every choice comes from generators seeded by (run seed, scenario
 * index, who), so `--only K` plays scenario K again.
 */
export type Invariant =
  'process_alive' | 'state_outlives_call' | 'caller_outcome' | 'false_confirmation' | 'double_dial' | 'left_in_stasis';

export const INVARIANTS: readonly Invariant[] = [
  'process_alive',
  'state_outlives_call',
  'caller_outcome',
  'false_confirmation',
  'double_dial',
  'left_in_stasis',
];

export interface Violation {
  scenario: number;
  invariant: Invariant;
  detail: string;
}

export type CallerKind = 'queue' | 'direct' | 'misrouted';

export interface CallerTrace {
  person: Person;
  kind: CallerKind;
  args: string[];
}

export interface LegTrace {
  leg: OutboundLeg;
  role: 'agent' | 'customer';
  person: Person;
}

export interface ScenarioTrace extends FaultOwner {
  index: number;
  slot: number;
  plan: string[];
  /** National numbers (10 digits) of the scenario's customers. */
  numbers: Set<string>;
  callers: CallerTrace[];
  legs: LegTrace[];
  channelIds: Set<string>;
  endpoints: Set<string>;
  startedAt: number;
  violations: Violation[];
  /** Set while the people play; the leg watcher hands new legs to it. */
  active: boolean;
}

/** What the scenarios share: the rig, the run's seed, the ARI faults and who owns which leg. */
export interface Stage {
  rig: FuzzRig;
  seed: number;
  faults: AriFaultBook;
  hooks: (trace: ScenarioTrace) => PersonHooks;
  /** The scenario that owns a number or an agent's endpoint now. */
  owners: Map<string, ScenarioTrace>;
}

const NPAS = ['212', '312', '415', '617', '713', '206'];
const NXXS = Array.from({ length: 800 }, (_, i) => String(200 + i)).filter((n) => !n.endsWith('11') && n !== '555');

/** The j-th number of scenario `index`: unique in the run, a valid US number. */
export function numberOf(index: number, j: number): string {
  const n = index * 8 + j;
  const block = Math.floor(n / 10000);
  return `${NPAS[Math.floor(block / NXXS.length) % NPAS.length]}${NXXS[block % NXXS.length]}${String(n % 10000).padStart(4, '0')}`;
}

/** The national number inside a trunk dial string (`PJSIP/+12125550123@trunk`), or undefined. */
export function trunkNational(endpointName: string): string | undefined {
  const m = /^[A-Za-z0-9]+\/([^@]+)@trunk$/.exec(endpointName);
  if (!m) return undefined;
  const digits = m[1].replace(/[^0-9]/g, '');
  return digits.length >= 10 ? digits.slice(-10) : digits;
}

const MISROUTED: readonly (readonly string[])[] = [
  ['queue', 'nosuch'],
  ['queue'],
  ['bogus', 'x'],
  [],
  ['direct', 'nosuch'],
  ['direct', AGENT_WITHOUT_NUMBER],
];

export async function playScenario(stage: Stage, index: number, slot: number, opts: { chaos: boolean }): Promise<ScenarioTrace> {
  const { rig, seed } = stage;
  const rng = rngFor(seed, index, 'plan');
  const agent = agentOf(slot);
  const queues = queuesOf(slot);
  const trace: ScenarioTrace = {
    index,
    slot,
    plan: [],
    numbers: new Set(),
    callers: [],
    legs: [],
    channelIds: new Set(),
    endpoints: new Set([agent.endpoint]),
    startedAt: Date.now(),
    refused: 0,
    violations: [],
    active: true,
  };
  stage.owners.set(agent.endpoint, trace);
  let numbers = 0;
  const newNumber = (): string => {
    const n = numberOf(index, numbers++);
    trace.numbers.add(n);
    trace.endpoints.add(n);
    stage.owners.set(n, trace);
    return n;
  };
  const kind = rng.weighted([
    ['queue', 35],
    ['direct', 20],
    ['callback', 20],
    ['mixed', 15],
    ['misrouted', 10],
  ] as const);
  const queueId = rng.chance(0.5) ? queues.agentFirst : queues.customerFirst;
  const busy = rng.chance(0.6);
  const freeAt = busy ? rng.int(0, 2500) : 0;
  trace.plan.push(`slot ${slot}: ${kind} in ${queueId}, agent ${busy ? `busy until ${freeAt} ms` : 'free'}`);
  const endpoint = rig.sim.endpoint(agent.endpoint);
  endpoint.setDeviceState(busy ? 'INUSE' : null);
  const faults: AriFaultRule[] = rng.chance(0.35) ? randomAriFaults(rng) : [];
  for (const f of faults)
    trace.plan.push(`ARI ${f.operation} ${f.fault.status ?? `+${f.fault.delayMs} ms`} x${f.remaining} from ${f.fromMs} ms`);
  stage.faults.add(trace, faults);

  const starts: Promise<void>[] = [];
  const later = (atMs: number, what: () => Promise<void>): void => {
    starts.push(sleep(atMs).then(what));
  };
  const callers =
    kind === 'queue' ? rng.int(1, 3) : kind === 'direct' ? rng.int(1, 2) : kind === 'mixed' ? rng.int(1, 3) : kind === 'misrouted' ? 1 : 0;
  for (let i = 0; i < callers; i++) {
    const at = rng.int(0, 800);
    const callerKind: CallerKind =
      kind === 'misrouted' ? 'misrouted' : kind === 'direct' ? 'direct' : kind === 'mixed' && rng.chance(0.4) ? 'direct' : 'queue';
    const args =
      callerKind === 'queue'
        ? [
            ...['queue', kind === 'mixed' ? rng.pick([queues.agentFirst, queues.customerFirst]) : queueId],
            ...(rng.chance(0.1) ? ['route=nosuch'] : []),
          ]
        : callerKind === 'direct'
          ? ['direct', rng.chance(0.5) ? agent.id : agent.personalNumber]
          : [...rng.pick(MISROUTED)];
    trace.plan.push(`caller ${i} at ${at} ms: [${args.join(',')}]`);
    const number = newNumber();
    const personRng = rngFor(seed, index, 'caller', i);
    later(at, () => playCaller(stage, trace, personRng, number, args, callerKind, newNumber));
  }
  const callbacks = kind === 'callback' ? rng.int(1, 2) : kind === 'mixed' && rng.chance(0.5) ? 1 : 0;
  for (let i = 0; i < callbacks; i++) {
    const at = rng.int(0, 800);
    const q = rng.pick([queues.agentFirst, queues.customerFirst]);
    const number = newNumber();
    trace.plan.push(`callback ${i} at ${at} ms in ${q}`);
    later(at, async () => {
      await rig.plugin.app.admin.createCallback({ queueId: q, number: `+1${number}`, name: `Fuzz ${index}` }).catch(() => undefined);
    });
  }
  if (busy) later(freeAt, async () => void endpoint.setDeviceState(null));
  if (opts.chaos && rng.chance(0.08)) {
    const at = rng.int(0, 2000);
    const what = rng.pick(['websocket', 'database-cut', 'database-lock'] as const);
    const lockMs = rng.int(200, 1200);
    trace.plan.push(`chaos at ${at} ms: ${what}${what === 'database-lock' ? ` ${lockMs} ms` : ''}`);
    later(at, async () => {
      if (what === 'websocket') await rig.sim.dropWebSocket();
      else if (what === 'database-cut') await rig.cutDatabaseConnections().catch(() => 0);
      else await rig.lockCallbacks(lockMs).catch(() => undefined);
    });
  }
  await Promise.all(starts);
  // The people already on the line play on; the agent is free from now, so that what was booked gets its attempt.
  endpoint.setDeviceState(null);
  await Promise.all(trace.callers.map((c) => c.person.done));
  return trace;
}

/** Reacts to what a caller hears: the offer, the number entry, its read-back, digits being read. */
function callerReaction(rng: Rng, newNumber: () => string): (p: Person, pb: PlaybackRecord) => void {
  const pDigits = rng.pick([0, 0.3, 0.8]);
  const pAnswerOffer = rng.pick([0.2, 0.6, 0.9]);
  return (p, pb) => {
    if (rng.chance(pDigits) && p.pressDuringDigits(pb, randomKeys(rng))) return;
    const first = pb.media[0] ?? '';
    const delay = rng.int(0, 400);
    const soon = (keys: string): void => void setTimeout(() => p.press(keys), delay);
    if ((first === PROMPTS.offer || first === PROMPTS.directOffer || first === PROMPTS.offerOtherNumber) && rng.chance(pAnswerOffer))
      soon(
        rng.weighted([
          ['1', 6],
          ['2', 3],
          [randomKeys(rng), 1],
        ] as const),
      );
    else if (first === PROMPTS.enterNumber && rng.chance(0.8))
      soon(
        `${rng.weighted<() => string>([
          [() => newNumber(), 6],
          [() => '123', 1],
          [() => '19005550123', 1],
          [() => '0116834002', 1],
          [() => randomKeys(rng), 1],
        ])()}${rng.chance(0.85) ? '#' : ''}`,
      );
    else if ((pb.media.includes(PROMPTS.confirmNumber) || first === PROMPTS.youEntered) && rng.chance(0.8))
      soon(
        rng.weighted([
          ['1', 7],
          ['2', 2],
          [randomKeys(rng), 1],
        ] as const),
      );
  };
}

async function playCaller(
  stage: Stage,
  trace: ScenarioTrace,
  rng: Rng,
  number: string,
  args: string[],
  kind: CallerKind,
  newNumber: () => string,
): Promise<void> {
  const call: SimCall = stage.rig.sim.call({ from: `+1${number}`, name: rng.chance(0.5) ? 'Fuzz Caller' : undefined, args, to: 'queue:x' });
  trace.channelIds.add(call.id);
  const patient = rng.chance(0.45);
  const person = new Person(call, rng, stage.hooks(trace), patient ? null : rng.int(30, 3000), callerReaction(rng, newNumber));
  for (let i = rng.int(0, 3); i > 0; i--) person.at(rng.int(0, 3000), randomKeys(rng));
  person.done = person.run();
  trace.callers.push({ person, kind, args });
}

/** An agent's phone rings for a leg of the plugin's: answer, let it ring, refuse, or answer and leave. */
export function playAgentLeg(stage: Stage, trace: ScenarioTrace, leg: OutboundLeg, n: number): LegTrace {
  const rng = rngFor(stage.seed, trace.index, 'agent-leg', n);
  const choice = rng.weighted([
    ['answer', 60],
    ['ring-out', 12],
    ['busy', 10],
    ['answer-and-leave', 13],
    ['hang-up-ringing', 5],
  ] as const);
  const pKeysOnWhisper = rng.pick([0.3, 0.8, 1]);
  const hangupAt = choice === 'answer-and-leave' ? rng.int(50, 700) : rng.chance(0.5) ? null : rng.int(200, 3000);
  const person = new Person(leg, rng, stage.hooks(trace), hangupAt, (p, pb) => {
    if (!rng.chance(pKeysOnWhisper)) return;
    const keys = rng.weighted([
      ['1', 7],
      ['2', 2],
      [randomKeys(rng), 1],
    ] as const);
    if (!p.pressDuringDigits(pb, keys) || rng.chance(0.3)) setTimeout(() => p.press(keys), rng.int(0, 300));
  });
  for (let i = rng.int(0, 2); i > 0; i--) person.at(rng.int(0, 2000), randomKeys(rng));
  trace.plan.push(`agent leg ${n}: ${choice}`);
  person.done = (async () => {
    await sleep(rng.int(0, 300));
    if (leg.alive && leg.state !== 'Up') {
      if (choice === 'busy') leg.reject('busy');
      else if (choice === 'hang-up-ringing') leg.hangup();
      else if (choice !== 'ring-out') leg.answer();
    }
    await person.run();
  })();
  return { leg, role: 'agent', person };
}

/** A customer's phone rings: answer (and press the guard's 1, or not), busy, no answer, congestion. */
export function playCustomerLeg(stage: Stage, trace: ScenarioTrace, leg: OutboundLeg, n: number): LegTrace {
  const rng = rngFor(stage.seed, trace.index, 'customer-leg', n);
  const choice = rng.weighted([
    ['answer', 60],
    ['busy', 10],
    ['no-answer', 12],
    ['congestion', 5],
    ['hang-up-ringing', 8],
    ['answer-and-leave', 5],
  ] as const);
  const pGuard = rng.pick([0.5, 0.9, 1]);
  const hangupAt = choice === 'answer-and-leave' ? rng.int(50, 700) : rng.chance(0.5) ? null : rng.int(200, 3000);
  const person = new Person(leg, rng, stage.hooks(trace), hangupAt, (p, pb) => {
    if (pb.media[0] === PROMPTS.guard && rng.chance(pGuard)) {
      const keys = rng.chance(0.85) ? '1' : randomKeys(rng);
      setTimeout(() => p.press(keys), rng.int(0, 500));
    } else if (rng.chance(0.2)) p.pressDuringDigits(pb, randomKeys(rng));
  });
  for (let i = rng.int(0, 1); i > 0; i--) person.at(rng.int(0, 2000), randomKeys(rng));
  trace.plan.push(`customer leg ${n}: ${choice}`);
  person.done = (async () => {
    await sleep(rng.int(0, 300));
    if (leg.alive && leg.state !== 'Up') {
      if (choice === 'busy') leg.reject('busy');
      else if (choice === 'congestion') leg.reject('congestion');
      else if (choice === 'hang-up-ringing') leg.hangup();
      else if (choice !== 'no-answer') leg.answer();
    }
    await person.run();
  })();
  return { leg, role: 'customer', person };
}
