import fs from 'node:fs';
import path from 'node:path';

/**
 * The folder of this package's package.json. Files that ship beside the code (sql/, the agent
 * panel, the prompts) are found from here, because the code runs from two depths: src/ under tsx
 * in development, dist/src/ once compiled, and from node_modules/ or a global prefix once installed.
 */
export function findPackageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const { name } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown };
      if (name === PACKAGE_NAME) return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`package.json of ${PACKAGE_NAME} not found above ${from}`);
  }
}

export const PACKAGE_NAME = 'asterisk-direct-callback';
export const PACKAGE_ROOT = findPackageRoot();

/** The version in package.json (what `direct-callback --version` prints). */
export function packageVersion(): string {
  const { version } = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
  return typeof version === 'string' ? version : '0.0.0';
}
