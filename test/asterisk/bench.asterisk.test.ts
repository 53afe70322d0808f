import path from 'node:path';
import { execFile } from 'node:child_process';
import { expect } from 'chai';
import { describeOnAsterisk } from './lab-suite';

/**
 * `npm run bench -- --asterisk --json` with tiny numbers: the command runs end to end on the real
 * Asterisk and prints one JSON line holding every figure (its median and spread over the runs),
 * each of a sane type. Timings are the benchmark's to report, never this test's to judge: only
 * their order (p50 <= p95 <= max) and the ratio's arithmetic are checked. One run keeps CI short:
 * with one run each median is that run's figure, so the arithmetic still holds.
 */
const ROOT = path.resolve(__dirname, '..', '..');

function bench(args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'tools/bench/cli.ts'), ...args],
      { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

describeOnAsterisk('real Asterisk: npm run bench -- --asterisk', function () {
  this.timeout(240_000);

  // One step of held callers: the ramp's rules over several steps are unit-tested
  // (test/unit/foundation/held-ramp.test.ts); here the step's figures come from a real run.
  it('5 callers, one step of 10 held callers on the plugin and on app_queue: one JSON line with every figure', async () => {
    const r = await bench(
      [
        '--asterisk',
        '--json',
        '--runs',
        '1',
        '--callers',
        '5',
        '--held-step',
        '10',
        '--held-max',
        '10',
        '--hold-window',
        '2',
        '--sample-callers',
        '3',
        '--agent-samples',
        '3',
      ],
      230_000,
    );
    expect(r.code, r.stderr.slice(-3000)).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines, 'one line on stdout').to.have.length(1);
    const out = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(out.runs).to.equal(1);
    const perRun = out.per_run as Record<string, unknown>[];
    expect(perRun).to.have.length(1);
    expect((out.machine as { load_average_1m_at_runs: unknown }).load_average_1m_at_runs)
      .to.be.an('array')
      .with.length(1);
    // Each figure: median and spread; with one run, all three are that run's figure.
    const num = (k: string): number => {
      const spread = out[k] as { median: unknown; min: unknown; max: unknown } | undefined;
      expect(spread, k).to.be.an('object');
      expect(spread?.median, k).to.be.a('number');
      expect([spread?.min, spread?.max], k).to.deep.equal([spread?.median, spread?.median]);
      const [top, nested] = k.split('.');
      const raw = nested === undefined ? perRun[0]?.[k] : (perRun[0]?.[top ?? ''] as Record<string, unknown> | undefined)?.[nested];
      expect(raw, k).to.equal(spread?.median);
      return spread?.median as number;
    };
    const f = perRun[0] ?? {};
    expect(out.asterisk)
      .to.be.a('string')
      .and.match(/^\d+\.\d+/);
    const [p50, p95, max] = [num('dtmf_to_confirm_p50_ms'), num('dtmf_to_confirm_p95_ms'), num('dtmf_to_confirm_max_ms')];
    expect(p50).to.be.at.least(0);
    expect(p50).to.be.at.most(p95);
    expect(p95).to.be.at.most(max);
    const floor = num('floor_dtmf_to_confirm_p95_ms');
    expect(floor).to.be.above(0);
    // Rounded to 2 decimals from the rounded p95s.
    expect(num('ratio_p95_to_floor')).to.be.closeTo(p95 / floor, 0.006);
    // The commit floor: the raw floor plus one committed INSERT, same callers.
    const commitFloor = num('floor_commit_dtmf_to_confirm_p95_ms');
    expect(commitFloor).to.be.above(0);
    expect(num('ratio_p95_to_floor_commit')).to.be.closeTo(p95 / commitFloor, 0.006);
    // The burst: as many callers pressing 1 together, with its own ratio to its own floor.
    const [bp50, bp95, bmax] = [
      num('burst_dtmf_to_confirm_p50_ms'),
      num('burst_dtmf_to_confirm_p95_ms'),
      num('burst_dtmf_to_confirm_max_ms'),
    ];
    expect(bp50).to.be.at.most(bp95);
    expect(bp95).to.be.at.most(bmax);
    expect(num('burst_ratio_p95_to_floor')).to.be.closeTo(bp95 / num('burst_floor_dtmf_to_confirm_p95_ms'), 0.006);
    expect(num('burst_floor_commit_dtmf_to_confirm_p95_ms')).to.be.above(0);
    expect(num('burst_failed_calls')).to.equal(0);
    expect(num('press1_plugin_loop_lag_ms.p99')).to.be.at.least(0);
    expect(num('agent_accept_to_customer_dial_p95_ms')).to.be.at.least(0);
    expect(num('agent_accept_samples')).to.be.at.least(1);
    expect(num('dtmf_samples')).to.equal(5);
    expect(num('floor_samples')).to.equal(5);
    expect(num('press1_failed_calls')).to.equal(0);
    const held = num('held_callers_max');
    expect([0, 10]).to.include(held);
    expect([0, 10]).to.include(num('held_callers_max_no_failures'));
    expect(num('plugin_cpu_ms_per_held_caller_min')).to.be.at.least(0);
    // app_queue held the same callers in the same run: its CPU per held caller beside the plugin's.
    const pluginAst = num('asterisk_cpu_ms_per_held_caller_min');
    const queueAst = num('app_queue_asterisk_cpu_ms_per_held_caller_min');
    expect(pluginAst).to.be.above(0);
    expect(queueAst).to.be.above(0);
    expect(num('asterisk_cpu_ratio_to_app_queue')).to.be.closeTo(pluginAst / queueAst, 0.006);
    expect([0, 10]).to.include(num('app_queue_held_callers_max_no_failures'));
    const queueSteps = f.app_queue_held_steps as Record<string, unknown>[];
    expect(queueSteps).to.have.length(1);
    expect(queueSteps[0]).to.include({ held: 10, in_queue: 10 });
    expect(queueSteps[0]).to.include.keys('asterisk_cpu_ms_per_held_caller_min', 'asterisk_threads', 'asterisk_channels');
    expect(out.held_callers_bound).to.deep.equal([f.held_callers_bound]);
    expect(f.held_callers_bound).to.be.a('string').and.not.equal('');
    expect(f.held_callers_no_failures_bound).to.be.a('string').and.not.equal('');
    expect(f.app_queue_held_callers_no_failures_bound).to.be.a('string').and.not.equal('');
    const steps = f.held_steps as Record<string, unknown>[];
    expect(steps).to.have.length(1);
    expect(steps[0]?.held).to.equal(10);
    // held_callers_max is the step when it passed (ratio ≤ 2, nothing failed), else 0 and the reason.
    expect(f.held_callers_bound).to.match(held === 10 ? /^not reached: every step up to the cap of 10 passed/ : / at 10 held; CPU/);
    expect(steps[0]).to.include.keys('held', 'on_hold', 'ratio_p95_to_floor', 'hold_cpu_percent', 'sample_cpu_percent');
    expect(steps[0]?.hold_cpu_percent).to.include.keys('asterisk', 'plugin', 'sipp', 'postgres', 'floor', 'bench', 'machine');
  });

  it('an option of the simulator benchmark, or a ramp with no step, is refused with --asterisk (exit 2)', async () => {
    const r = await bench(['--asterisk', '--pending', '5'], 20_000);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include('--pending applies to the simulator benchmark');
    const noStep = await bench(['--asterisk', '--held-step', '20', '--held-max', '10'], 20_000);
    expect(noStep.code).to.equal(2);
    expect(noStep.stderr).to.include('--held-max 10 is below --held-step 20');
  });
});
