import { expect } from 'chai';
import { numberOption, parseOptions, usageText, UsageError } from '../../../src/cli/options';

describe('declarative script options', () => {
  const spec = {
    usage: 'npm run faults --',
    summary: 'Fault injection.',
    options: {
      json: { type: 'boolean', description: 'one JSON line' },
      points: { type: 'string', valueName: 'a,b', description: 'only these points' },
      endpoint: { type: 'string', multiple: true, description: 'an endpoint' },
    },
  } as const;

  it('parses the declared options; --help is always known', () => {
    expect(parseOptions(spec, ['--json', '--points', 'a,b', '--endpoint', 'X/1', '--endpoint=X/2'])).to.deep.equal({
      json: true,
      points: 'a,b',
      endpoint: ['X/1', 'X/2'],
    });
    expect(parseOptions(spec, [])).to.deep.equal({});
    expect(parseOptions(spec, ['-h'])).to.deep.equal({ help: true });
  });

  it('an option it does not know is an error naming it and the known ones', () => {
    expect(() => parseOptions(spec, ['--asterisk'])).to.throw(
      UsageError,
      "unknown option '--asterisk' (known: --json, --points, --endpoint, --help)",
    );
    expect(() => parseOptions(spec, ['--json', 'extra'])).to.throw(UsageError, "unexpected argument 'extra'");
    expect(() => parseOptions(spec, ['--points'])).to.throw(UsageError, "option '--points <value>' argument missing");
  });

  it('the help text comes from the same declarations', () => {
    const text = usageText(spec);
    expect(text).to.match(/^Usage: npm run faults -- \[options\]\nFault injection\./);
    expect(text).to.include('--points <a,b>');
    expect(text).to.include('an endpoint (repeatable)');
    expect(text).to.include('-h, --help');
  });

  it('numbers are checked', () => {
    expect(numberOption('callers', undefined)).to.equal(undefined);
    expect(numberOption('callers', '100', { integer: true, min: 1 })).to.equal(100);
    expect(() => numberOption('callers', '1.5', { integer: true })).to.throw(UsageError, "--callers: expected a whole number, got '1.5'");
    expect(() => numberOption('window', 'abc')).to.throw(UsageError, "--window: expected a number, got 'abc'");
    expect(() => numberOption('port', '-1', { min: 0 })).to.throw(UsageError, '≥ 0');
  });
});
