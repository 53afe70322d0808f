import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Dialplan, parseShowDialPlan } from '../../../src/doctor/ami-dialplan';
import {
  compareExtensions,
  findExtension,
  outboundDialFor,
  TOLL_FRAUD_PROBES,
  unrestrictedOutbound,
} from '../../../src/doctor/outbound-rules';
import { checkOutboundDialling } from '../../../src/doctor/toll-fraud-checks';
import { nanpRegionOf } from '../../../src/domain/policies/nanp';
import { dialplanFromExtensionsConf } from '../../helpers/fake-ami-server';

const root = path.resolve(__dirname, '..', '..', '..');
const SAMPLE = fs.readFileSync(path.join(root, 'asterisk-config', 'extensions.conf'), 'utf8');

/** extensions.conf text → the dialplan as ShowDialPlan would list it. */
function dialplanOf(conf: string): Dialplan {
  return parseShowDialPlan(
    dialplanFromExtensionsConf(conf).map((l): Record<string, string> =>
      'include' in l
        ? { Context: l.context, IncludeContext: l.include }
        : { Context: l.context, Extension: l.extension, Priority: String(l.priority), Application: l.application, AppData: l.appData },
    ),
  );
}

/** The sample with its [agents-outbound] context replaced by `body` (what issue 19 found shipped, say). */
function sampleWithOutbound(body: string): string {
  const start = SAMPLE.indexOf('[agents-outbound]\n');
  const end = SAMPLE.indexOf('\n[agents-outbound-refused]');
  expect(start, 'the sample has [agents-outbound]').to.be.greaterThan(0);
  expect(end).to.be.greaterThan(start);
  return `${SAMPLE.slice(0, start)}[agents-outbound]\n${body}\n${SAMPLE.slice(end)}`;
}

const PHONES = new Map([
  ['from-agents', ['1001', '1002']],
  ['from-trunk', ['trunk']],
]);

const ISSUE_19_OUTBOUND = `exten => _[+0-9]XXXX.,1,NoOp(Outbound call from \${CHANNEL(endpoint)} to \${EXTEN})
 same => n,Dial(PJSIP/\${EXTEN}@trunk,60)
 same => n,Hangup()`;

describe('doctor: toll fraud in the dialplan (outbound-rules)', () => {
  it('orders extensions as Asterisk picks them: literal, then fewer characters per position, `.` and `!` last', () => {
    const shuffled = [
      '_X.',
      '_!',
      '_1NXXNXXXXXX',
      '_[+0-9].',
      '_1NXX976XXXX',
      '_1876NXXXXXX',
      '18765550123',
      '_1N11NXXXXXX',
      '_1NXXN11XXXX',
    ];
    expect([...shuffled].sort(compareExtensions)).to.deep.equal([
      '18765550123',
      '_1876NXXXXXX',
      '_1N11NXXXXXX',
      '_1NXX976XXXX',
      '_1NXXN11XXXX',
      '_1NXXNXXXXXX',
      '_X.',
      '_[+0-9].',
      '_!',
    ]);
    // A set of three ranks between a digit and N; equal specificity: the lower first character.
    expect(compareExtensions('_[235]XX', '_NXX')).to.be.lessThan(0);
    expect(compareExtensions('_2XX', '_3XX')).to.be.lessThan(0);
  });

  it("a context's own extensions come before its includes, and includes in order; a loop of includes ends", () => {
    const dp = dialplanOf(`[a]
include => b
include => c
exten => _9X.,1,NoOp(own)
[b]
include => a
exten => _X.,1,NoOp(b)
[c]
exten => _XXX,1,NoOp(c)
`);
    expect(findExtension(dp, 'a', '912')?.[0]?.appData).to.equal('own');
    // 123 matches _X. in b and _XXX in c: b is included first, and its match ends the search.
    expect(findExtension(dp, 'a', '123')?.[0]?.appData).to.equal('b');
    expect(findExtension(dp, 'b', '9')).to.equal(undefined);
  });

  it('the sample dialplan: phones reach no premium, international or Caribbean number, and every US number through the trunk', () => {
    const dp = dialplanOf(SAMPLE);
    for (const probe of TOLL_FRAUD_PROBES) expect(outboundDialFor(dp, 'from-agents', probe.number), probe.number).to.equal(undefined);
    expect(unrestrictedOutbound(dp, PHONES)).to.deep.equal([]);
    const us = { at: '_1NXXNXXXXXX@agents-outbound', dial: 'Dial(PJSIP/${EXTEN}@trunk,60)' };
    expect(outboundDialFor(dp, 'from-agents', '12125550123')).to.deep.equal(us);
    // 10 digits: the Goto to 1 + the number is followed.
    expect(outboundDialFor(dp, 'from-agents', '2125550123')).to.deep.equal(us);
    // 976 pay-per-call, N11 exchange, N11 area code, 7 digits, a leading +: refused or no extension.
    for (const n of ['12129761234', '12124111234', '14115550123', '5550123', '+12125550123', '2129761234'])
      expect(outboundDialFor(dp, 'from-agents', n), n).to.equal(undefined);
    // The provider's calls (from-trunk) dial out nowhere either.
    expect(outboundDialFor(dp, 'from-trunk', '011442079460000')).to.equal(undefined);
  });

  it('the sample refuses every +1 area code the plugin gives to another region than the US (libphonenumber metadata)', () => {
    const dp = dialplanOf(SAMPLE);
    const wrong: string[] = [];
    let us = 0;
    for (let npa = 200; npa <= 999; npa++) {
      if (npa % 100 === 11) continue;
      const national = `${npa}2345678`;
      const region = nanpRegionOf(national);
      const dials = outboundDialFor(dp, 'from-agents', `1${national}`) !== undefined;
      // 900 is a US area code, of premium-rate numbers only.
      const allowed = region === 'US' && npa !== 900;
      if (allowed) us += 1;
      if (dials !== allowed) wrong.push(`${npa} (${region}) ${dials ? 'dials' : 'refused'}`);
    }
    expect(wrong).to.deep.equal([]);
    expect(us, 'most area codes are US ones').to.be.greaterThan(500);
  });

  it("issue 19's shipped [agents-outbound] (_[+0-9]XXXX. → Dial(PJSIP/${EXTEN}@trunk)) is flagged for every probe number", () => {
    const found = unrestrictedOutbound(dialplanOf(sampleWithOutbound(ISSUE_19_OUTBOUND)), PHONES);
    expect(found).to.have.length(1);
    expect(found[0]?.context).to.equal('from-agents');
    expect(found[0]?.endpoints).to.deep.equal(['1001', '1002']);
    expect(found[0]?.way).to.deep.equal({ at: '_[+0-9]XXXX.@agents-outbound', dial: 'Dial(PJSIP/${EXTEN}@trunk,60)' });
    expect(found[0]?.reached.map((p) => p.number)).to.deep.equal(TOLL_FRAUD_PROBES.map((p) => p.number));
  });

  it('an _X. catch-all is flagged through the check, naming the phones, the line and each number', () => {
    const dp = dialplanOf(sampleWithOutbound('exten => _X.,1,Dial(PJSIP/${EXTEN}@trunk)'));
    const result = checkOutboundDialling(dp, [
      { name: '1001', context: 'from-agents', auths: ['1001'] },
      { name: 'trunk', context: 'from-trunk', auths: [] },
    ]);
    expect(result.ok).to.equal(false);
    expect(result.detail).to.equal(
      'calls from PJSIP/1001 (context from-agents) reach Dial(PJSIP/${EXTEN}@trunk) at _X.@agents-outbound for ' +
        TOLL_FRAUD_PROBES.filter((p) => !p.number.startsWith('+'))
          .map((p) => `${p.number} (${p.kind})`)
          .join(', '),
    );
    expect(result.fix).to.include('dialplan reload');
    const fixed = checkOutboundDialling(dialplanOf(SAMPLE), [{ name: '1001', context: 'from-agents', auths: ['1001'] }]);
    expect(fixed).to.deep.equal({
      name: 'outbound-dialling',
      ok: true,
      detail: `${TOLL_FRAUD_PROBES.length} premium, international and Caribbean numbers dialled from 1 context(s) (from-agents) reach no trunk`,
    });
  });

  it('follows Goto() with ${EXTEN} and ${EXTEN:n}; stops at a Goto it cannot resolve; a fixed Dial() is no way out', () => {
    const dp = dialplanOf(`[phones]
exten => _00.,1,Goto(intl,\${EXTEN:2},1)
exten => _011.,1,Goto(\${ROUTE},\${EXTEN},1)
exten => _1900.,1,Dial(PJSIP/1001,30)
[intl]
exten => _X.,1,NoOp(international)
 same => n,Dial(SIP/provider/\${EXTEN})
`);
    expect(outboundDialFor(dp, 'phones', '00442079460000')).to.deep.equal({ at: '_X.@intl', dial: 'Dial(SIP/provider/${EXTEN})' });
    expect(outboundDialFor(dp, 'phones', '011442079460000')).to.equal(undefined);
    expect(outboundDialFor(dp, 'phones', '19005550123')).to.equal(undefined);
    // A context no endpoint starts in is not looked at, whatever it dials.
    expect(unrestrictedOutbound(dp, new Map([['elsewhere', ['x']]]))).to.deep.equal([]);
  });
});
