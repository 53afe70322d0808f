import { z } from 'zod';

/**
 * The configuration of the administrators' and agents' surfaces: the HTTP listener, the API's
 * tokens and the CRM lookup (src/http/README.md). Part of the file's shape in schema.ts.
 */

export const httpSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Loopback by default: put a TLS reverse proxy in front to expose it. */
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8090),
    /** `token`: /metrics needs an admin or a `metrics` token. `public` (default): open to whoever reaches the port. */
    metricsAccess: z.enum(['public', 'token']).default('public'),
    /** Reverse proxies (addresses, CIDRs) whose X-Forwarded-For names the client, for the wrong-token limit. */
    trustedProxies: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const apiTokenSchema = z
  .object({
    /** A label for the token (shown in nothing but the config). */
    name: z.string().optional(),
    /** SHA-256 of the token, hex (`direct-callback token hash <token>`); never the token itself. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits (direct-callback token hash <token>)'),
    /**
     * `admin`, `agent:<agent id>` (only /api/v1/me/* as that agent), `metrics` (only /metrics), or
     * `supervisor` (read only: the day report, the wallboard and /metrics; never agents or callbacks).
     */
    scope: z
      .string()
      .regex(/^(admin|metrics|supervisor|agent:[A-Za-z0-9_-]{1,64})$/, "'admin', 'metrics', 'supervisor' or 'agent:<agent id>'"),
  })
  .strict();

/** The day report (GET /api/v1/reports/day, the wallboard's "day so far"). */
export const reportsSchema = z
  .object({
    /** Service level: the share of callers answered, or called back, within this many seconds of arriving. */
    serviceLevelSec: z.number().int().positive().max(86400).default(60),
    /** The IANA time zone a report's day and hours are counted in (a request may name another). */
    timeZone: z
      .string()
      .min(1)
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'an IANA time zone, e.g. Europe/Paris')
      .default('UTC'),
  })
  .strict();

export const crmSchema = z
  .object({
    /** GET this URL ({number} is replaced, URL-encoded) to enrich the agent's preview; JSON expected. */
    urlTemplate: z.string().includes('{number}').optional(),
    timeoutMs: z.number().int().positive().max(10000).default(1500),
  })
  .strict();
