/**
 * npm run ari-spec [-- <api-docs dir> [<output file>]]
 * Reads Asterisk's ARI api-docs (default the committed tools/simulator/spec/api-docs, or $ARI_API_DOCS_DIR) and writes
 * the project's compact spec to tools/simulator/spec/ari-spec.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildCompactSpec, defaultApiDocsDir, serializeCompactSpec } from '../tools/simulator/spec/compact-spec-builder';

const repoRoot = path.resolve(__dirname, '..');
const inputDir = process.argv[2] ? path.resolve(process.argv[2]) : defaultApiDocsDir(repoRoot);
const outFile = process.argv[3] ? path.resolve(process.argv[3]) : path.join(repoRoot, 'tools', 'simulator', 'spec', 'ari-spec.json');

if (!fs.existsSync(path.join(inputDir, 'resources.json'))) {
  console.error(`build-ari-spec: no resources.json in ${inputDir} (pass the api-docs dir as argument or set ARI_API_DOCS_DIR)`);
  process.exit(1);
}
const spec = buildCompactSpec(inputDir);
fs.writeFileSync(outFile, serializeCompactSpec(spec));
const ops = spec.resources.reduce((n, r) => n + r.apis.reduce((m, a) => m + a.operations.length, 0), 0);
console.log(
  `build-ari-spec: wrote ${path.relative(process.cwd(), outFile)} (${spec.resources.length} resources, ${ops} operations, ${spec.eventModels.length} event models)`,
);
