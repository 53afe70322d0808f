import { expect } from 'chai';
import { decideAdmission, parseStasisArgs } from '../../../src/domain/admission';

describe('admission: which calls the plugin takes', () => {
  describe('the Stasis arguments', () => {
    it('queue, direct and feature codes are read with their targets and options', () => {
      expect(parseStasisArgs(['queue', 'support'])).to.deep.equal({ kind: 'queue', queueId: 'support', options: [] });
      expect(parseStasisArgs(['queue', 'support', 'route=vip'])).to.deep.equal({
        kind: 'queue',
        queueId: 'support',
        options: ['route=vip'],
      });
      expect(parseStasisArgs(['direct', '5551000'])).to.deep.equal({ kind: 'direct', target: '5551000' });
      expect(parseStasisArgs(['agent-login', '1001'])).to.deep.equal({ kind: 'feature-code', code: 'agent-login', target: '1001' });
      // A feature code without an endpoint is the feature code session's to refuse, with its prompt.
      expect(parseStasisArgs(['agent-pause'])).to.deep.equal({ kind: 'feature-code', code: 'agent-pause', target: '' });
    });

    it('malformed arguments say what is wrong', () => {
      expect(parseStasisArgs([])).to.deep.equal({ kind: 'malformed', why: 'no arguments' });
      expect(parseStasisArgs([''])).to.deep.equal({ kind: 'malformed', why: 'no arguments' });
      expect(parseStasisArgs(['queue'])).to.deep.equal({ kind: 'malformed', why: 'queue without a queue id' });
      expect(parseStasisArgs(['queue', ''])).to.deep.equal({ kind: 'malformed', why: 'queue without a queue id' });
      expect(parseStasisArgs(['direct'])).to.deep.equal({ kind: 'malformed', why: 'direct without an agent or number' });
      expect(parseStasisArgs(['bogus', 'x'])).to.deep.equal({ kind: 'malformed', why: "unknown entry kind 'bogus'" });
      expect(parseStasisArgs(['Queue', 'support'])).to.deep.equal({ kind: 'malformed', why: "unknown entry kind 'Queue'" });
    });
  });

  describe('the caps on callers held', () => {
    const none = { process: undefined, queue: undefined };

    it('without caps every caller is taken', () => {
      expect(decideAdmission({ process: 100000, queue: 100000 }, none)).to.deep.equal({ admitted: true });
    });

    it('a queue at its cap turns the next caller away; one fewer held lets it in', () => {
      expect(decideAdmission({ process: 3, queue: 2 }, { process: undefined, queue: 2 })).to.deep.equal({
        admitted: false,
        status: 'FULL',
        limit: 'queue',
        max: 2,
        held: 2,
      });
      expect(decideAdmission({ process: 3, queue: 1 }, { process: undefined, queue: 2 })).to.deep.equal({ admitted: true });
    });

    it('the process cap counts every caller and is reported before the queue cap', () => {
      expect(decideAdmission({ process: 5, queue: 0 }, { process: 5, queue: 10 })).to.include({
        admitted: false,
        limit: 'process',
        max: 5,
      });
      expect(decideAdmission({ process: 5, queue: 2 }, { process: 5, queue: 2 })).to.include({ admitted: false, limit: 'process' });
      expect(decideAdmission({ process: 4, queue: 9 }, { process: 5, queue: undefined })).to.deep.equal({ admitted: true });
    });

    it('a cap that is not a positive whole number is no cap (a bad value never turns everyone away)', () => {
      for (const bad of [0, -1, 1.5, Number.NaN])
        expect(decideAdmission({ process: 7, queue: 7 }, { process: bad, queue: bad }), String(bad)).to.deep.equal({ admitted: true });
    });
  });
});
