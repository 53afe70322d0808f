import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

describe('e2e: npm run demo -- --json', function () {
  this.timeout(60000);

  it('prints one JSON line with every step of the story, in order, and exits 0', () => {
    const root = path.resolve(__dirname, '..', '..');
    const r = spawnSync('npm', ['run', '--silent', 'demo', '--', '--json'], { cwd: root, encoding: 'utf8', timeout: 55000 });
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines, r.stdout).to.have.length(1);
    const out = JSON.parse(lines[0] ?? '') as { ok: boolean; steps: { name: string; t_ms: number }[] };
    expect(out.ok).to.equal(true);
    const names = out.steps.map((s) => s.name);
    const story = [
      'offer_played',
      'callback_stored',
      'caller_left',
      'agent_leg_answered',
      'agent_accepted',
      'customer_leg_answered',
      'bridged',
    ];
    for (const step of story) expect(names).to.include(step);
    const order = story.map((s) => names.indexOf(s));
    expect(order).to.deep.equal([...order].sort((a, b) => a - b));
    const times = out.steps.map((s) => s.t_ms);
    expect(times).to.deep.equal([...times].sort((a, b) => a - b));
  });
});
