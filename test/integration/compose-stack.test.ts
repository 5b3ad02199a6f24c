/**
 * The whole stack as a newcomer runs it: the README's run command, in a copy of the repository
 * (no .env, no certificate), with Debian 12's own `docker-compose` 1.29, the files unchanged.
 * No image registry is reachable here, so the images are stand-ins made from Debian's packages
 * (scripts/stand-in-images.sh, deploy/stand-ins/), given as the .env variables a school behind a
 * strict proxy would set; the test's "shell" also exports its own project name and free ports.
 *
 * The tests run in order on one stack: up and healthy, a device's QoS 0 reading, the broker's
 * container and log, a second `up` under traffic, the status page refused to the LAN without a
 * token, `down` then `up` with one, then two bridges.
 *
 * Skipped, saying why, only where no Docker engine can start. Alone, as root:
 * `npx vitest run test/integration/compose-stack.test.ts` (on this 2-core machine: about 10 min
 * the first time, which builds the debootstrap base, the stand-ins and the bridge's image; 3 to
 * 3.5 min once they are cached, half of it waiting for the healthchecks' first runs).
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloneOfRepository, ComposeStack, runIn, standInImages } from '../helpers/compose-stack.js';
import type { TestDatabase } from '../helpers/database.js';
import { dockerEngineProblem } from '../helpers/docker.js';
import { freePort } from '../helpers/ports.js';
import { SteadyStream, waitForDelivery } from '../helpers/readings.js';
import { sleep, waitFor } from '../helpers/wait.js';

const engineProblem = await dockerEngineProblem();
if (engineProblem) console.warn(`compose-stack.test.ts SKIPPED: ${engineProblem}`);

const SETUP_TIMEOUT_MS = 25 * 60_000;
/** The first `up` builds the bridge's image: minutes on a cold cache. */
const FIRST_UP_TIMEOUT_MS = 20 * 60_000;
const STEP_TIMEOUT_MS = 5 * 60_000;

/** Long-running services and one-shots of docker-compose.yml with .env.example's COMPOSE_FILE. */
const SERVICES = ['mariadb', 'mosquitto', 'bridge'];
const ONE_SHOTS = ['pki', 'local-db-migrate', 'local-db-user', 'demo-serre'];
/** .env.example's DB_ADMIN_PASSWORD: the local MariaDB's root password. */
const ROOT_PASSWORD = 'change-me-admin';
const DEVICE = 'banc-test';
const DEVICE_MAC = '24:6F:28:0A:0B:0C';

/** An address of this machine other than the loopback: what a laptop on the LAN would connect to. */
function lanAddress(): string {
  const candidates = Object.entries(networkInterfaces()).flatMap(([name, list]) =>
    (list ?? []).filter((a) => a.family === 'IPv4' && !a.internal).map((a) => ({ name, address: a.address })),
  );
  const physical = candidates.find((c) => !/^(docker|br-|veth)/.test(c.name));
  const found = physical ?? candidates[0];
  if (!found) throw new Error('this machine has no IPv4 address besides the loopback');
  return found.address;
}

/** Two consecutive free ports, for HTTP_PUBLISHED_PORT=<p>-<p+1>. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const next = await freePort();
    if (next === port + 1) return port;
    if (port < 65535 && (await isFree(port + 1))) return port;
  }
}
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function get(url: string, token?: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text() };
}

describe.skipIf(engineProblem !== undefined)('the stack as a newcomer runs it, with Debian 12 docker-compose', () => {
  const suffix = randomBytes(3).toString('hex');
  const project = `parcstack${suffix}`;
  const token = randomBytes(24).toString('hex');
  let stack: ComposeStack;
  let mqttPort: number;
  let httpPort: number;
  let lan: string;
  let db: Awaited<ReturnType<ComposeStack['database']>> | undefined;

  const inDir = (file: string) => path.join(stack.dir, file);
  const pkiFiles = ['server-certs/ca.crt', 'server-certs/ca.key', 'server-certs/server.crt', 'server-certs/server.key', 'client-certs/client.crt', 'client-certs/client.key'];
  const pkiContents = () => pkiFiles.map((f) => readFileSync(inDir(`mosquitto/${f}`), 'utf8'));

  /** A device with the certificate clients-certs.sh made, on the published broker port. */
  async function device(): Promise<MqttClient> {
    const certs = inDir(`mosquitto/client-certs/${DEVICE}`);
    const client = connect(`mqtts://127.0.0.1:${mqttPort}`, {
      ca: readFileSync(path.join(certs, 'ca.crt')),
      cert: readFileSync(path.join(certs, 'client.crt')),
      key: readFileSync(path.join(certs, 'client.key')),
      rejectUnauthorized: true,
      reconnectPeriod: 500,
      connectTimeout: 10_000,
    });
    await waitFor('device connected', () => client.connected, 15_000);
    return client;
  }

  /** The README's test reading, sent with mosquitto_pub as a device at QoS 0. */
  async function mosquittoPub(topic: string, message: string): Promise<void> {
    const certs = `mosquitto/client-certs/${DEVICE}`;
    const sent = await runIn(stack.dir, process.env, 'mosquitto_pub', [
      '-h', '127.0.0.1', '-p', String(mqttPort), '--cafile', 'mosquitto/server-certs/ca.crt',
      '--cert', `${certs}/client.crt`, '--key', `${certs}/client.key`, '-q', '0', '-t', topic, '-m', message,
    ]);
    expect(sent.code, sent.stderr).toBe(0);
  }

  async function openDatabase() {
    await db?.end();
    db = await stack.database(ROOT_PASSWORD);
    return db;
  }

  async function humiditeSol(value: number): Promise<number> {
    const rows = await db!.query<Array<{ n: number } & import('mysql2').RowDataPacket>>(
      'SELECT count(*) AS n FROM mesure m JOIN bac b ON m.bac = b.id_bac JOIN serre s ON b.serre = s.id_serre ' +
        "JOIN capteur c ON m.capteur = c.id_capteur WHERE s.numero = 1 AND b.numero = 1 AND c.type = 'humiditeSol' AND m.value = ?",
      [value],
    );
    return Number(rows[0]?.n);
  }

  /** What a technician does: a line added to .env. */
  const appendToEnv = (lines: string[]) => appendFileSync(inDir('.env'), `${lines.join('\n')}\n`);

  beforeAll(async () => {
    const images = await standInImages();
    mqttPort = await freePort();
    httpPort = await freePort();
    lan = lanAddress();
    stack = new ComposeStack(cloneOfRepository(), {
      ...process.env,
      ...images,
      COMPOSE_PROJECT_NAME: project,
      BRIDGE_IMAGE: `parc-bridge:stack-${suffix}`,
      MQTT_PUBLISHED_PORT: String(mqttPort),
      HTTP_PUBLISHED_PORT: String(httpPort),
    });
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await db?.end();
    if (!stack) return;
    await stack.destroy();
    // The image's tag only: its layers stay in the build cache for the next run.
    await runIn(stack.dir, process.env, 'docker', ['image', 'rm', '--no-prune', `parc-bridge:stack-${suffix}`]);
  }, STEP_TIMEOUT_MS);

  it('comes up healthy with the README run command, the status page on 127.0.0.1 only', async () => {
    const copied = await runIn(stack.dir, stack.env, 'sh', ['-c', 'test -f .env || cp .env.example .env']);
    expect(copied.code).toBe(0);
    await stack.mustCompose(['up', '-d'], {}, FIRST_UP_TIMEOUT_MS);
    await stack.waitHealthy(SERVICES, ONE_SHOTS);

    expect(await get(`http://127.0.0.1:${httpPort}/healthz`)).toEqual({ status: 200, body: expect.stringContaining('alive') });
    expect((await get(`http://127.0.0.1:${httpPort}/readyz`)).status).toBe(200);
    expect((await get(`http://127.0.0.1:${httpPort}/`)).body).toContain('<html');
    // Nobody else on the LAN reaches it.
    await expect(get(`http://${lan}:${httpPort}/healthz`)).rejects.toThrow();
    // The containers are named after COMPOSE_PROJECT_NAME, and so are the volumes.
    const volumes = await stack.docker(['volume', 'ls', '--quiet', '--filter', `name=${project}_`]);
    expect(volumes.split('\n').sort()).toEqual([`${project}_bridge-data`, `${project}_mariadb-data`, `${project}_mosquitto-data`]);
  }, FIRST_UP_TIMEOUT_MS + STEP_TIMEOUT_MS);

  it("lands a device's QoS 0 reading in the demo serre, and its controller", async () => {
    const made = await runIn(stack.dir, stack.env, path.join(stack.dir, 'mosquitto/clients-certs.sh'), [DEVICE]);
    expect(made.code, made.stderr).toBe(0);
    await openDatabase();
    // Demo data, marked as such, in the database this stack made.
    expect(await db!.count('parc_demo_marker')).toBe(1);
    expect(await db!.count('bac', 'serre = (SELECT id_serre FROM serre WHERE numero = 1)')).toBe(2);

    await mosquittoPub('serre/1/bac/1', '{"humiditeSol": 42}');
    await mosquittoPub(`controleur/${DEVICE_MAC}`, '{"ip": "192.168.42.85", "status": true}');
    await waitFor('the reading in mesure', async () => (await humiditeSol(42)) === 1, 30_000, 500);
    await waitFor('the controller', async () => (await db!.count('controleur', 'id_controleur = ? AND status = 1', [DEVICE_MAC])) === 1, 30_000, 500);
    expect(await db!.query('SELECT type_erreur, message FROM error')).toEqual([]);
  }, STEP_TIMEOUT_MS);

  it('gives the broker its four files and never the CA key; its log raises no false alarm', async () => {
    const mounts = JSON.parse(await stack.inspect('mosquitto', '{{json .Mounts}}')) as Array<{ Source: string; Destination: string }>;
    const certMounts = mounts.filter((m) => m.Destination.startsWith('/mosquitto/certs')).map((m) => m.Destination).sort();
    expect(certMounts).toEqual(['/mosquitto/certs/ca.crl', '/mosquitto/certs/ca.crt', '/mosquitto/certs/server.crt', '/mosquitto/certs/server.key']);
    const mosquitto = await stack.container('mosquitto');
    const found = await stack.docker(['exec', mosquitto, 'sh', '-c', 'find / -xdev -name "ca.key*"; find /mosquitto -name "ca.key*"; id -u']);
    expect(found).toBe('1883');
    // Only the pki service sees it.
    const pkiMounts = JSON.parse(await stack.inspect('pki', '{{json .Mounts}}')) as Array<{ Source: string }>;
    expect(pkiMounts.map((m) => m.Source)).toContain(inDir('mosquitto'));

    const log = await stack.logs('mosquitto');
    expect(log).toContain('mosquitto version 2.');
    expect(log).not.toMatch(/chown|Read-only|Error|denied/i);
    // Mosquitto's acl_file has no way to let every certificate publish without these three
    // (a pattern without %u or %c); they are the only warnings.
    const warnings = log.split('\n').filter((l) => /warning/i.test(l)).map((l) => l.replace(/^\S+ /, ''));
    expect(warnings).toEqual([
      "Warning: ACL pattern 'serre/+/bac/+' does not contain '%c' or '%u'.",
      "Warning: ACL pattern 'controleur/+' does not contain '%c' or '%u'.",
      "Warning: ACL pattern 'controleur/+/disconnect' does not contain '%c' or '%u'.",
    ]);
    const bridgeLog = await stack.logs('bridge');
    expect(bridgeLog).not.toMatch(/"level":"(warn|error|fatal)"/);
  }, STEP_TIMEOUT_MS);

  it('a second `up` changes nothing and loses nothing while a device publishes at QoS 0', async () => {
    const before = await Promise.all(SERVICES.map((s) => stack.container(s)));
    const client = await device();
    const stream = new SteadyStream([client], 50, 1, 0).start();
    await sleep(1_000);
    const again = await stack.mustCompose(['up', '-d']);
    await sleep(2_000);
    const sent = await stream.stop();
    client.end(true);

    for (const service of SERVICES) expect(again).toMatch(new RegExp(`${project}_${service}_1 is up-to-date`));
    expect(await Promise.all(SERVICES.map((s) => stack.container(s)))).toEqual(before);
    await stack.waitHealthy(SERVICES, ONE_SHOTS);
    expect(await stack.logs('local-db-user')).toMatch(/"granted":0,"revoked":0/);
    const delivery = await waitForDelivery(db as unknown as TestDatabase, sent, 60_000);
    expect(delivery).toMatchObject({ lost: 0, duplicated: 0 });
    expect(await db!.query('SELECT type_erreur, message FROM error')).toEqual([]);
  }, STEP_TIMEOUT_MS);

  it('refuses to publish the status page on the LAN without HTTP_TOKEN', async () => {
    appendToEnv(['HTTP_PUBLISHED_ADDRESS=0.0.0.0']);
    // The bridge service as `up` would start it with this .env (`run` does not wait for the
    // one-shots again, nor for a restart loop).
    const refused = await stack.compose(['run', '--rm', '--no-deps', 'bridge']);
    expect(refused.code).toBe(2);
    expect(refused.stdout + refused.stderr).toContain('HTTP_PUBLISHED_ADDRESS is 0.0.0.0, which opens the status page');
    await expect(get(`http://${lan}:${httpPort}/`)).rejects.toThrow();
  }, STEP_TIMEOUT_MS);

  it('`down` then `up` keeps the data and the PKI; with a token, the page on the LAN asks for it', async () => {
    const pki = pkiContents();
    const rows = await db!.count('mesure');
    appendToEnv([`HTTP_TOKEN=${token}`]);
    await stack.mustCompose(['down']);
    await stack.mustCompose(['up', '-d']);
    await stack.waitHealthy(SERVICES, ONE_SHOTS);

    expect(pkiContents()).toEqual(pki);
    await openDatabase();
    expect(await db!.count('mesure')).toBe(rows);
    expect(await db!.count('serre')).toBe(1);
    await mosquittoPub('serre/1/bac/1', '{"humiditeSol": 43}');
    await waitFor('the reading after down and up', async () => (await humiditeSol(43)) === 1, 30_000, 500);

    expect((await get(`http://${lan}:${httpPort}/`)).status).toBe(401);
    expect((await get(`http://${lan}:${httpPort}/`, token)).status).toBe(200);
    expect((await get(`http://${lan}:${httpPort}/healthz`)).status).toBe(200);
  }, STEP_TIMEOUT_MS);

  it('runs two bridges with `--scale bridge=2`, each on a port of HTTP_PUBLISHED_PORT', async () => {
    const first = await freePortPair();
    appendToEnv(['MQTT_SHARED_GROUP=parc', 'MQTT_CLIENT_ID=mqtt-bridge-{slot}']);
    await stack.mustCompose(['up', '-d', '--scale', 'bridge=2'], { HTTP_PUBLISHED_PORT: `${first}-${first + 1}` });
    const bridges = await stack.containers('bridge');
    expect(bridges).toHaveLength(2);
    for (const port of [first, first + 1]) {
      await waitFor(`the bridge on port ${port} ready`, async () => (await get(`http://127.0.0.1:${port}/readyz`)).status === 200, 60_000, 500);
    }
    const ids = await Promise.all(bridges.map(async (id) => (await stack.docker(['logs', id])).match(/"clientId":"(mqtt-bridge-\d)"/)?.[1]));
    expect(ids.sort()).toEqual(['mqtt-bridge-1', 'mqtt-bridge-2']);
  }, STEP_TIMEOUT_MS);
});
