import { expect } from 'chai';
import { numericFigures, summarise } from '../../../tools/bench/figures';

/**
 * `npm run bench -- --asterisk --runs N`: each run's figures become numbers by name (one level of
 * nesting under a dotted name), and each name's median and spread over the runs is reported.
 */
describe('bench: the figures of several --asterisk runs', () => {
  it('flattens one level of nested numbers under dotted names; lists and words stay out', () => {
    expect(
      numericFigures({
        asterisk: '22.10.1',
        ratio_p95_to_floor: 1.5,
        press1_plugin_loop_lag_ms: { p99: 3, max: 9 },
        press1_cpu_percent: { asterisk: 40, note: 'x' },
        held_steps: [{ held: 10 }],
        held_callers_bound: 'not reached',
      }),
    ).to.deep.equal({
      ratio_p95_to_floor: 1.5,
      'press1_plugin_loop_lag_ms.p99': 3,
      'press1_plugin_loop_lag_ms.max': 9,
      'press1_cpu_percent.asterisk': 40,
    });
  });

  it('the median and range of each figure over three runs, a ratio taken within each run', () => {
    const runs = [
      { dtmf_to_confirm_p95_ms: 30, floor_dtmf_to_confirm_p95_ms: 10, ratio_p95_to_floor: 3, press1_plugin_loop_lag_ms: { p99: 5 } },
      { dtmf_to_confirm_p95_ms: 20, floor_dtmf_to_confirm_p95_ms: 4, ratio_p95_to_floor: 5, press1_plugin_loop_lag_ms: { p99: 1 } },
      { dtmf_to_confirm_p95_ms: 25, floor_dtmf_to_confirm_p95_ms: 12.5, ratio_p95_to_floor: 2, press1_plugin_loop_lag_ms: { p99: 2 } },
    ].map(numericFigures);
    const s = summarise(runs);
    expect(s.ratio_p95_to_floor).to.deep.equal({ median: 3, min: 2, max: 5 });
    expect(s.dtmf_to_confirm_p95_ms).to.deep.equal({ median: 25, min: 20, max: 30 });
    expect(s['press1_plugin_loop_lag_ms.p99']).to.deep.equal({ median: 2, min: 1, max: 5 });
  });
});
