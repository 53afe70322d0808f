import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PortAllocator } from '../../tools/asterisk-lab/ports';
import { callerScenario, phoneScenario, Scenario, SippProcess } from '../../tools/asterisk-lab/sipp';
import { describeOnAsterisk, runtime } from './lab-suite';

/**
 * The SIPp scripts the stories run, tried on SIPp itself: two SIPps, no Asterisk. The project's
 * CI once failed a kill -9 story because Asterisk's BYE reached a SIPp caller 0.7 ms after one of
 * its waits timed out, while the script stood on the next step's log `nop`: SIPp 3.6.1 aborted the
 * call ("unexpected BYE") and the story counted a caller error the plugin did not cause. The
 * scripts now put nothing between two waits, and every wait's BYE is `optional="global"`.
 */
describeOnAsterisk('real SIPp: the stories’ scripts', function () {
  this.timeout(30_000);

  it('a BYE that arrives between two waits (on a step’s log) ends the call as a BYE, not as an unexpected message', async () => {
    const ports = new PortAllocator(20);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adc-sipp-'));
    const started: SippProcess[] = [];
    // One call each (-m 1): SIPp exits when it ends, 0 if it succeeded.
    const start = async (name: string, scenario: Scenario, sipPort: number, callee?: number): Promise<SippProcess> => {
      const p = SippProcess.start({
        sipp: runtime().sipp,
        workDir: dir,
        name,
        scenario,
        sipPort,
        mediaPort: (await ports.takeRange(4))[0],
        controlPort: await ports.take(),
        calls: 1,
        ...(callee === undefined ? {} : { remote: `127.0.0.1:${callee}`, service: 'phone' }),
      });
      started.push(p);
      return p;
    };
    try {
      // The phone answers at once and hangs up 1.5 s later.
      const phonePort = await ports.take();
      const hangingUp = phoneScenario({ user: 'phone', answer: { answerAfterMs: 0 }, steps: [{ wait: 1500 }, { hangup: true }] });
      const phone = await start('phone', hangingUp, phonePort);
      // The caller waits 0.5 s, then stands 3 s between that wait and the next, on an element that
      // expects nothing: the window, held open.
      const script = callerScenario({ from: '+15550009999', steps: [{ wait: 500 }, { dtmf: '1' }, { waitForBye: 10_000 }] });
      const lines = script.xml.split('\n');
      const afterFirstWait = lines.findIndex((l) => /^<label id="w\d+_done"\/>$/.test(l.trim()));
      expect(afterFirstWait, 'the first wait ends at a label').to.be.above(0);
      lines.splice(afterFirstWait + 1, 0, '<pause milliseconds="3000"/>');
      const caller = await start('caller', { ...script, xml: lines.join('\n') }, await ports.take(), phonePort);
      expect(await caller.finished(20_000), caller.errors()).to.equal(0);
      expect(await phone.finished(10_000), phone.errors()).to.equal(0);
      expect(
        caller.log().map((l) => l.message),
        'the BYE taken by the wait before the pause',
      ).to.include('got bye');
    } finally {
      for (const p of started) await p.stop();
      ports.release();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
