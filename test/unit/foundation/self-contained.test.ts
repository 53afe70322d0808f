import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A plain clone must test itself: the lab's files live in test/fixtures/, not in a `shared` folder
 * next to the checkout that only the lab machine has. Only the real-Asterisk level (test/asterisk/)
 * may reach outside, since it needs a lab anyway. Code the tests run (src/, scripts/) is scanned
 * too, because a default path there is how the replay tests once read ../shared.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const SCANNED = ['test', 'src', 'scripts', 'tools'];
// The real-Asterisk level: its tests, and the one file of the lab that finds the Asterisk runtime
// (../shared/asterisk/ on the lab machine, or ASTERISK_TARBALL / ASTERISK_HOME).
const ALLOWED = [
  path.join('test', 'asterisk') + path.sep,
  path.join('tools', 'asterisk-lab', 'runtime.ts'),
  path.relative(ROOT, __filename),
];
/** `../shared`, `shared/ari`, or 'shared' as a path segment given to path.join/resolve. */
const OUTSIDE_READ = /\.\.\/shared\b|\bshared\/ari\b|['"`]shared['"`]/;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'fixtures' ? [] : sourceFiles(full);
    return /\.(ts|cjs|mjs|js|json)$/.test(e.name) ? [full] : [];
  });
}

describe('a plain clone tests itself', () => {
  it('no test outside test/asterisk/ (nor the code it runs) reads ../shared', () => {
    const offenders: string[] = [];
    for (const top of SCANNED) {
      for (const file of sourceFiles(path.join(ROOT, top))) {
        const rel = path.relative(ROOT, file);
        if (ALLOWED.some((a) => rel === a || rel.startsWith(a))) continue;
        fs.readFileSync(file, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (OUTSIDE_READ.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
          });
      }
    }
    expect(offenders, 'move the file into test/fixtures/ and read it from there').to.deep.equal([]);
  });

  it('the recorded Asterisk traces and api-docs are in the repository', () => {
    const traces = path.join(ROOT, 'test', 'fixtures', 'asterisk-22.10.1', 'traces');
    expect(fs.readdirSync(traces).filter((f) => f.endsWith('.jsonl'))).to.have.length.greaterThan(0);
    expect(fs.existsSync(path.join(ROOT, 'tools', 'simulator', 'spec', 'api-docs', 'resources.json'))).to.equal(true);
  });
});
