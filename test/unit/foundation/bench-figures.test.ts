import { expect } from 'chai';
import { figuresTable, percentile, summarise } from '../../../tools/bench/figures';

describe('benchmark figures', () => {
  it('percentile: nearest rank below, NaN without samples', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(percentile(xs, 50)).to.equal(51);
    expect(percentile(xs, 99)).to.equal(100);
    expect(percentile([7], 99)).to.equal(7);
    expect(Number.isNaN(percentile([], 50))).to.equal(true);
  });

  it('summarise: median, min and max of each figure over the runs; ratios come from their own runs', () => {
    const runs = [
      { p99: 30, floor: 10, ratio: 3 },
      { p99: 10, floor: 10, ratio: 1 },
      { p99: 12, floor: 6, ratio: 2 },
    ];
    expect(summarise(runs)).to.deep.equal({
      p99: { median: 12, min: 10, max: 30 },
      floor: { median: 10, min: 6, max: 10 },
      // Not median(p99) / median(floor) = 1.2: each run's own ratio, summarised.
      ratio: { median: 2, min: 1, max: 3 },
    });
  });

  it('summarise: an even number of runs takes the mean of the middle two; unmeasured values are left out', () => {
    expect(summarise([{ a: 1 }, { a: 4 }, { a: 2 }, { a: 3 }])).to.deep.equal({ a: { median: 2.5, min: 1, max: 4 } });
    expect(
      summarise([
        { a: NaN, b: 1 },
        { a: 5, b: 2 },
      ]),
    ).to.deep.equal({ a: { median: 5, min: 5, max: 5 }, b: { median: 1.5, min: 1, max: 2 } });
    expect(summarise([{ a: NaN }])).to.deep.equal({});
  });

  it('figuresTable: one aligned row per figure', () => {
    const text = figuresTable({
      event_to_command_p99_ms: { median: 4.5, min: 3.9, max: 12 },
      samples: { median: 2000, min: 1990, max: 2010 },
    });
    expect(text.split('\n')).to.deep.equal([
      'figure                   median   min   max',
      'event_to_command_p99_ms     4.5   3.9    12',
      'samples                    2000  1990  2010',
    ]);
  });
});
