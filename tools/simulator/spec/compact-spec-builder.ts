/**
 * Builds the compact ARI spec from Asterisk's Swagger 1.1 api-docs directory.
 * Keeps only facts (no descriptions, notes, summaries); output key order is fixed so the
 * result is byte-for-byte reproducible.
 */
import fs from 'node:fs';
import path from 'node:path';
import type {
  AllowableValues,
  CompactApi,
  CompactModel,
  CompactOperation,
  CompactParameter,
  CompactProperty,
  CompactResource,
  CompactSpec,
} from './ari-spec';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new Error(`api-docs: expected string for ${what}`);
  return v;
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function readJson(file: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!isRecord(parsed)) throw new Error(`api-docs: ${file} is not a JSON object`);
  return parsed;
}

function allowable(v: unknown): AllowableValues | undefined {
  if (!isRecord(v)) return undefined;
  if (v.valueType === 'LIST') {
    return { valueType: 'LIST', values: arr(v.values).map((x) => String(x)) };
  }
  if (v.valueType === 'RANGE') {
    const out: AllowableValues = { valueType: 'RANGE' };
    if (typeof v.min === 'number') out.min = v.min;
    if (typeof v.max === 'number') out.max = v.max;
    return out;
  }
  return undefined;
}

const PARAM_TYPES = new Set(['path', 'query', 'body', 'header', 'form']);

function parameter(p: unknown): CompactParameter {
  if (!isRecord(p)) throw new Error('api-docs: parameter is not an object');
  const paramType = str(p.paramType, 'paramType');
  if (!PARAM_TYPES.has(paramType)) throw new Error(`api-docs: unknown paramType ${paramType}`);
  const out: CompactParameter = {
    name: str(p.name, 'parameter name'),
    paramType: paramType as CompactParameter['paramType'],
    required: p.required === true,
    dataType: str(p.dataType, 'dataType'),
    allowMultiple: p.allowMultiple === true,
  };
  const av = allowable(p.allowableValues);
  if (av) out.allowableValues = av;
  const dv = p.defaultValue;
  if (typeof dv === 'string' || typeof dv === 'number' || typeof dv === 'boolean') out.defaultValue = dv;
  return out;
}

function operation(o: unknown): CompactOperation {
  if (!isRecord(o)) throw new Error('api-docs: operation is not an object');
  const out: CompactOperation = {
    httpMethod: str(o.httpMethod, 'httpMethod'),
    nickname: str(o.nickname, 'nickname'),
    responseClass: str(o.responseClass, 'responseClass'),
    parameters: arr(o.parameters).map(parameter),
    errorResponses: arr(o.errorResponses)
      .map((e) => (isRecord(e) ? Number(e.code) : NaN))
      .filter((n) => !Number.isNaN(n)),
  };
  if (typeof o.upgrade === 'string') out.upgrade = o.upgrade;
  if (typeof o.websocketProtocol === 'string') out.websocketProtocol = o.websocketProtocol;
  return out;
}

function property(p: unknown): CompactProperty {
  if (!isRecord(p)) throw new Error('api-docs: property is not an object');
  const out: CompactProperty = { type: str(p.type, 'property type'), required: p.required === true };
  const av = allowable(p.allowableValues);
  if (av) out.allowableValues = av;
  return out;
}

function model(name: string, m: unknown): CompactModel {
  if (!isRecord(m)) throw new Error(`api-docs: model ${name} is not an object`);
  const properties: Record<string, CompactProperty> = {};
  if (isRecord(m.properties)) {
    for (const [k, v] of Object.entries(m.properties)) properties[k] = property(v);
  }
  const out: CompactModel = { id: typeof m.id === 'string' ? m.id : name, properties };
  if (typeof m.discriminator === 'string') out.discriminator = m.discriminator;
  const subs = arr(m.subTypes).filter((s): s is string => typeof s === 'string');
  if (subs.length) out.subTypes = subs;
  return out;
}

/** The api-docs a real Asterisk 22.10.1 served, committed next to the compact spec. */
export function committedApiDocsDir(repoRoot: string): string {
  return path.join(repoRoot, 'tools', 'simulator', 'spec', 'api-docs');
}

/** Resolve the api-docs directory: env ARI_API_DOCS_DIR (newly fetched ones), else the committed copy. */
export function defaultApiDocsDir(repoRoot: string): string {
  return process.env.ARI_API_DOCS_DIR ?? committedApiDocsDir(repoRoot);
}

export function buildCompactSpec(apiDocsDir: string): CompactSpec {
  const listing = readJson(path.join(apiDocsDir, 'resources.json'));
  const resources: CompactResource[] = [];
  for (const entry of arr(listing.apis)) {
    if (!isRecord(entry)) continue;
    const listingPath = str(entry.path, 'resource listing path');
    const m = /^\/api-docs\/([A-Za-z]+)\.\{format\}$/.exec(listingPath);
    if (!m) throw new Error(`api-docs: unexpected resource path ${listingPath}`);
    const name = m[1];
    const doc = readJson(path.join(apiDocsDir, `${name}.json`));
    const apis: CompactApi[] = arr(doc.apis).map((a) => {
      if (!isRecord(a)) throw new Error('api-docs: api is not an object');
      return { path: str(a.path, 'api path'), operations: arr(a.operations).map(operation) };
    });
    const models: Record<string, CompactModel> = {};
    if (isRecord(doc.models)) for (const [k, v] of Object.entries(doc.models)) models[k] = model(k, v);
    resources.push({
      name,
      resourcePath: str(doc.resourcePath, 'resourcePath'),
      swaggerVersion: str(doc.swaggerVersion, 'swaggerVersion'),
      apiVersion: str(doc.apiVersion, 'apiVersion'),
      apis,
      models,
    });
  }
  // extends: parent links from subTypes (within each resource's model set)
  for (const r of resources) {
    for (const [name, m] of Object.entries(r.models)) {
      for (const sub of m.subTypes ?? []) {
        const child = r.models[sub];
        if (child && child.extends === undefined) child.extends = name;
      }
      void name;
    }
  }
  // re-order keys of models that got `extends` so the key order is fixed
  for (const r of resources) {
    for (const [name, m] of Object.entries(r.models)) {
      const fixed: CompactModel = { id: m.id, properties: m.properties };
      if (m.discriminator !== undefined) fixed.discriminator = m.discriminator;
      if (m.subTypes !== undefined) fixed.subTypes = m.subTypes;
      if (m.extends !== undefined) fixed.extends = m.extends;
      r.models[name] = fixed;
    }
  }
  const events = resources.find((r) => r.name === 'events');
  const eventModels: string[] = [];
  if (events) {
    const walk = (n: string): void => {
      const mm = events.models[n];
      if (!mm) return;
      if (!mm.subTypes || mm.subTypes.length === 0) {
        if (n !== 'Event') eventModels.push(n);
        return;
      }
      for (const s of mm.subTypes) walk(s);
    };
    walk('Event');
  }
  eventModels.sort();
  return {
    swaggerVersion: str(listing.swaggerVersion, 'swaggerVersion'),
    apiVersion: str(listing.apiVersion, 'apiVersion'),
    resources,
    eventModels,
  };
}

export function serializeCompactSpec(spec: CompactSpec): string {
  return JSON.stringify(spec, null, 1) + '\n';
}
