import { expect } from 'chai';
import { runReportBench } from '../../tools/bench/report-bench';
import { testPostgresServer } from '../helpers/database';

/**
 * `npm run bench:report` at a small size: it seeds, reports and prints its figures. The time is
 * printed by the benchmark, never asserted here (a loaded machine is not a slow report).
 */
describe('bench:report runs (small size)', function () {
  this.timeout(120000);

  it('seeds a day among other days and reads exactly that day back', async () => {
    const f = await runReportBench({ calls: 400, historyDays: 2, runs: 2 }, await testPostgresServer());
    // 400 queue callers and a direct call for every tenth: 440 callers in the day, none of the other days.
    expect(f.callersEntered).to.equal(440);
    expect(f.runsMs).to.have.length(2);
    expect(f.medianMs).to.be.a('number').and.at.least(0);
    expect(f.rowsSeeded).to.be.greaterThan(3 * 440);
    expect(f.targetMs).to.equal(1000);
  });
});
