import { expect } from 'chai';
import { interpretOfferDigit, interpretPreviewDigit } from '../../../src/domain/dtmf';

const noise = ['', '0', '2', '9', '*', '#', 'A', 'a', '11', ' 1', '1 ', '12', '١'];

describe('domain/dtmf', () => {
  it('offer: only "1" accepts', () => {
    expect(interpretOfferDigit('1')).to.equal('accept');
    for (const d of noise) expect(interpretOfferDigit(d), JSON.stringify(d)).to.equal('ignore');
  });

  it('preview: "1" accepts, "2" skips, anything else is ignored', () => {
    expect(interpretPreviewDigit('1')).to.equal('accept');
    expect(interpretPreviewDigit('2')).to.equal('skip');
    for (const d of [...noise.filter((d) => d !== '2'), '21', '2 ']) expect(interpretPreviewDigit(d), JSON.stringify(d)).to.equal('ignore');
  });
});
