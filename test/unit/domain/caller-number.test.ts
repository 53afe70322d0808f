import { expect } from 'chai';
import { digitsForSpeech, displayNameForAgent, isWithheld } from '../../../src/domain/caller-number';

describe('domain/caller-number', () => {
  it('digitsForSpeech keeps digits only', () => {
    expect(digitsForSpeech('+15551234567')).to.equal('15551234567');
    expect(digitsForSpeech('+1 (555) 123-4567')).to.equal('15551234567');
    expect(digitsForSpeech('')).to.equal('');
    expect(digitsForSpeech('anonymous')).to.equal('');
  });

  it('isWithheld: missing and the usual withheld words, any case', () => {
    for (const v of [
      undefined,
      null,
      '',
      '   ',
      'anonymous',
      'Anonymous',
      'ANONYMOUS',
      'unknown',
      'restricted',
      'Withheld',
      'private',
      'unavailable',
    ]) {
      expect(isWithheld(v), String(v)).to.equal(true);
    }
  });

  it('isWithheld: non-dialable garbage is withheld', () => {
    for (const v of ['abc', '555abc', '+', '-', '()', '12*34', '#', 'sip:1001@host', '1+2']) {
      expect(isWithheld(v), v).to.equal(true);
    }
  });

  it('isWithheld: real numbers, with common formatting, are not', () => {
    for (const v of ['5551234', '+15551234567', ' 0044 20 7946 0958 ', '(555) 123-4567', '1001', '0']) {
      expect(isWithheld(v), v).to.equal(false);
    }
  });

  it('displayNameForAgent joins prefix and number', () => {
    expect(displayNameForAgent('CB', '5551234')).to.equal('CB 5551234');
    expect(displayNameForAgent(' CB ', ' +15551234 ')).to.equal('CB +15551234');
    expect(displayNameForAgent('', '5551234')).to.equal('5551234');
    expect(displayNameForAgent('CB', '')).to.equal('CB');
  });
});
