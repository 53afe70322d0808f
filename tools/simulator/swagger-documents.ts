/**
 * Renders Swagger 1.1 documents (resources.json and {resource}.json) from the compact spec,
 * in the shape swagger-client 2.0.26 (used by ari-client 2.2.0) needs.
 */
import type { CompactParameter, CompactProperty, CompactSpec } from './spec/ari-spec';

export function renderResourceListing(spec: CompactSpec, basePath: string): Record<string, unknown> {
  return {
    apiVersion: spec.apiVersion,
    swaggerVersion: spec.swaggerVersion,
    basePath,
    apis: spec.resources.map((r) => ({ path: `/api-docs/${r.name}.{format}`, description: `${r.name} resources` })),
  };
}

function renderParameter(p: CompactParameter): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: p.name,
    paramType: p.paramType,
    required: p.required,
    allowMultiple: p.allowMultiple,
    dataType: p.dataType,
  };
  if (p.allowableValues) out.allowableValues = p.allowableValues;
  if (p.defaultValue !== undefined) out.defaultValue = p.defaultValue;
  return out;
}

function renderProperty(p: CompactProperty): Record<string, unknown> {
  const out: Record<string, unknown> = { type: p.type, required: p.required };
  if (p.allowableValues) out.allowableValues = p.allowableValues;
  return out;
}

/** Returns null when the resource is unknown. */
export function renderApiDeclaration(spec: CompactSpec, resourceName: string, basePath: string): Record<string, unknown> | null {
  const r = spec.resources.find((x) => x.name === resourceName);
  if (!r) return null;
  const models: Record<string, unknown> = {};
  for (const [name, m] of Object.entries(r.models)) {
    const props: Record<string, unknown> = {};
    for (const [pn, p] of Object.entries(m.properties)) props[pn] = renderProperty(p);
    const out: Record<string, unknown> = { id: m.id, properties: props };
    if (m.discriminator) out.discriminator = m.discriminator;
    if (m.subTypes) out.subTypes = m.subTypes;
    models[name] = out;
  }
  return {
    apiVersion: r.apiVersion,
    swaggerVersion: r.swaggerVersion,
    basePath,
    resourcePath: r.resourcePath,
    apis: r.apis.map((a) => ({
      path: a.path,
      operations: a.operations.map((o) => {
        const op: Record<string, unknown> = {
          httpMethod: o.httpMethod,
          nickname: o.nickname,
          responseClass: o.responseClass,
          parameters: o.parameters.map(renderParameter),
          errorResponses: o.errorResponses.map((code) => ({ code, reason: '' })),
        };
        if (o.upgrade) op.upgrade = o.upgrade;
        if (o.websocketProtocol) op.websocketProtocol = o.websocketProtocol;
        return op;
      }),
    })),
    models,
  };
}
