/**
 * `parc-bridge doctor` as an operator runs it, against a real broker and database: all green on
 * a good setup, and for each thing it checks, a broken setup that shows the failing line and
 * exits 1.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, newDataDir } from '../helpers/bridge-process.js';
import { startBroker, waitForLog, type Broker } from '../helpers/broker.js';
import { createTestDatabase, LOCAL_MARIADB } from '../helpers/database.js';
import { tempDir } from '../helpers/cleanup.js';
import { makeExpiredCert, makeForeignCert, MOSQUITTO_DIR, runScript, type Pki } from '../helpers/pki.js';
import { metricValue } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { createStack, type Stack } from '../helpers/stack.js';

const MQTT_SECRET = 'mqtt-password-never-printed';
const SHIPPED_ACL = path.join(MOSQUITTO_DIR, 'config', 'acl');

interface DoctorOutput {
  code: number | null;
  out: string;
  lines: string[];
}

function doctor(env: Record<string, string>): DoctorOutput {
  const result = spawnSync(process.execPath, [CLI, 'doctor'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const out = result.stdout + result.stderr;
  return { code: result.status, out, lines: out.split('\n').filter((l) => l.length > 0) };
}

/** The one line of a check, whatever its status. */
function line(output: DoctorOutput, label: string): string {
  const found = output.lines.filter((l) => l.slice(2).startsWith(`${label}:`));
  if (found.length !== 1) throw new Error(`expected one "${label}" line, found ${found.length}:\n${output.out}`);
  return found[0]!;
}

/** A PKI whose broker certificate names only 127.0.0.1 (and the service name), not localhost. */
async function pkiWithoutLocalhost(): Promise<Pki> {
  const dir = await tempDir('parc-pki-ip-only-');
  for (const args of [['127.0.0.1'], ['--bridge']]) {
    const r = await runScript(args[0] === '--bridge' ? 'clients-certs.sh' : 'server-certs.sh', args, { PKI_DIR: dir });
    if (r.code !== 0) throw new Error(`PKI script failed: ${r.stderr}`);
  }
  return {
    dir,
    caFile: path.join(dir, 'server-certs', 'ca.crt'),
    server: { certFile: path.join(dir, 'server-certs', 'server.crt'), keyFile: path.join(dir, 'server-certs', 'server.key') },
    bridge: { certFile: path.join(dir, 'client-certs', 'client.crt'), keyFile: path.join(dir, 'client-certs', 'client.key') },
    client: () => Promise.reject(new Error('not needed')),
  };
}

let stack: Stack;
const env = (extra: Record<string, string> = {}) =>
  stack.bridgeEnv({ DATA_DIR: newDataDir(), MQTT_USER: 'mqtt-bridge', MQTT_PASSWORD: MQTT_SECRET, MQTT_ACL_FILE: SHIPPED_ACL, ...extra });

beforeAll(async () => {
  stack = await createStack();
});

afterAll(async () => {
  await stack?.close();
});

describe('doctor on a good setup', () => {
  it('passes every check, exits 0 and prints no secret', () => {
    const result = doctor(env());
    expect(result.code, result.out).toBe(0);
    const checks = result.lines.filter((l) => /^[✔✘⚠-] /.test(l));
    expect(checks.length).toBeGreaterThanOrEqual(13);
    expect(checks.filter((l) => !l.startsWith('✔')), result.out).toEqual([]);
    expect(line(result, 'Broker certificate SAN')).toContain('MQTT_HOST 127.0.0.1 is in the broker certificate');
    expect(line(result, 'MQTT CONNECT')).toContain('the broker accepted certificate CN=mqtt-bridge');
    expect(line(result, 'Broker QoS to the bridge')).toMatch(/^✔ .*published at QoS 0 reached the QoS 1 subscription at QoS 1/);
    expect(line(result, 'Broker ACL (MQTT_ACL_FILE)')).toMatch(/^✔ .*CN=mqtt-bridge may read serre\/\+\/bac\/\+ \(line \d+\), controleur\/\+ \(line \d+\), controleur\/\+\/disconnect/);
    expect(line(result, 'Database connection')).toContain(`as ${stack.db.bridgeUser}`);
    expect(result.out).toContain('All checks passed');
    expect(result.out).not.toContain(stack.db.bridgePassword);
    expect(result.out).not.toContain(MQTT_SECRET);
  });

  it('leaves a running bridge connected and reports its journal without opening it', async () => {
    const bridge = await stack.startBridge();
    const result = doctor(env({ DATA_DIR: bridge.dataDir }));
    expect(result.code, result.out).toBe(0);
    expect(line(result, 'DATA_DIR')).toMatch(/^✔ .*journal\.sqlite holds \d/);
    const doctorId = `${stack.bridgeEnv().MQTT_CLIENT_ID}-doctor`;
    expect(line(result, 'MQTT CONNECT')).toContain(doctorId);
    // Same client id would make Mosquitto close the bridge's connection ("already connected"):
    // read the broker's log once it has logged the doctor's visit.
    await waitForLog(stack.broker, new RegExp(`as ${doctorId}`));
    expect(stack.broker.log()).not.toMatch(/already connected/);
    expect(await metricValue(bridge, 'parc_bridge_mqtt_reconnects_total')).toBe(0);
    expect((await bridge.get('/readyz')).status).toBe(200);
    await bridge.stop();
  });
});

describe('doctor on a broken setup', () => {
  it('lists every configuration problem and still runs the checks it can', () => {
    const good = env();
    delete good.DB_PASSWORD;
    const result = doctor({ ...good, LOG_LEVEL: 'LOUD' });
    expect(result.code).toBe(1);
    const config = line(result, 'Configuration');
    expect(config).toMatch(/^✘ /);
    expect(config).toContain('DB_PASSWORD');
    expect(config).toContain('LOG_LEVEL');
    expect(line(result, 'Database connection')).toMatch(/^- .*skipped/);
    expect(line(result, 'MQTT CONNECT')).toMatch(/^✔ /);
    expect(line(result, 'DATA_DIR')).toMatch(/^✔ /);
  });

  it('reports an unreachable database', async () => {
    const port = await freePort();
    const result = doctor(env({ DB_PORT: String(port) }));
    expect(result.code).toBe(1);
    const db = line(result, 'Database connection');
    expect(db).toMatch(new RegExp(`^✘ .*127\\.0\\.0\\.1:${port}.*ECONNREFUSED.*→ check DB_HOST and DB_PORT`));
    expect(db).not.toContain(stack.db.bridgePassword);
    expect(line(result, 'Database schema')).toMatch(/^- .*skipped/);
    expect(line(result, 'MQTT CONNECT')).toMatch(/^✔ /);
  });

  it('lists the missing table and column and suggests npm run migrate', async () => {
    const db = await createTestDatabase(LOCAL_MARIADB);
    try {
      await db.query('DROP TABLE bridge_controleur_event');
      await db.query('ALTER TABLE error DROP COLUMN valeur');
      const result = doctor(env(db.env()));
      expect(result.code).toBe(1);
      expect(line(result, 'Database connection')).toMatch(/^✔ /);
      const schema = line(result, 'Database schema');
      expect(schema).toMatch(/^✘ /);
      expect(schema).toContain('missing table(s) bridge_controleur_event');
      expect(schema).toContain('missing column(s) error.valeur');
      expect(schema).toContain('npm run migrate');
    } finally {
      await db.drop();
    }
  });

  it('reports a broker that is down', async () => {
    await stack.broker.stop();
    try {
      const result = doctor(env());
      expect(result.code).toBe(1);
      expect(line(result, 'Broker TLS handshake')).toMatch(/^✘ Broker TLS handshake: cannot reach 127\.0\.0\.1:\d+.*ECONNREFUSED.*→ .*is Mosquitto running/);
      expect(line(result, 'MQTT CONNECT')).toMatch(/^- .*skipped/);
      expect(line(result, 'Database connection')).toMatch(/^✔ /);
    } finally {
      await stack.broker.start();
    }
  });

  it('reports a client certificate from another CA', async () => {
    const foreign = await makeForeignCert();
    const result = doctor(env({ MQTT_CERT_FILE: foreign.certFile, MQTT_KEY_FILE: foreign.keyFile }));
    expect(result.code).toBe(1);
    expect(line(result, 'Client certificate issuer')).toMatch(/^✘ Client certificate issuer: .*not by the (CA|one) in MQTT_CA_FILE.*→ the broker will refuse it/);
    expect(line(result, 'Client key (MQTT_KEY_FILE)')).toMatch(/^✔ /);
    // The broker refuses it during (TLS 1.2) or right after (TLS 1.3) the handshake.
    const refused = [line(result, 'Broker TLS handshake'), line(result, 'MQTT CONNECT')].filter((l) => l.startsWith('✘'));
    expect(refused.length, result.out).toBe(1);
  });

  it('reports an expired client certificate', async () => {
    const expired = await makeExpiredCert(stack.pki);
    const result = doctor(env({ MQTT_CERT_FILE: expired.certFile, MQTT_KEY_FILE: expired.keyFile }));
    expect(result.code).toBe(1);
    expect(line(result, 'Client certificate (MQTT_CERT_FILE)')).toMatch(/^✘ .*expired on 2020-02-01 → issue a new one with `mosquitto\/clients-certs\.sh --force --bridge`/);
    expect(line(result, 'Client certificate issuer')).toMatch(/^✔ /);
    expect(line(result, 'MQTT CONNECT')).not.toMatch(/^✔ /);
  });

  it('reports a key that does not belong to the certificate', async () => {
    const device = await stack.pki.client('AA:BB:CC:00:00:03');
    const result = doctor(env({ MQTT_KEY_FILE: device.keyFile }));
    expect(result.code).toBe(1);
    expect(line(result, 'Client key (MQTT_KEY_FILE)')).toMatch(/^✘ .*is not the key of the client certificate CN=mqtt-bridge/);
    expect(line(result, 'Broker TLS handshake')).toMatch(/^✘ .*key values mismatch/);
    expect(result.out).not.toMatch(/PRIVATE KEY/);
  });

  it('reports a broker certificate whose SAN does not cover MQTT_HOST', async () => {
    const pki = await pkiWithoutLocalhost();
    const broker: Broker = await startBroker(pki);
    try {
      const result = doctor(
        env({
          MQTT_HOST: 'localhost',
          MQTT_PORT: String(broker.port),
          MQTT_CA_FILE: pki.caFile,
          MQTT_CERT_FILE: pki.bridge.certFile,
          MQTT_KEY_FILE: pki.bridge.keyFile,
        }),
      );
      expect(result.code).toBe(1);
      const san = line(result, 'Broker certificate SAN');
      expect(san).toMatch(/^✘ Broker certificate SAN: MQTT_HOST localhost is not in the broker certificate \(DNS:mosquitto, IP:127\.0\.0\.1\)/);
      expect(san).toContain('mosquitto/server-certs.sh <LAN_IP> localhost');
      // Everything else about the broker is fine, which the other lines say.
      expect(line(result, 'Broker TLS handshake')).toMatch(/^✔ /);
      expect(line(result, 'MQTT CONNECT')).toMatch(/^✔ /);
      // Control: by IP the same broker passes.
      const byIp = doctor(
        env({ MQTT_HOST: '127.0.0.1', MQTT_PORT: String(broker.port), MQTT_CA_FILE: pki.caFile, MQTT_CERT_FILE: pki.bridge.certFile, MQTT_KEY_FILE: pki.bridge.keyFile }),
      );
      expect(byIp.code, byIp.out).toBe(0);
    } finally {
      await broker.stop();
    }
  });

  it("fails when the broker's ACL does not let the bridge's CN read (the ACL of earlier versions), and says so only when given the file", async () => {
    const dir = await tempDir('parc-doctor-acl-');
    const oldAcl = path.join(dir, 'acl');
    writeFileSync(oldAcl, 'pattern write serre/+/bac/+\nuser parc-bridge\ntopic read serre/+/bac/+\ntopic read controleur/+\ntopic read controleur/+/disconnect\n');
    const result = doctor(env({ MQTT_ACL_FILE: oldAcl }));
    expect(result.code).toBe(1);
    expect(line(result, 'Broker ACL (MQTT_ACL_FILE)')).toMatch(
      /^✘ .*CN=mqtt-bridge may not read serre\/\+\/bac\/\+: no line allows it; controleur\/\+: no line allows it; controleur\/\+\/disconnect: no line allows it in .*\/acl: the bridge would connect and subscribe, then receive nothing/,
    );
    expect(line(result, 'MQTT CONNECT')).toMatch(/^✔ /);

    const withoutFile = doctor(env({ MQTT_ACL_FILE: '' }));
    expect(withoutFile.code, withoutFile.out).toBe(0);
    expect(line(withoutFile, 'Broker ACL (MQTT_ACL_FILE)')).toMatch(/^- .*set MQTT_ACL_FILE .*CN=mqtt-bridge/);
  });

  it('warns when the broker delivers QoS 0 to the bridge (no upgrade_outgoing_qos)', async () => {
    const broker: Broker = await startBroker(stack.pki, { extraConfig: 'upgrade_outgoing_qos false' });
    try {
      const result = doctor(env({ MQTT_PORT: String(broker.port) }));
      expect(result.code, result.out).toBe(0); // a warning, not a failure
      expect(line(result, 'Broker QoS to the bridge')).toMatch(
        /^⚠ .*reached the QoS 1 subscription at QoS 0: .*lost at every bridge restart → add "upgrade_outgoing_qos true" to mosquitto\.conf/,
      );
    } finally {
      await broker.stop();
    }
  });

  it('reports a DATA_DIR that cannot be written', async () => {
    // Tests run as root, whom chmod does not stop: a path under a regular file fails for anyone.
    const file = path.join(await tempDir('parc-doctor-'), 'not-a-folder');
    writeFileSync(file, 'x');
    const result = doctor(env({ DATA_DIR: path.join(file, 'data') }));
    expect(result.code).toBe(1);
    expect(line(result, 'DATA_DIR')).toMatch(/^✘ .*not-a-folder\/data cannot be created: .*not-a-folder is a file/);
    const existingFile = doctor(env({ DATA_DIR: file }));
    expect(line(existingFile, 'DATA_DIR')).toMatch(/^✘ .*not-a-folder is not a directory/);
  });
});
