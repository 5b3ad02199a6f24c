import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoBrokerConfig } from '../../src/ops/demo/broker.js';
import { demoLayout, REPO_ROOT } from '../../src/ops/demo/layout.js';

const shipped = readFileSync(path.join(REPO_ROOT, 'mosquitto', 'config', 'mosquitto.conf'), 'utf8');
const layout = demoLayout('/srv/demo');
const settings = (conf: string) => conf.split('\n').filter((l) => l && !l.startsWith('#'));

describe('the demo broker config', () => {
  it('is the shipped config with its container folders and listener made local', () => {
    const conf = demoBrokerConfig(shipped, layout, 18883, false);
    expect(settings(conf)).toHaveLength(settings(shipped).length);
    expect(conf).not.toMatch(/^[a-z_]+ \/mosquitto\//m);
    expect(conf).toMatch(/^listener 18883 127\.0\.0\.1$/m);
    expect(conf).toContain('cafile /srv/demo/pki/server-certs/ca.crt');
    expect(conf).toContain('keyfile /srv/demo/pki/server-certs/server.key');
    expect(conf).toContain(`acl_file ${path.join(REPO_ROOT, 'mosquitto', 'config', 'acl')}`);
    expect(conf).toContain('persistence_location /srv/demo/mosquitto-data/');
    expect(conf).toMatch(/^require_certificate true$/m);
    expect(conf).not.toMatch(/^user /m);
  });

  it('stays root when run as root, so that it can read the key the demo user owns', () => {
    expect(demoBrokerConfig(shipped, layout, 18883, true)).toMatch(/^user root$/m);
  });

  it('refuses a container folder it does not know rather than start a broker that cannot read it', () => {
    expect(() => demoBrokerConfig('include_dir /mosquitto/conf.d/', layout, 1, false)).toThrow(/no demo folder/);
  });
});
