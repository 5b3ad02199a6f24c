/**
 * Revocation (mosquitto/revoke-cert.sh) on a real Mosquitto started from the shipped config
 * (crlfile): the CA's index kept by the scripts, a revoked device refused at the TLS handshake
 * while another device and the bridge carry on, on a PKI made by the scripts and on one made by
 * hand with the original README's commands (revoked by its file).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RowDataPacket } from 'mysql2';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type BridgeProcess } from '../helpers/bridge-process.js';
import { connectOutcome, deviceClient, startBroker, type Broker, type ConnectOutcome } from '../helpers/broker.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeOriginalPki, type OriginalPki } from '../helpers/original-pki.js';
import { makeForeignCert, makePki, REPO_ROOT, runScript, type CertPair, type Pki } from '../helpers/pki.js';
import { createStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const MAC_A = 'A4:CF:12:00:01:0A';
const MAC_B = 'A4:CF:12:00:01:0B';
const MAC_C = 'A4:CF:12:00:01:0C';
/** How Node's TLS reports the broker's alert 44 (certificate_revoked) to a device. */
const REVOKED = /alert certificate revoked/;

const clients: MqttClient[] = [];

function opensslText(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function serialOf(certFile: string): string {
  return opensslText('x509', '-noout', '-serial', '-in', certFile).trim().replace(/^serial=/, '');
}

/** Serials listed in a CRL file. */
function revokedSerials(crlFile: string): string[] {
  return [...opensslText('crl', '-noout', '-text', '-in', crlFile).matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1] ?? '');
}

/** `revoke-cert.sh --list` as rows: status, serial, subject. */
async function index(pkiDir: string): Promise<Array<{ status: string; serial: string; subject: string }>> {
  const r = await runScript('revoke-cert.sh', ['--list'], { PKI_DIR: pkiDir });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split('\t'))
    .map(([status = '', serial = '', , subject = '']) => ({ status, serial, subject }));
}

/** A connection attempt with a device certificate, and how it ended. */
async function attempt(broker: Broker, pair: CertPair, caFile: string): Promise<ConnectOutcome> {
  const client = deviceClient(broker, { ...pair, caFile });
  clients.push(client);
  return connectOutcome(client);
}

async function connected(broker: Broker, pair: CertPair, caFile: string): Promise<MqttClient> {
  const client = deviceClient(broker, { ...pair, caFile });
  clients.push(client);
  const outcome = await connectOutcome(client);
  if (!outcome.connected) throw new Error(`refused: ${outcome.error?.message}\n${broker.log()}`);
  return client;
}

async function readingsIn(db: TestDatabase, serre: number, bac: number): Promise<number[]> {
  const rows = await db.query<RowDataPacket[]>(
    `SELECT m.value FROM mesure m JOIN bac b ON b.id_bac = m.bac JOIN serre s ON s.id_serre = b.serre
      WHERE s.numero = ? AND b.numero = ? ORDER BY m.id_mesure`,
    [serre, bac],
  );
  return rows.map((r) => Math.round(Number(r.value) * 10) / 10);
}

/** Publishes one reading at QoS 1 (so the broker has it) and waits for its row. */
async function readingLands(db: TestDatabase, device: MqttClient, serre: number, bac: number, value: number): Promise<void> {
  await device.publishAsync(`serre/${serre}/bac/${bac}`, JSON.stringify({ humiditeSol: value }), { qos: 1 });
  await waitFor(`reading ${value} in serre ${serre} bac ${bac}`, async () => (await readingsIn(db, serre, bac)).includes(value));
}

afterAll(() => {
  for (const c of clients) c.end(true);
});

describe('the CA index and revoke-cert.sh', () => {
  let pki: Pki;
  beforeAll(async () => {
    pki = await makePki();
  });

  it('records every certificate the scripts issue: serial and CN, valid', async () => {
    const device = await pki.client(MAC_A);
    const rows = await index(pki.dir);
    expect(rows).toEqual(
      expect.arrayContaining([
        { status: 'V', serial: serialOf(pki.server.certFile), subject: '/CN=mosquitto' },
        { status: 'V', serial: serialOf(pki.bridge.certFile), subject: '/CN=mqtt-bridge' },
        { status: 'V', serial: serialOf(device.certFile), subject: `/CN=${MAC_A}` },
      ]),
    );
    expect(revokedSerials(path.join(pki.dir, 'server-certs', 'ca.crl'))).toEqual([]);
  });

  it('revokes by name every certificate of that CN, also the one --force replaced, and lists them in the CRL', async () => {
    const first = serialOf((await pki.client(MAC_B)).certFile);
    const again = await runScript('clients-certs.sh', ['--force', MAC_B], { PKI_DIR: pki.dir });
    expect(again.stderr).toContain(`revoke-cert.sh --serial ${first}`);
    const second = serialOf((await pki.client(MAC_B)).certFile);

    const r = await runScript('revoke-cert.sh', [MAC_B.toLowerCase()], { PKI_DIR: pki.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Revoked serial ${first}`);
    expect(r.stderr).toContain(`Revoked serial ${second}`);
    expect(revokedSerials(path.join(pki.dir, 'server-certs', 'ca.crl')).sort()).toEqual([first, second].sort());
    expect((await index(pki.dir)).filter((row) => row.subject === `/CN=${MAC_B}`).map((row) => row.status)).toEqual(['R', 'R']);

    const twice = await runScript('revoke-cert.sh', [MAC_B], { PKI_DIR: pki.dir });
    expect({ code: twice.code, said: twice.stderr.includes('already revoked') }).toEqual({ code: 0, said: true });
  });

  it('revokes one replaced certificate by its serial, leaving the new one valid', async () => {
    const first = serialOf((await pki.client(MAC_C)).certFile);
    await runScript('clients-certs.sh', ['--force', MAC_C], { PKI_DIR: pki.dir });
    const current = serialOf(path.join(pki.dir, 'client-certs', MAC_C, 'client.crt'));
    const r = await runScript('revoke-cert.sh', ['--serial', first], { PKI_DIR: pki.dir });
    expect(r.code, r.stderr).toBe(0);
    const rows = await index(pki.dir);
    expect(rows.find((row) => row.serial === first)?.status).toBe('R');
    expect(rows.find((row) => row.serial === current)?.status).toBe('V');
  });

  it('refuses what it cannot revoke: an unknown name, the bridge by name, a certificate of another CA', async () => {
    const unknown = await runScript('revoke-cert.sh', ['m5-serre-9'], { PKI_DIR: pki.dir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no certificate of CN=m5-serre-9 .* give its file/);
    const bridge = await runScript('revoke-cert.sh', ['mqtt-bridge'], { PKI_DIR: pki.dir });
    expect(bridge.code).toBe(1);
    expect(bridge.stderr).toContain("the bridge's identity");
    const foreign = await makeForeignCert('AA:BB:CC:00:01:01');
    const other = await runScript('revoke-cert.sh', [foreign.certFile], { PKI_DIR: pki.dir });
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('was not signed by the CA');
    expect((await index(pki.dir)).find((row) => row.subject === '/CN=mqtt-bridge')?.status).toBe('V');
  });
});

describe('a revoked device on the shipped broker, with the bridge running', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await createStack();
    await stack.startBridge();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('is refused at the TLS handshake once the broker reloads; another device and the bridge carry on', async () => {
    const { pki, broker, db } = stack;
    const a = await pki.client(MAC_A);
    const b = await pki.client(MAC_B);
    const deviceA = await connected(broker, a, pki.caFile);
    await readingLands(db, deviceA, 1, 1, 11);
    await deviceA.endAsync();

    const r = await runScript('revoke-cert.sh', [MAC_A], { PKI_DIR: pki.dir });
    expect(r.code, r.stderr).toBe(0);
    await broker.reload();

    expect(await attempt(broker, a, pki.caFile)).toMatchObject({ connected: false, error: { message: expect.stringMatching(REVOKED) } });
    const deviceB = await connected(broker, b, pki.caFile);
    await readingLands(db, deviceB, 1, 2, 22);
    expect(await readingsIn(db, 1, 1)).toEqual([11]);
  });

  it('stays connected through a reload if it was connected; a restart cuts it and it cannot come back', async () => {
    const { pki, broker, db } = stack;
    const c = await pki.client(MAC_C);
    const deviceC = await connected(broker, c, pki.caFile);
    expect((await runScript('revoke-cert.sh', [MAC_C], { PKI_DIR: pki.dir })).code).toBe(0);
    await broker.reload();
    // Mosquitto checks the CRL at the handshake only: what the deployment guide warns about.
    await readingLands(db, deviceC, 2, 1, 33);

    const cut = new Promise<void>((resolve) => deviceC.once('close', () => resolve()));
    await broker.stop();
    await broker.start();
    await cut;
    expect(await attempt(broker, c, pki.caFile)).toMatchObject({ connected: false, error: { message: expect.stringMatching(REVOKED) } });
    // The bridge reconnects on its own and keeps receiving.
    const deviceB = await connected(broker, await pki.client(MAC_B), pki.caFile);
    await readingLands(db, deviceB, 2, 2, 44);
  });
});

describe('an original installation (PKI made by hand, no index, no CRL)', () => {
  let pki: OriginalPki;
  let db: TestDatabase;
  let broker: Broker | undefined;
  let bridge: BridgeProcess | undefined;
  beforeAll(async () => {
    pki = await makeOriginalPki({ revocationList: false });
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await bridge?.stop('SIGKILL');
    await broker?.stop();
    await db?.drop();
  });

  it('the shipped broker does not start without the CRL; the compose pki command makes it and keeps the certificates', async () => {
    await expect(startBroker(pki)).rejects.toThrow(/Unable to load certificate revocation file .*ca\.crl/);

    const before = ['ca.crt', 'server.crt'].map((f) => readFileSync(path.join(pki.serverCerts, f), 'utf8'));
    const pkiDir = path.dirname(pki.serverCerts);
    execFileSync(path.join(REPO_ROOT, 'scripts', 'pki-once.sh'), ['127.0.0.1'], { env: { ...process.env, PKI_DIR: pkiDir }, stdio: 'pipe' });
    expect(['ca.crt', 'server.crt'].map((f) => readFileSync(path.join(pki.serverCerts, f), 'utf8'))).toEqual(before);
    expect(revokedSerials(path.join(pki.serverCerts, 'ca.crl'))).toEqual([]);
    broker = await startBroker(pki);
  });

  it('revokes a device made by hand by its certificate file; the other devices and the bridge carry on', async () => {
    if (!broker) throw new Error('needs the broker of the previous test');
    bridge = await startBridge({
      ...db.env(),
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(broker.port),
      MQTT_CA_FILE: pki.caFile,
      MQTT_CERT_FILE: path.join(pki.clientCerts, 'client.crt'),
      MQTT_KEY_FILE: path.join(pki.clientCerts, 'client.key'),
    });
    const stolen = await pki.client('m5-serre-1');
    const other = await pki.client('m5-serre-2');
    const pkiDir = path.dirname(pki.serverCerts);

    const byName = await runScript('revoke-cert.sh', ['m5-serre-1'], { PKI_DIR: pkiDir });
    expect(byName.code).toBe(1);
    expect(byName.stderr).toContain('give its file');
    const byFile = await runScript('revoke-cert.sh', [stolen.certFile], { PKI_DIR: pkiDir });
    expect(byFile.code, byFile.stderr).toBe(0);
    expect(revokedSerials(path.join(pki.serverCerts, 'ca.crl'))).toEqual([serialOf(stolen.certFile)]);
    await broker.reload();

    expect(await attempt(broker, stolen, pki.caFile)).toMatchObject({ connected: false, error: { message: expect.stringMatching(REVOKED) } });
    const device = await connected(broker, other, pki.caFile);
    await readingLands(db, device, 3, 1, 55);
    expect(await db.count('error')).toBe(0);
  });
});
