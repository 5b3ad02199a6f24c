/**
 * The central broker's ACL made by `parc-bridge acl --central`, on the real central broker
 * (deploy/central-broker/mosquitto.conf): a school's certificate publishes under its own
 * ecole/<id>/ only, and cannot take over another school's session. And the per-controller ACL
 * says which schools may publish, none included.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import { connect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/bridge-process.js';
import { tempDir } from '../helpers/cleanup.js';
import { createTestDatabase } from '../helpers/database.js';
import { clientPaths, makePki, runScript } from '../helpers/pki.js';
import { startCentralBroker, type CentralBroker } from '../helpers/site-brokers.js';
import { waitFor } from '../helpers/wait.js';

let central: CentralBroker;
const clients: MqttClient[] = [];
const received: string[] = [];

beforeAll(async () => {
  central = await startCentralBroker(await makePki(), ['ecole-1', 'ecole-2']);
  for (const school of ['ecole-1', 'ecole-2']) {
    const made = await runScript('clients-certs.sh', ['--site-bridge', school], { PKI_DIR: central.pki.dir });
    if (made.code !== 0) throw new Error(made.stderr);
  }
  // The central bridge's identity, reading both schools.
  const reader = await client(central.port, central.pki.bridge, { clientId: 'central-reader' });
  await reader.subscribeAsync(['ecole/+/serre/+/bac/+', 'serre/+/bac/+'], { qos: 1 });
  reader.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await central?.stop();
});

async function client(port: number, pair: { certFile: string; keyFile: string }, opts: IClientOptions): Promise<MqttClient> {
  const c = connect(`mqtts://127.0.0.1:${port}`, {
    ca: readFileSync(central.pki.caFile),
    cert: readFileSync(pair.certFile),
    key: readFileSync(pair.keyFile),
    reconnectPeriod: 0,
    ...opts,
  });
  clients.push(c);
  await waitFor(`${opts.clientId} connected`, () => c.connected, 15_000);
  return c;
}

const school = (id: string) => clientPaths(central.pki.dir, `site-bridge-${id}`);

describe('the central broker and its generated ACL', () => {
  it("drops what a school publishes under another school's prefix or none (MQTT 5: not authorized), takes its own", async () => {
    const ecole1 = await client(central.schoolPort, school('ecole-1'), { clientId: 'site-bridge-ecole-1', protocolVersion: 5 });
    await expect(ecole1.publishAsync('ecole/ecole-2/serre/1/bac/1', '{"humiditeSol": 2}', { qos: 1 })).rejects.toMatchObject({ code: 135 });
    await expect(ecole1.publishAsync('serre/1/bac/1', '{"humiditeSol": 3}', { qos: 1 })).rejects.toMatchObject({ code: 135 });
    await expect(ecole1.publishAsync('ecole/ecole-2/controleur/24:6F:28:00:00:01', '{"ip": "10.0.0.1", "status": false}', { qos: 1 })).rejects.toMatchObject({
      code: 135,
    });
    await ecole1.publishAsync('ecole/ecole-1/serre/1/bac/1', '{"humiditeSol": 1}', { qos: 1 });
    await waitFor("ecole-1's own reading delivered", () => received.length > 0);
    expect(received).toEqual(['ecole/ecole-1/serre/1/bac/1 {"humiditeSol": 1}']);
  });

  it("gives a school's session to its certificate, whatever client id it asks for", async () => {
    const ecole1 = await client(central.schoolPort, school('ecole-1'), { clientId: 'site-bridge-ecole-1' });
    // ecole-2 misconfigured with ecole-1's remote_clientid: the school listener uses its CN instead.
    const ecole2 = await client(central.schoolPort, school('ecole-2'), { clientId: 'site-bridge-ecole-1' });
    await ecole2.publishAsync('ecole/ecole-2/serre/1/bac/1', '{"humiditeSol": 4}', { qos: 1 });
    await waitFor("ecole-2's reading delivered", () => received.some((r) => r.startsWith('ecole/ecole-2/')));
    expect(ecole1.connected).toBe(true);
    expect(central.log()).toMatch(/New client connected from \S+ as site-bridge-ecole-2 /);
  });
});

describe('the per-controller ACL', () => {
  it('says which schools may publish, and that none may when none is given', async () => {
    const db = await createTestDatabase();
    try {
      const out = path.join(tempDir('parc-acl-'), 'acl.generated');
      const run = (...args: string[]) =>
        spawnSync(process.execPath, [CLI, 'acl', '--out', out, ...args], { env: { PATH: process.env.PATH ?? '', ...db.env() }, encoding: 'utf8', timeout: 60_000 });
      const none = run();
      expect(none.status).toBe(0);
      expect(none.stderr).toContain('acl: no school bridged to this broker (--school, SCHOOLS): a school broker (CN=site-bridge-<id>) may publish nothing');
      const some = run('--school', 'ecole-1');
      expect(some.status).toBe(0);
      expect(some.stderr).toContain('acl: 1 school(s) from --school, each writing under its own ecole/<id>/: site-bridge-ecole-1');
      expect(readFileSync(out, 'utf8')).toMatch(/^user site-bridge-ecole-1\ntopic write ecole\/ecole-1\/serre\/\+\/bac\/\+$/m);
    } finally {
      await db.drop();
    }
  });
});
