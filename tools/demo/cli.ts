import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/config';
import { CallMilestone } from '../../src/calls/call-context';
import { PROMPTS } from '../../src/calls/prompts';
import { createLogger } from '../../src/logging/logger';
import { startPlugin } from '../../src/plugin';
import { AriSimulator } from '../simulator/ari-simulator';
import { createScratchDatabase, findPostgresServer } from '../support/postgres-server';
import { parseCommandLine } from '../../src/cli/options';

/**
 * `npm run demo [-- --json]`: the whole callback story on the ARI simulator with a real
 * PostgreSQL (DATABASE_URL, the local cluster, or an embedded one): a queue overflows, a caller
 * presses 1, is confirmed and hangs up; an agent frees up, the agent leg rings and answers, the
 * agent accepts, the customer leg answers, both are bridged. Exits 0 only if every step happened.
 */

const COMMAND = {
  usage: 'npm run demo --',
  summary: 'The whole callback story on the ARI simulator and a real PostgreSQL; exit 0 only if every step happened.',
  options: {
    json: { type: 'boolean', description: 'print one JSON line {"ok":…,"steps":[…]} instead of the story' },
  },
} as const;

const REQUIRED_STEPS = [
  'caller_entered',
  'offer_played',
  'callback_stored',
  'confirmation_started',
  'caller_left',
  'agent_leg_originated',
  'agent_leg_answered',
  'agent_accepted',
  'customer_leg_dialled',
  'customer_leg_answered',
  'bridged',
  'callback_completed',
] as const;

const DESCRIPTIONS: Partial<Record<CallMilestone, string>> = {
  caller_entered: 'caller +15551234567 enters queue "support" (agents busy, queue overflowing)',
  offer_played: 'offer played: "press 1 to be called back"',
  callback_stored: 'caller pressed 1; callback request committed to PostgreSQL',
  confirmation_started: 'confirmation plays: "we will call you back at 1 5 5 5 ..."',
  caller_left: 'the plugin ends the call after the confirmation; the callback keeps the place',
  agent_leg_originated: 'agent Ann (PJSIP/1001) is free: her phone rings showing "CB 15551234567"',
  agent_leg_answered: 'agent answered; whisper: queue, customer number, minutes ago, "1 to call"',
  agent_accepted: 'agent pressed 1',
  customer_leg_dialled: 'customer dialled through PJSIP/15551234567@trunk',
  customer_leg_answered: 'customer answered; hears "press 1 to be connected" and presses 1',
  bridged: 'agent and customer bridged in one mixing bridge',
  callback_completed: 'callback recorded as completed',
};

async function main(): Promise<number> {
  const json = parseCommandLine('demo', COMMAND).json === true;
  const say = (line: string) => {
    if (!json) process.stdout.write(`${line}\n`);
  };
  const t0 = Date.now();
  const steps: { name: string; t_ms: number }[] = [];
  const pg = await findPostgresServer();
  const scratch = await createScratchDatabase(pg, 'direct_callback_demo');
  say(`PostgreSQL: ${pg.source}, database ${scratch.name}`);
  const password = 'demo-only-password';
  const sim = await AriSimulator.start({ user: 'direct-callback', password, timing: { defaultSoundMs: 400, perDigitMs: 60 } });
  say(`ARI simulator: ${sim.url}`);
  sim.endpoint('PJSIP/1001').setDeviceState('INUSE');
  sim.endpoint('PJSIP/1001').answersAfter(600);
  sim.endpoint('PJSIP/15551234567@trunk').answersAfter(800);
  const config = parseConfig(
    {
      queues: [
        {
          id: 'support',
          overflow: { maxWaiting: 1 },
          offer: { initialDelaySec: 1, intervalSec: 5, thresholdPosition: 0 },
          outboundCallerId: { name: 'Support', number: '5550100' },
          wrapUpSec: 0,
        },
      ],
      agents: [{ id: 'ann', name: 'Ann', endpoint: 'PJSIP/1001', queues: [{ id: 'support' }] }],
    },
    { ARI_URL: sim.url, ARI_PASSWORD: password, DATABASE_URL: scratch.url, INSTANCE_ID: 'demo' },
  );
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  const plugin = await startPlugin(config, createLogger({ stream: quiet }));
  const done = new Promise<void>((resolve) => {
    plugin.app.on('milestone', (name) => {
      const t = Date.now() - t0;
      if ((REQUIRED_STEPS as readonly string[]).includes(name) && !steps.some((s) => s.name === name)) {
        steps.push({ name, t_ms: t });
        say(`${String(t).padStart(6)} ms  ${DESCRIPTIONS[name] ?? name}`);
      }
      if (name === 'bridged' || name === 'callback_completed') {
        if (REQUIRED_STEPS.every((s) => steps.some((x) => x.name === s))) resolve();
      }
    });
  });
  try {
    const call = sim.call({ from: '+15551234567', name: 'Alice', to: 'queue:support' });
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.offer, 10000);
    await call.pressDtmf('1');
    await call.waitFor('hungup', 10000);
    // Ann finishes her other call; dispatch rings her first.
    sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const agentLeg = await sim.endpoint('PJSIP/1001').nextLeg(10000);
    await agentLeg.waitForPlayback((m) => m === PROMPTS.whisperIntro, 10000);
    await agentLeg.pressDtmf('1');
    // The customer answers and confirms with 1 (the answering-machine guard).
    const customerLeg = await sim.endpoint('PJSIP/15551234567@trunk').nextLeg(10000);
    await customerLeg.waitForPlayback((m) => m === PROMPTS.guard, 10000);
    await customerLeg.pressDtmf('1');
    await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error('timed out waiting for the bridge')), 15000))]);
  } catch (e) {
    say(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    await plugin.stop();
    await sim.stop();
    await scratch.drop().catch(() => undefined);
    await pg.stop();
  }
  const ok = REQUIRED_STEPS.every((s) => steps.some((x) => x.name === s));
  if (json) process.stdout.write(`${JSON.stringify({ ok, steps })}\n`);
  else
    say(
      ok
        ? 'demo complete: every step happened'
        : `demo INCOMPLETE: missing ${REQUIRED_STEPS.filter((s) => !steps.some((x) => x.name === s)).join(', ')}`,
    );
  return ok ? 0 : 1;
}

void main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`demo error: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
