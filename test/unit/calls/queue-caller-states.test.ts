import { expect } from 'chai';
import {
  nextQueueCallerState,
  QUEUE_CALLER_TRANSITIONS,
  QueueCallerState,
  QueueCallerStates,
  QueueCallerStep,
} from '../../../src/calls/queue-caller-states';

const STATES = Object.keys(QUEUE_CALLER_TRANSITIONS) as QueueCallerState[];

function walk(steps: QueueCallerStep[]): { states: QueueCallerStates; taken: boolean[] } {
  const states = new QueueCallerStates();
  return { states, taken: steps.map((s) => states.step(s)) };
}

describe("unit: a queue caller's states (transition table)", () => {
  it('press 1 after queueing: waiting -> storing -> confirming -> ended', () => {
    const { states, taken } = walk(['queued', 'accepted', 'booked', 'end']);
    expect(taken).to.deep.equal([true, true, true, true]);
    expect(states.state).to.equal('ended');
  });

  it('press 2: the number is typed, confirmed and booked; giving up goes back to waiting', () => {
    expect(walk(['queued', 'number_entry', 'accepted', 'booked']).states.state).to.equal('confirming');
    expect(walk(['queued', 'number_entry', 'back_to_waiting']).states.state).to.equal('waiting');
  });

  it('an agent: ringing, missed (back to waiting), ringing again, answered, bridged', () => {
    const { states, taken } = walk(['queued', 'agent_ringing', 'agent_missed', 'agent_ringing', 'agent_answered', 'bridge_made']);
    expect(taken.every(Boolean)).to.equal(true);
    expect(states.state).to.equal('bridged');
  });

  it('an agent who answers and leaves before the bridge (or a bridge refused): the caller waits on at its place', () => {
    const { states, taken } = walk(['queued', 'agent_ringing', 'agent_answered', 'agent_missed']);
    expect(taken.every(Boolean)).to.equal(true);
    expect(states.state).to.equal('waiting');
    // Once bridged, the agent leaving ends the call: there is no way back to waiting.
    expect(nextQueueCallerState('bridged', 'agent_missed')).to.equal(undefined);
    // No press 1 or overflow verb while the bridge is being made.
    for (const s of ['accepted', 'number_entry', 'overflow'] as const) expect(nextQueueCallerState('bridging', s), s).to.equal(undefined);
  });

  it("an agent answering after the caller pressed 1 is refused (the caller is the booking's now)", () => {
    const { states, taken } = walk(['queued', 'accepted', 'agent_answered']);
    expect(taken).to.deep.equal([true, true, false]);
    expect(states.state).to.equal('storing');
  });

  it('a booking confirmed after the caller hung up is refused: nothing is played to a gone caller', () => {
    const { states, taken } = walk(['queued', 'accepted', 'end', 'booked', 'back_to_waiting']);
    expect(taken).to.deep.equal([true, true, true, false, false]);
    expect(states.state).to.equal('ended');
  });

  it('an overflow verb: not applicable goes back to waiting; an outside number answered transfers', () => {
    expect(walk(['queued', 'overflow', 'overflow_done']).states.state).to.equal('waiting');
    expect(walk(['queued', 'overflow', 'transferred']).states.state).to.equal('transferred');
    // No second overflow verb, agent or press 1 while one runs.
    const { taken } = walk(['queued', 'overflow', 'overflow', 'agent_ringing', 'accepted']);
    expect(taken).to.deep.equal([true, true, false, false, false]);
  });

  it('ended allows nothing, and every other state can end', () => {
    for (const s of STATES) {
      if (s === 'ended') expect(QUEUE_CALLER_TRANSITIONS.ended).to.deep.equal({});
      else expect(nextQueueCallerState(s, 'end'), s).to.equal('ended');
    }
  });

  it('no step before the caller is queued but the end (a hang-up during hold)', () => {
    const steps: QueueCallerStep[] = ['number_entry', 'accepted', 'booked', 'agent_ringing', 'agent_answered', 'overflow', 'transferred'];
    for (const s of steps) expect(nextQueueCallerState('entering', s), s).to.equal(undefined);
  });
});
