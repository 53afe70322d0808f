import { expect } from 'chai';
import {
  DIRECT_CALL_TRANSITIONS,
  DirectCallState,
  DirectCallStates,
  DirectCallStep,
  nextDirectCallState,
} from '../../../src/calls/direct-call-states';

const STATES = Object.keys(DIRECT_CALL_TRANSITIONS) as DirectCallState[];

function walk(steps: DirectCallStep[]): { states: DirectCallStates; taken: boolean[] } {
  const states = new DirectCallStates();
  return { states, taken: steps.map((s) => states.step(s)) };
}

describe("unit: a direct call's states (transition table)", () => {
  it('the agent answers: ringing_agent -> connecting -> bridged -> ended', () => {
    const { states, taken } = walk(['agent_answered', 'bridge_made', 'end']);
    expect(taken).to.deep.equal([true, true, true]);
    expect(states.state).to.equal('ended');
  });

  it('the agent answers and leaves before the bridge (or the bridge is refused): the caller is offered a callback or told', () => {
    expect(walk(['agent_answered', 'offer']).states.state).to.equal('offering');
    expect(walk(['agent_answered', 'message']).states.state).to.equal('closing');
    // Once bridged, the agent leaving ends the call.
    expect(walk(['agent_answered', 'bridge_made', 'offer', 'message']).taken).to.deep.equal([true, true, false, false]);
  });

  it('missed, offered, press 1, booked: offering -> storing -> closing -> ended', () => {
    const { states, taken } = walk(['offer', 'accepted', 'booked', 'end']);
    expect(taken).to.deep.equal([true, true, true, true]);
    expect(states.state).to.equal('ended');
  });

  it('a failed booking goes back to the offers; a refused number or enough offers close the call', () => {
    expect(walk(['offer', 'accepted', 'back_to_offering']).states.state).to.equal('offering');
    expect(walk(['offer', 'accepted', 'number_refused']).states.state).to.equal('closing');
    expect(walk(['offer', 'offers_done']).states.state).to.equal('closing');
    expect(walk(['message']).states.state).to.equal('closing');
  });

  it('an agent answering after the call moved on (offers, or the caller gone) is refused', () => {
    expect(walk(['offer', 'agent_answered']).taken).to.deep.equal([true, false]);
    expect(walk(['end', 'agent_answered']).taken).to.deep.equal([true, false]);
  });

  it('a booking that comes back after the caller hung up is refused: nothing is played to a gone caller', () => {
    const { states, taken } = walk(['offer', 'accepted', 'end', 'booked', 'number_refused', 'back_to_offering']);
    expect(taken).to.deep.equal([true, true, true, false, false, false]);
    expect(states.state).to.equal('ended');
  });

  it('no second press 1 while storing, and no offers or press 1 while bridged', () => {
    expect(walk(['offer', 'accepted', 'accepted']).taken).to.deep.equal([true, true, false]);
    expect(walk(['agent_answered', 'bridge_made', 'offer', 'accepted', 'message']).taken).to.deep.equal([true, true, false, false, false]);
  });

  it('ended allows nothing, and every other state can end', () => {
    for (const s of STATES) {
      if (s === 'ended') expect(DIRECT_CALL_TRANSITIONS.ended).to.deep.equal({});
      else expect(nextDirectCallState(s, 'end'), s).to.equal('ended');
    }
  });
});
