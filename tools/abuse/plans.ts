import { Plan } from './harness';
import { abuseConfig } from './rig';
import { directAttacks, directAttack, JAMAICA, NIUE_011, NIUE_AFTER_1, PREMIUM, queueCallAttacks } from './attacks-calls';
import { apiAttacks } from './attacks-api';
import { admissionAttack, limitAttacks, stalledDatabaseAttack } from './attacks-load';
import { externalActionAttack, forgedNotifyAttack, injectedRowsAttack, injectForbidden } from './attacks-config';

/**
 * Every attack of the abuse run, grouped by the plugin it attacks (issue 19: the findings of
 * "Why" 1-10 that the simulator and the database can show, and more). Item 2 and 11 of "Why"
 * (the sample Asterisk and docker files) are not a plugin's behaviour: the doctor and the docker
 * tests cover them.
 */
export function allPlans(): Plan[] {
  const directRig = { agentsBusy: false };
  return [
    { name: 'queue', config: () => abuseConfig(), attacks: [...queueCallAttacks(), ...limitAttacks()] },
    {
      name: 'direct',
      config: () => abuseConfig(),
      rigOptions: directRig,
      attacks: [...directAttacks('no fallback'), directAttack(`direct caller ID +${NIUE_AFTER_1} presses 1`, 'Why 3', `+${NIUE_AFTER_1}`)],
    },
    {
      name: 'direct-agent-overflow',
      config: () => {
        const c = abuseConfig({ direct: { overflow: false } });
        const agents = c.agents as Record<string, unknown>[];
        return { ...c, agents: agents.map((a) => (a.id === 'a1001' ? { ...a, directOverflow: true } : a)) };
      },
      rigOptions: directRig,
      attacks: [directAttack("direct caller ID +19005550123 presses 1 (the agent's own directOverflow)", 'Why 1', PREMIUM)],
    },
    {
      name: 'direct-fallback-agent-first',
      config: () => abuseConfig({ direct: { ownerWindowSec: 1, fallbackQueueId: 'support' } }),
      rigOptions: directRig,
      attacks: directAttacks('fallback to an agent-first queue'),
    },
    {
      name: 'direct-fallback-customer-first',
      config: () => abuseConfig({ direct: { ownerWindowSec: 1, fallbackQueueId: 'cf' } }),
      rigOptions: directRig,
      attacks: directAttacks('fallback to a customer-first queue'),
    },
    { name: 'api', config: () => abuseConfig(), attacks: apiAttacks() },
    { name: 'stalled-db', config: () => abuseConfig(), dialPhaseMs: 0, attacks: [stalledDatabaseAttack()] },
    {
      name: 'external-action',
      attacks: [
        externalActionAttack(PREMIUM, 'Why 1 / What to build 1'),
        externalActionAttack(JAMAICA, 'Why 4'),
        externalActionAttack(NIUE_011, 'Why 1'),
        externalActionAttack(`+${NIUE_AFTER_1}`, 'Why 3'),
        externalActionAttack('+6834002', 'added'),
      ],
    },
    {
      name: 'dial-gate',
      config: () => abuseConfig(),
      rigOptions: { seed: injectForbidden({ queueId: 'support' }) },
      attacks: [forgedNotifyAttack(), injectedRowsAttack('agent-first queue')],
    },
    {
      name: 'fallback-gate',
      config: () => abuseConfig({ direct: { ownerWindowSec: 1, fallbackQueueId: 'cf' } }),
      rigOptions: { seed: injectForbidden({ queueId: 'direct:a1001', ownerAgentId: 'a1001' }) },
      attacks: [injectedRowsAttack('owed by an agent, falling back to a customer-first queue')],
    },
    { name: 'admission', dialPhaseMs: 0, attacks: [admissionAttack()] },
  ];
}
