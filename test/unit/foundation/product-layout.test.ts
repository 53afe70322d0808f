import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The layout issue 20 asked for, kept by a test so it cannot grow back: src/ is the product only,
 * its folders import downwards only, no product file passes 400 lines, and only the config module
 * reads the environment.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const SRC = path.join(ROOT, 'src');

/**
 * Each top-level folder (or file) of src/ and its layer. An import may go to a lower layer, or stay
 * inside its own folder; never up or sideways. A new folder must be given a layer here, which is
 * the point: its place in the architecture is decided, not accidental.
 */
const LAYER: Record<string, number> = {
  domain: 0,
  'package-root': 0,
  logging: 0,
  config: 1,
  ari: 2,
  ami: 2,
  store: 2,
  cluster: 2,
  calls: 3,
  engine: 4,
  doctor: 4,
  metrics: 5,
  http: 6,
  plugin: 7,
  'run-plugin': 8,
  cli: 9,
  main: 10,
};

function files(dir: string, ext: RegExp): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? files(full, ext) : ext.test(e.name) ? [full] : [];
  });
}

/** `calls/queue-caller-session.ts` → `calls`; `plugin.ts` → `plugin`. */
function unit(file: string): string {
  const [first = ''] = path.relative(SRC, file).split(path.sep);
  return first.replace(/\.[jt]s$/, '');
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\(\s*|require\(\s*)'(\.{1,2}\/[^']+)'/g)].map((m) =>
    path.resolve(path.dirname(file), m[1] ?? ''),
  );
}

const productFiles = files(SRC, /\.ts$/);

describe('the product layout', () => {
  it('every folder of src/ has a layer, and every import goes down a layer or stays in its folder', () => {
    const unplaced = [...new Set(productFiles.map(unit))].filter((u) => LAYER[u] === undefined);
    expect(unplaced, 'give these a layer in product-layout.test.ts').to.deep.equal([]);
    const upward: string[] = [];
    for (const file of productFiles) {
      const from = unit(file);
      for (const target of importsOf(file)) {
        const rel = path.relative(SRC, target);
        if (rel.startsWith('..')) {
          upward.push(`${path.relative(ROOT, file)} imports ${path.relative(ROOT, target)} (outside src/)`);
          continue;
        }
        const to = unit(target);
        if (to === from) continue;
        if ((LAYER[to] ?? Infinity) >= (LAYER[from] ?? -Infinity)) upward.push(`${path.relative(ROOT, file)} (${from}) imports ${to}`);
      }
    }
    expect(upward).to.deep.equal([]);
  });

  it('the HTTP surface and the metrics reach the engine only through its admin port', () => {
    const concrete: string[] = [];
    for (const file of productFiles.filter((f) => ['http', 'metrics'].includes(unit(f)))) {
      for (const target of importsOf(file)) {
        if (unit(target) === 'engine' && path.basename(target).replace(/\.[jt]s$/, '') !== 'admin-port') {
          concrete.push(`${path.relative(ROOT, file)} imports ${path.relative(ROOT, target)}`);
        }
      }
    }
    expect(concrete).to.deep.equal([]);
  });

  it('no product file is 400 lines or more', () => {
    const long = productFiles
      .map((f) => ({ file: path.relative(ROOT, f), lines: fs.readFileSync(f, 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines >= 400);
    expect(long).to.deep.equal([]);
  });

  it('only the config module reads process.env', () => {
    const readers = productFiles.filter((f) => /process\.env\b/.test(fs.readFileSync(f, 'utf8'))).map((f) => path.relative(ROOT, f));
    expect(
      readers.every((f) => f.startsWith(path.join('src', 'config') + path.sep)),
      readers.join(', '),
    ).to.equal(true);
  });

  it('only Leg creates and dials a channel (it waits for the StasisStart; a dial sent before answers 409)', () => {
    // The external overflow action created and dialled its leg itself and got 409 "Channel not in
    // Stasis application" on the real Asterisk: a path that skipped Leg skipped its rule.
    const senders = productFiles
      .filter((f) => !f.startsWith(path.join(SRC, 'ari') + path.sep) && f !== path.join(SRC, 'calls', 'leg.ts'))
      .filter((f) => /control\s*\.\s*(createChannel|dial)\s*\(/.test(fs.readFileSync(f, 'utf8')))
      .map((f) => path.relative(ROOT, f));
    expect(senders).to.deep.equal([]);
  });

  it('the build compiles src/ only, and the tooling lives outside it', () => {
    // tsconfig files allow line comments; JSON does not.
    const text = fs.readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '');
    const build = JSON.parse(text) as { include?: string[] };
    expect(build.include).to.deep.equal(['src/**/*.ts']);
    for (const tool of ['simulator', 'asterisk-lab', 'bench', 'faults', 'demo']) {
      expect(fs.existsSync(path.join(SRC, tool)), `src/${tool}`).to.equal(false);
      expect(fs.existsSync(path.join(ROOT, 'tools', tool)), `tools/${tool}`).to.equal(true);
    }
  });
});
