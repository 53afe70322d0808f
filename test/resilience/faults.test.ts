import { expect } from 'chai';
import { runCrashPoint } from '../../tools/faults/scenarios';
import { CrashPoint } from '../../src/config/crash-points';
import { testPostgresServer } from '../helpers/database';

/**
 * The fault-injection harness, small: three of the thirteen crash points (`npm run faults` runs
 * them all). The plugin is a child process SIGKILLed at the point and restarted against the same
 * database and simulator; nothing confirmed is missing, nothing stored is lost, no customer is
 * dialled twice for one attempt, nothing stays claimed or in Stasis.
 */
describe('resilience: crash points (plugin child process killed and restarted)', function () {
  this.timeout(60000);
  const points: CrashPoint[] = ['offer.after_commit', 'preview.after_customer_dial', 'preview.after_bridge'];
  for (const point of points) {
    it(`${point}: nothing lost, no false confirmation, no double dial, nothing stuck`, async () => {
      const r = await runCrashPoint(point, { server: await testPostgresServer() });
      expect(r.crashed, 'the crash point was reached').to.equal(true);
      expect(
        { lost: r.lost, false_confirmations: r.false_confirmations, double_dials: r.double_dials, stuck: r.stuck },
        r.notes.join('; '),
      ).to.deep.equal({
        lost: 0,
        false_confirmations: 0,
        double_dials: 0,
        stuck: 0,
      });
      expect(r.callbacks).to.equal(1);
    });
  }
});
