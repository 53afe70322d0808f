import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';

/**
 * The real Asterisk the tests, the fault harness and the benchmark run against: a prebuilt
 * Asterisk 22.10.1 for Debian 12 (`../shared/asterisk/`, see its README), unpacked once into
 * `.tmp/`, plus the Debian packages it needs at run time (SIPp among them).
 *
 * Where something is missing the lab is "absent" with a reason that says how to get it: the
 * real-Asterisk test level then skips (and fails under CI=true, where a skip hides a broken CI).
 */
export const ASTERISK_VERSION = '22.10.1';
const TARBALL_NAME = `asterisk-${ASTERISK_VERSION}-debian12-x86_64.tar.xz`;

/** The repository's root (this file is tools/asterisk-lab/ or dist/tools/asterisk-lab/). */
export const REPO_ROOT = (() => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();

/** Debian packages the runtime needs (the README beside the tarball lists and checked them). */
export const RUNTIME_PACKAGES = [
  'libjansson4',
  'libedit2',
  'libxslt1.1',
  'libsrtp2-1',
  'libsqlite3-0',
  'libxml2',
  'asterisk-core-sounds-en-wav',
  'asterisk-core-sounds-es-wav',
  'asterisk-moh-opsound-wav',
  'sip-tester',
] as const;

export const CORE_SOUNDS_DIR = '/usr/share/asterisk/sounds';
export const MOH_DIR = '/usr/share/asterisk/moh';
export const SIPP_PCAP_DIR = '/usr/share/sip-tester';

export interface AsteriskRuntime {
  /** Unpacked folder: sbin/asterisk, lib/, lib/asterisk/modules, var/lib/asterisk/rest-api. */
  home: string;
  binary: string;
  modulesDir: string;
  restApiDir: string;
  /** LD_LIBRARY_PATH for the daemon and its CLI. */
  libraryPath: string;
  sipp: string;
}

export type RuntimeLookup = { ok: true; runtime: AsteriskRuntime } | { ok: false; reason: string };

const HOW_TO = `get it with: place ${TARBALL_NAME} in ../shared/asterisk/ beside the checkout (or set ASTERISK_TARBALL, or ASTERISK_HOME to an unpacked copy) and apt-get install ${RUNTIME_PACKAGES.join(' ')}; .ci/run does both`;

function tarballCandidates(): string[] {
  const fromEnv = process.env.ASTERISK_TARBALL;
  return [...(fromEnv ? [fromEnv] : []), path.resolve(REPO_ROOT, '..', 'shared', 'asterisk', TARBALL_NAME)];
}

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const out = r.stdout.trim();
  return r.status === 0 && out ? out : undefined;
}

/**
 * Unpacks the tarball into .tmp/ once; a marker file says the unpack completed. Several test
 * processes may get here at once on a fresh clone (mocha's parallel workers): each unpacks into a
 * folder of its own and renames it into place, so nobody ever sees a half-unpacked runtime; the
 * first rename wins and the others drop their copy.
 */
function unpack(tarball: string): string {
  const dest = path.join(REPO_ROOT, '.tmp', 'asterisk-runtime');
  const home = path.join(dest, `asterisk-${ASTERISK_VERSION}`);
  const marker = path.join(dest, '.unpacked');
  const done = (): boolean => fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === tarball;
  if (done()) return home;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const mine = fs.mkdtempSync(`${dest}.unpacking-`);
  try {
    execFileSync('tar', ['xJf', tarball, '-C', mine]);
    fs.writeFileSync(path.join(mine, '.unpacked'), tarball);
    if (done()) return home;
    // A stale or foreign copy (another tarball) is moved aside first, never deleted under a user.
    if (fs.existsSync(dest)) fs.renameSync(dest, `${dest}.old-${process.pid}-${Date.now()}`);
    try {
      fs.renameSync(mine, dest);
    } catch (e) {
      if (!done()) throw e; // not another process's finished copy: a real error
    }
    return home;
  } finally {
    fs.rmSync(mine, { recursive: true, force: true });
  }
}

let cached: RuntimeLookup | undefined;

/** Finds (and unpacks if needed) the runtime; memoised for the process. */
export function findAsteriskRuntime(): RuntimeLookup {
  cached ??= lookup();
  return cached;
}

function lookup(): RuntimeLookup {
  let home = process.env.ASTERISK_HOME;
  if (!home) {
    const tarball = tarballCandidates().find((t) => fs.existsSync(t));
    if (!tarball) return { ok: false, reason: `no Asterisk runtime (${TARBALL_NAME} not found); ${HOW_TO}` };
    try {
      home = unpack(tarball);
    } catch (e) {
      return { ok: false, reason: `could not unpack ${tarball}: ${e instanceof Error ? e.message : String(e)}; ${HOW_TO}` };
    }
  }
  const binary = path.join(home, 'sbin', 'asterisk');
  if (!fs.existsSync(binary)) return { ok: false, reason: `${binary} missing; ${HOW_TO}` };
  const sipp = which('sipp');
  if (!sipp) return { ok: false, reason: `SIPp is not installed; ${HOW_TO}` };
  for (const dir of [path.join(CORE_SOUNDS_DIR, 'en'), MOH_DIR, SIPP_PCAP_DIR]) {
    if (!fs.existsSync(dir)) return { ok: false, reason: `${dir} missing; ${HOW_TO}` };
  }
  const libraryPath = [path.join(home, 'lib'), path.join(home, 'lib', 'pjproject')].join(':');
  const missing = missingLibraries(binary, libraryPath);
  if (missing.length > 0) return { ok: false, reason: `libraries missing for Asterisk: ${missing.join(', ')}; ${HOW_TO}` };
  return {
    ok: true,
    runtime: {
      home,
      binary,
      modulesDir: path.join(home, 'lib', 'asterisk', 'modules'),
      restApiDir: path.join(home, 'var', 'lib', 'asterisk', 'rest-api'),
      libraryPath,
      sipp,
    },
  };
}

function missingLibraries(binary: string, libraryPath: string): string[] {
  const r = spawnSync('ldd', [binary], { encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: libraryPath } });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .filter((l) => l.includes('not found'))
    .map((l) => l.trim().split(/\s+/)[0] ?? l.trim());
}

/** Skip or fail: under CI=true a missing runtime is an error, elsewhere a skip with the reason. */
export function runtimeOrSkipReason(): { runtime: AsteriskRuntime } | { skip: string } {
  const r = findAsteriskRuntime();
  if (r.ok) return { runtime: r.runtime };
  if (process.env.CI === 'true') throw new Error(`CI=true but the real-Asterisk level cannot run: ${r.reason}`);
  return { skip: r.reason };
}
