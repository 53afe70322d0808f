import { JsonSchema } from './route-spec';

/** The JSON schema fragments that both the admin routes (routes.ts) and the agent's /me routes (me-routes.ts) use. */

/** A queue or agent id. */
export const ID = '^[A-Za-z0-9_:-]{1,80}$';
/** A callback id. */
export const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/** A schema of the OpenAPI document's components (openapi.ts). */
export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
/** The error answers a route may give, each with its usual meaning. */
export const errors = (...codes: string[]) => {
  const text: Record<string, string> = {
    '400': 'Invalid input; `field` names the offending field',
    '401': 'No token or an unknown token',
    '403': 'The token may not do this',
    '404': 'Not found',
    '409': 'Not possible in the current state',
  };
  return Object.fromEntries(codes.map((c) => [c, { description: text[c] ?? c, schema: ref('Error') }]));
};
