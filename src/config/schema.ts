import { z } from 'zod';
import { DEFAULT_LANGUAGE } from '../domain/language';
import { ITEM_PRIORITY_MAX, ITEM_PRIORITY_MIN } from '../domain/work-item';
import { apiTokenSchema, crmSchema, httpSchema, reportsSchema } from './surfaces-schema';

/**
 * The shape of the configuration file (JSON), checked with zod: defaults, types and ranges.
 * Checks that span fields (a queue named elsewhere exists) and the environment's part are in
 * config.ts. Secrets never come from this file.
 */

/** A condition of an overflow step (src/domain/overflow-actions.ts): any field that holds makes it hold. */
const overflowCondition = z
  .object({
    maxWaiting: z.number().int().positive().optional(),
    maxEstimatedWaitSec: z.number().nonnegative().optional(),
    /** The caller has waited this long in the queue. */
    waitedSec: z.number().nonnegative().optional(),
    outOfHours: z.boolean().optional(),
  })
  .strict()
  .refine(
    (c) => c.maxWaiting !== undefined || c.maxEstimatedWaitSec !== undefined || c.waitedSec !== undefined || c.outOfHours === true,
    'a condition needs maxWaiting, maxEstimatedWaitSec, waitedSec or outOfHours',
  );

const overflowRule = z
  .object({
    /** Overflow when this many calls (this one included) are waiting. null disables the condition. */
    maxWaiting: z.number().int().positive().nullable().optional(),
    /** Overflow when the estimated wait is at least this many seconds. null disables the condition. */
    maxEstimatedWaitSec: z.number().nonnegative().nullable().optional(),
    /** Overflow whenever the queue is outside its operating hours. */
    outOfHours: z.boolean().optional(),
    /**
     * The overflow actions, an escalation ladder: the last step whose condition holds is in force.
     * `callback`, `queue:<id>`, `external:<number>`, `voicemail:<mailbox>`, `message:<sound>`.
     * Without it, the fields above are one step whose action is `callback`.
     */
    actions: z
      .array(z.object({ when: overflowCondition, action: z.string() }).strict())
      .min(1)
      .optional(),
  })
  .strict();

const callerId = z
  .object({ name: z.string().max(80), number: z.string().regex(/^\+?[0-9]{1,20}$/, 'digits, optionally after +') })
  .strict();

/**
 * Answering-machine guard on the customer leg: after answering, the customer must press 1
 * within timeoutSec, or the attempt counts as not answered (a voicemail is not a callback).
 */
const guardSchema = z
  .object({ enabled: z.boolean().default(true), timeoutSec: z.number().positive().max(120).default(8) })
  .strict()
  .default({ enabled: true, timeoutSec: 8 });

/** Toll-fraud guard for the numbers a callback may dial (src/domain/policies/number-policy.ts). */
export const numberPolicySchema = z
  .object({
    /** Numbering plan: nanp (default), uk, fr or de; the fields below override it. */
    plan: z.enum(['nanp', 'uk', 'fr', 'de']).default('nanp'),
    countryCode: z.string().optional(),
    nationalPrefix: z.string().optional(),
    internationalPrefix: z.string().optional(),
    allow: z.array(z.string()).default([]),
    deny: z.array(z.string()).default([]),
    denyInternational: z.boolean().default(true),
    /** +1 regions that count as domestic (default ['US']; add 'CA', 'PR'…); the others are international. */
    nanpRegions: z.array(z.string()).optional(),
    denyPremium: z.boolean().default(true),
    premiumPrefixes: z.array(z.string()).optional(),
    maxPendingPerNumber: z.number().int().positive().default(1),
  })
  .strict()
  .default({ plan: 'nanp', allow: [], deny: [], denyInternational: true, denyPremium: true, maxPendingPerNumber: 1 });

const hhmm = z.string().regex(/^([01][0-9]|2[0-4]):[0-5][0-9]$/, 'HH:MM');
const hoursSchema = z
  .object({
    timeZone: z.string(),
    weekly: z.array(z.object({ day: z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']), open: hhmm, close: hhmm }).strict()),
    closedDates: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD')).optional(),
  })
  .strict();

const queueSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only'),
    name: z.string().min(1).optional(),
    priority: z.number().int().default(0),
    overflow: overflowRule.default({}),
    offer: z
      .object({
        initialDelaySec: z.number().nonnegative().default(30),
        intervalSec: z.number().positive().default(30),
        /** At or ahead of this position the offer stops (0 = no threshold). */
        thresholdPosition: z.number().int().nonnegative().default(1),
      })
      .strict()
      .default({ initialDelaySec: 30, intervalSec: 30, thresholdPosition: 1 }),
    /** What the customer's phone shows when called back. */
    outboundCallerId: callerId.default({ name: 'Callback', number: '5550100' }),
    /** Sound (without `sound:`) naming the queue in the agent's whisper. */
    announcement: z.string().optional(),
    /**
     * The prompts' language for this queue's callers whose channel language has no prompts
     * (unset: English). One of the shipped languages (asterisk-config/sounds/<lang>/).
     */
    language: z.string().optional(),
    maxAttempts: z.number().int().positive().default(3),
    retryMinGapSec: z.number().nonnegative().default(600),
    /** Seconds an agent gets between two plugin calls. */
    wrapUpSec: z.number().nonnegative().default(5),
    /** Average handle time assumed until enough calls were measured. */
    coldStartHandleSec: z.number().positive().default(180),
    guard: guardSchema,
    /**
     * agent-first (preview): the agent is rung and accepts before the customer is dialled.
     * customer-first: the customer is dialled first, presses 1, then is connected to the agent
     * reserved for them (or the next free one). Dispatch chose the callback at its own place
     * (priority, then original arrival), so that agent is not given to a later caller meanwhile:
     * no place is gained, the one it had is kept.
     */
    mode: z.enum(['agent-first', 'customer-first']).default('agent-first'),
    /** customer-first: how long a customer who pressed 1 may wait on music for an agent. */
    customerFirstMaxWaitSec: z.number().positive().default(60),
    numberPolicy: numberPolicySchema,
    /** "Press 2 to be called back at a different number" (mandatory for a withheld caller id). */
    otherNumber: z.boolean().default(true),
    /** Callback requests allowed per caller id within the window (abuse guard). */
    rateLimit: z
      .object({ limit: z.number().int().positive().default(3), windowSec: z.number().positive().default(3600) })
      .strict()
      .default({ limit: 3, windowSec: 3600 }),
    /** Operating hours: no callback is dialled outside them. */
    hours: hoursSchema.optional(),
    /**
     * Admission control: at most this many of this queue's callers held in Stasis by this
     * process at once; the next goes back to the dialplan with DIRECT_CALLBACK_STATUS=FULL,
     * unanswered. Unset: no cap.
     */
    maxCallers: z.number().int().positive().optional(),
    /** Pending callbacks older than this expire. */
    expiryDays: z.number().positive().default(7),
    /**
     * Telling waiting callers where they stand ("you are number 3 in line, about 4 minutes"):
     * on entry, and/or every `everySec` seconds; off by default. Never over the callback offer.
     */
    announce: z
      .object({ onEntry: z.boolean().default(false), everySec: z.number().min(10).nullable().default(null) })
      .strict()
      .default({ onEntry: false, everySec: null }),
  })
  .strict();

const agentSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only'),
    name: z.string().min(1),
    endpoint: z.string().regex(/^[A-Za-z0-9]+\/[^\s]+$/, 'like PJSIP/1001'),
    queues: z.array(z.object({ id: z.string(), priority: z.number().int().default(0) }).strict()).default([]),
    personalNumber: z
      .string()
      .regex(/^\+?[0-9]{1,20}$/)
      .optional(),
    loggedIn: z.boolean().default(true),
    /** The language the agent hears the plugin's whispers and messages in. */
    language: z.string().default(DEFAULT_LANGUAGE),
    /** Direct calls this agent misses get a callback offer (overrides direct.overflow). */
    directOverflow: z.boolean().optional(),
    /** Where AMI knows this agent (presence provider, app_queue member interface): src/ami/README.md. */
    ami: z.object({ presentity: z.string().optional(), queueInterface: z.string().optional() }).strict().optional(),
  })
  .strict();

const directSchema = z
  .object({
    /** How long the agent's phone rings on a direct call before the caller hears the message. */
    ringTimeoutSec: z.number().int().positive().max(300).default(20),
    /** Offer a callback owed by the agent when a direct call is not answered (all agents). */
    overflow: z.boolean().default(false),
    offerIntervalSec: z.number().positive().default(30),
    /** Offers before the caller hears the unavailable message and the call ends. */
    maxOffers: z.number().int().positive().default(3),
    /** Only the owning agent is offered the callback within this window... */
    ownerWindowSec: z.number().positive().default(7200),
    /** ...then it moves to this queue at its original place, or expires when absent. */
    fallbackQueueId: z.string().optional(),
    /** What a missed caller's id must pass to be owed a callback (unset: fallbackQueueId's policy, else the default). */
    numberPolicy: numberPolicySchema.optional(),
    outboundCallerId: callerId.default({ name: 'Callback', number: '5550100' }),
    maxAttempts: z.number().int().positive().default(3),
    retryMinGapSec: z.number().nonnegative().default(600),
    guard: guardSchema,
  })
  .strict();

// The administrators' and agents' surfaces (REST API, agent panel, metrics) are in surfaces-schema.ts.

/**
 * `routes.<id>.priority`: the route's callers' priority in the queue, in place of the queue's
 * `priority`; higher is served first, then earlier arrival, and their callbacks keep it, never
 * more (domain/work-item.ts). Every way to get it wrong says the same.
 */
const ITEM_PRIORITY_RULE = `a whole number from ${ITEM_PRIORITY_MIN} to ${ITEM_PRIORITY_MAX} (higher is served first)`;
const itemPriority = z
  .number({ error: ITEM_PRIORITY_RULE })
  .int(ITEM_PRIORITY_RULE)
  .min(ITEM_PRIORITY_MIN, ITEM_PRIORITY_RULE)
  .max(ITEM_PRIORITY_MAX, ITEM_PRIORITY_RULE);

/** A number dialled on a phone's keypad (`*51`), as a dialplan extension names it. */
const featureCode = z.string().regex(/^[0-9*#]{1,20}$/, 'digits, * and # only, e.g. *51');

/**
 * ari.maxConnections by default: half of Asterisk's default 100 HTTP sessions. Enough that a
 * burst of callers pressing 1 does not wait for a connection, with room left for the WebSockets
 * and other ARI clients (docs/benchmarks.md has the measurements).
 */
export const DEFAULT_ARI_MAX_CONNECTIONS = 50;

/**
 * Bounded waits on the database (`database`): no statement runs longer, and none waits longer for
 * a lock, than this. A booking cut off is a failed store: the caller is told and keeps the place,
 * instead of hearing music with no answer while a stalled database holds the pool's connections.
 */
export const DEFAULT_DATABASE_TIMEOUTS = { statementTimeoutSec: 5, lockTimeoutSec: 2 };

/**
 * Where the plugin logs in to AMI (src/ami/README.md). The user and password usually come from
 * the environment (AMI_USER, AMI_PASSWORD_FILE); without a user, presence from AMI is off.
 */
const amiSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(1).max(65535).default(5038),
    user: z.string().min(1).optional(),
  })
  .strict();

export const fileSchema = z
  .object({
    ari: z
      .object({
        url: z.url().default('http://127.0.0.1:8088'),
        user: z.string().min(1).default('direct-callback'),
        app: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/)
          .default('direct-callback'),
        /**
         * HTTP connections this process opens to ARI at most (src/ari/http-connections.ts): a
         * burst waits here for a free one instead of running into Asterisk's http.conf
         * `sessionlimit` (100 by default, shared by every ARI client and WebSocket).
         */
        maxConnections: z.number().int().min(1).max(1000).default(DEFAULT_ARI_MAX_CONNECTIONS),
      })
      .strict()
      .default({
        url: 'http://127.0.0.1:8088',
        user: 'direct-callback',
        app: 'direct-callback',
        maxConnections: DEFAULT_ARI_MAX_CONNECTIONS,
      }),
    databaseUrl: z.string().optional(),
    /** PostgreSQL's statement_timeout and lock_timeout on every pooled connection; 0 turns one off. */
    database: z
      .object({
        statementTimeoutSec: z.number().nonnegative().max(3600).default(DEFAULT_DATABASE_TIMEOUTS.statementTimeoutSec),
        lockTimeoutSec: z.number().nonnegative().max(3600).default(DEFAULT_DATABASE_TIMEOUTS.lockTimeoutSec),
      })
      .strict()
      .default(() => ({ ...DEFAULT_DATABASE_TIMEOUTS })),
    /**
     * Hot standby: processes of one group share one lead (src/cluster/leadership.ts). By default
     * the group is the Stasis app on the Asterisk the process reaches (`<app>@<entity id>`), so
     * the processes serving one Asterisk form a group wherever they run; name it to override.
     */
    standby: z
      .object({ group: z.string().min(1).max(200).optional() })
      .strict()
      .default({}),
    logLevel: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
    instanceId: z.string().optional(),
    callback: z
      .object({
        /** Dial string for the customer leg; {number} is replaced with the stored number. */
        dialTemplate: z.string().includes('{number}').default('PJSIP/{number}@trunk'),
        agentCallerIdPrefix: z.string().max(10).default('CB'),
        agentRingTimeoutSec: z.number().int().positive().max(600).default(20),
        customerRingTimeoutSec: z.number().int().positive().max(600).default(30),
        /** An agent who skipped or missed a callback is not offered it again within this window. */
        declineWindowSec: z.number().nonnegative().default(300),
        /** A claim on a callback expires after this long if its owner vanished (crash). */
        leaseSec: z.number().positive().default(120),
        /** An agent who neither accepts nor skips within this time skips. */
        previewDecisionSec: z.number().positive().default(30),
        /** How often the open callbacks are re-read (other instances, the API, expired leases). */
        syncIntervalSec: z.number().positive().default(5),
        /** How often expiry and owner windows are applied (they are hours and days long). */
        timeRulesIntervalSec: z.number().positive().default(30),
      })
      .strict()
      .default({
        dialTemplate: 'PJSIP/{number}@trunk',
        agentCallerIdPrefix: 'CB',
        agentRingTimeoutSec: 20,
        customerRingTimeoutSec: 30,
        declineWindowSec: 300,
        leaseSec: 120,
        previewDecisionSec: 30,
        syncIntervalSec: 5,
        timeRulesIntervalSec: 30,
      }),
    queues: z.array(queueSchema).default([]),
    /** Routes named in the Stasis arguments (`route=vip`): overrides of the overflow rule, and a priority. */
    routes: z.record(z.string(), z.object({ overflow: overflowRule.default({}), priority: itemPriority.optional() }).strict()).default({}),
    /** Where the overflow action `voicemail:<mailbox>` continues the call: <context>,<mailbox>,1. */
    voicemail: z
      .object({
        context: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/)
          .default('callback-voicemail'),
      })
      .strict()
      .default({ context: 'callback-voicemail' }),
    agents: z.array(agentSchema).default([]),
    /**
     * Admission control for the whole process: at most `maxCallers` inbound callers (queue and
     * direct calls) held in Stasis at once; the next goes back to the dialplan with
     * DIRECT_CALLBACK_STATUS=FULL, unanswered. Unset: no cap.
     */
    limits: z.object({ maxCallers: z.number().int().positive().optional() }).strict().default({}),
    direct: directSchema.default({
      ringTimeoutSec: 20,
      overflow: false,
      offerIntervalSec: 30,
      maxOffers: 3,
      ownerWindowSec: 7200,
      outboundCallerId: { name: 'Callback', number: '5550100' },
      maxAttempts: 3,
      retryMinGapSec: 600,
      guard: { enabled: true, timeoutSec: 8 },
    }),
    /**
     * The numbers agents dial for their feature codes, as the dialplan has them (the sample's
     * *51-*54). The plugin takes the Stasis entries whatever number led there; these tell
     * `direct-callback doctor` which extensions to look for.
     */
    featureCodes: z
      .object({ agentLogin: featureCode, agentLogout: featureCode, agentPause: featureCode, agentUnpause: featureCode })
      .partial()
      .strict()
      .default({}),
    http: httpSchema.default({ enabled: false, host: '127.0.0.1', port: 8090, metricsAccess: 'public', trustedProxies: [] }),
    api: z
      .object({
        tokens: z.array(apiTokenSchema).default([]),
        /** Wrong tokens one address may present per minute; past it every token it sends answers 429. */
        failedAuthPerMinute: z.number().int().positive().default(10),
        /** Server-sent event streams (/me/events) one token may hold open at once; past it 429. */
        streamsPerToken: z.number().int().positive().default(5),
      })
      .strict()
      .default({ tokens: [], failedAuthPerMinute: 10, streamsPerToken: 5 }),
    crm: crmSchema.default({ timeoutMs: 1500 }),
    reports: reportsSchema.default({ serviceLevelSec: 60, timeZone: 'UTC' }),
    ami: amiSchema.default({ host: '127.0.0.1', port: 5038 }),
  })
  .strict();

export type DirectConfig = z.infer<typeof directSchema>;
export type FileConfig = z.infer<typeof fileSchema>;
export type QueueConfig = z.infer<typeof queueSchema>;
export type AgentConfig = z.infer<typeof agentSchema>;
export type OverflowRuleConfig = z.infer<typeof overflowRule>;
export type AmiFileConfig = z.infer<typeof amiSchema>;
