import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { parseConfig } from '../../../src/config/config';

const root = path.resolve(__dirname, '..', '..', '..');

describe('deployment files', () => {
  it('docker/docker-compose.yml parses and runs Asterisk, PostgreSQL and the plugin with asterisk-config mounted', () => {
    // No Docker engine here: the file is checked as data.
    const doc = parse(fs.readFileSync(path.join(root, 'docker', 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { image?: string; build?: unknown; volumes?: string[] }>;
    };
    expect(Object.keys(doc.services)).to.include.members(['asterisk', 'postgres', 'plugin']);
    expect(doc.services.asterisk?.image).to.match(/asterisk/);
    expect(doc.services.postgres?.image).to.match(/^postgres:/);
    expect(doc.services.plugin?.build).to.not.equal(undefined);
    expect((doc.services.asterisk?.volumes ?? []).some((v) => v.startsWith('../asterisk-config'))).to.equal(true);
  });

  it('the compose standby (profile "standby") is the plugin again under its own INSTANCE_ID, on the same Asterisk and database', () => {
    type Service = { profiles?: string[]; environment?: Record<string, string>; network_mode?: string; secrets?: string[] };
    // Compose resolves YAML merge keys (<<); so does this parse.
    const doc = parse(fs.readFileSync(path.join(root, 'docker', 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, Service>;
    };
    const primary = doc.services.plugin;
    const standby = doc.services['plugin-standby'];
    expect(standby.profiles).to.deep.equal(['standby']);
    expect(primary.profiles, 'the primary always runs').to.equal(undefined);
    const { INSTANCE_ID: primaryId, ...primaryEnv } = primary.environment ?? {};
    const { INSTANCE_ID: standbyId, ...standbyEnv } = standby.environment ?? {};
    expect(primaryId).to.be.a('string');
    expect(standbyId).to.be.a('string').and.not.equal(primaryId);
    // Same Stasis app on the same Asterisk: the same standby group (src/cluster/leadership.ts).
    expect(standbyEnv).to.deep.equal(primaryEnv);
    expect(standby.network_mode).to.equal(primary.network_mode);
    expect(standby.secrets).to.deep.equal(primary.secrets);
  });

  it('every language folder of prompts reaches Asterisk and the plugin image, with no language named in the deployment files', () => {
    const doc = parse(fs.readFileSync(path.join(root, 'docker', 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { volumes?: string[] }>;
    };
    const volumes = doc.services.asterisk?.volumes ?? [];
    expect(volumes).to.include('../asterisk-config:/etc/asterisk-callback:ro');
    expect(
      volumes.filter((v) => /sounds\/[a-z]{2}\b/.test(v)),
      'no mount for one language only',
    ).to.deep.equal([]);
    const start = fs.readFileSync(path.join(root, 'docker', 'asterisk-start.sh'), 'utf8');
    expect(start).to.include('for dir in "$SRC"/sounds/*/callback; do');
    expect(start).to.include('ln -sfn "$dir" "/var/lib/asterisk/sounds/$lang/callback"');
    const dockerfile = fs.readFileSync(path.join(root, 'docker', 'Dockerfile'), 'utf8');
    expect(dockerfile).to.match(/^COPY asterisk-config\/sounds \.\/asterisk-config\/sounds$/m);
    const ignore = fs.readFileSync(path.join(root, 'docker', 'Dockerfile.dockerignore'), 'utf8');
    expect(ignore).to.match(/^!asterisk-config\/sounds\/\*\*$/m);
    const install = fs.readFileSync(path.join(root, 'asterisk-config', 'README.md'), 'utf8');
    expect(install).to.include('for dir in asterisk-config/sounds/*/callback; do');
    expect(install).to.not.match(/sounds\/en\/callback/);
  });

  it('the example plugin configuration is valid for the plugin', () => {
    const raw = JSON.parse(fs.readFileSync(path.join(root, 'docker', 'direct-callback.example.json'), 'utf8')) as unknown;
    const cfg = parseConfig(raw, { ARI_PASSWORD: 'x' });
    expect(cfg.queues.length).to.be.greaterThan(0);
  });

  it('the Asterisk samples route queue and personal numbers into the Stasis app, with passwords as placeholders', () => {
    const ext = fs.readFileSync(path.join(root, 'asterisk-config', 'extensions.conf'), 'utf8');
    expect(ext).to.match(/Stasis\(direct-callback,queue,support/);
    expect(ext).to.match(/Stasis\(direct-callback,direct,/);
    const ari = fs.readFileSync(path.join(root, 'asterisk-config', 'ari.conf'), 'utf8');
    expect(ari).to.match(/password\s*=\s*CHANGE_ME/);
    const http = fs.readFileSync(path.join(root, 'asterisk-config', 'http.conf'), 'utf8');
    expect(http).to.match(/bindaddr\s*=\s*127\.0\.0\.1/);
  });

  it('the Docker image is built in two stages and runs the compiled JavaScript with node, production dependencies only', () => {
    const docker = fs.readFileSync(path.join(root, 'docker', 'Dockerfile'), 'utf8');
    const stages = docker.split(/^FROM /m).slice(1);
    expect(stages).to.have.length(2);
    expect(stages[0]).to.match(/npm run build/);
    expect(stages[1]).to.match(/npm ci --omit=dev/);
    expect(stages[1]).to.match(/COPY --from=build \S+\/dist\/src/);
    expect(stages[1]).to.match(/CMD \["node", "dist\/src\/main\.js"\]/);
    expect(docker).to.not.match(/\btsx\b/);
  });

  it('the systemd unit restarts on failure, runs unprivileged, takes secrets from files and runs the bin', () => {
    const unit = fs.readFileSync(path.join(root, 'deploy', 'systemd', 'direct-callback.service'), 'utf8');
    const keys = (section: string): Map<string, string[]> => {
      const body = unit.split(/^\[/m).find((b) => b.startsWith(`${section}]`)) ?? '';
      const out = new Map<string, string[]>();
      for (const line of body.split('\n').slice(1)) {
        const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
        if (m) out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
      }
      return out;
    };
    const service = keys('Service');
    expect(service.get('Restart')).to.deep.equal(['on-failure']);
    expect(service.get('User')).to.deep.equal(['direct-callback']);
    expect(service.get('ExecStart')).to.deep.equal(['direct-callback start']);
    expect(service.get('EnvironmentFile')).to.deep.equal(['/etc/direct-callback/environment']);
    expect(service.get('NoNewPrivileges')).to.deep.equal(['yes']);
    expect(keys('Unit').get('StartLimitIntervalSec')).to.deep.equal(['0']);
    expect(unit, 'no secret in the unit').to.not.match(/^Environment=.*PASSWORD=/m);
    expect(keys('Install').get('WantedBy')).to.deep.equal(['multi-user.target']);
  });
});
