import { expect } from 'chai';
import { runStandbyFaults } from '../../tools/faults/standby';
import { testPostgresServer } from '../helpers/database';

/**
 * Hot standby, small (`npm run faults -- --standby` runs ten kills and reports the takeover
 * times): two processes of one standby group; the leader is killed with -9 while a caller's offer
 * plays, then while an agent is in a preview. The standby takes over each time; no caller is lost
 * or moved back, nothing is falsely confirmed, no customer is dialled twice.
 */
describe('resilience: hot standby takes over from a killed leader', function () {
  this.timeout(180000);
  it('two kills (offer playing, agent in preview): nothing lost, no place lost, no false confirmation, no double dial', async () => {
    const r = await runStandbyFaults({ server: await testPostgresServer(), kills: 2 });
    expect(r.kills, r.notes.join('; ')).to.equal(2);
    expect(
      {
        callers_lost: r.callers_lost,
        places_lost: r.places_lost,
        false_confirmations: r.false_confirmations,
        double_dials: r.double_dials,
      },
      r.notes.join('; '),
    ).to.deep.equal({
      callers_lost: 0,
      places_lost: 0,
      false_confirmations: 0,
      double_dials: 0,
    });
    expect(
      r.notes.filter((n) => /ended|still open/.test(n)),
      'every callback completed',
    ).to.deep.equal([]);
  });
});
