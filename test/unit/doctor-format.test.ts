/** The doctor's pure parts: how lines look, which config sections survive, schema and fixes. */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerFix, brokerResults, qosResult } from '../../src/ops/doctor/broker-checks.js';
import { CheckTimeout, errorText, exitCode, fail, formatResult, ok, redact, skip, summarize, warn, withTimeout } from '../../src/ops/doctor/check.js';
import { checkDataDir, formatBytes } from '../../src/ops/doctor/data-dir-check.js';
import { missingSchema, schemaResult } from '../../src/ops/doctor/db-checks.js';
import { problemVariable, readPartialConfig } from '../../src/ops/doctor/partial-config.js';
import { REQUIRED_COLUMNS } from '../../src/db/schema.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'parc-doctor-unit-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('lines', () => {
  it('puts the symbol first, then what was checked, then what to do on failure only', () => {
    expect(formatResult(ok('Database connection', 'connected'))).toBe('✔ Database connection: connected');
    expect(formatResult(fail('DATA_DIR', '/x is not a directory', 'set DATA_DIR to a folder'))).toBe('✘ DATA_DIR: /x is not a directory → set DATA_DIR to a folder');
    expect(formatResult(warn('CA', 'expires in 3 day(s)', 'renew it'))).toBe('⚠ CA: expires in 3 day(s) → renew it');
    expect(formatResult(skip('Database schema', 'needs the database connection'))).toBe('- Database schema: skipped: needs the database connection');
  });

  it('keeps multi-line driver errors on one line', () => {
    expect(formatResult(fail('X', 'first\n   second', 'fix'))).toBe('✘ X: first second → fix');
  });

  it('fails the run only on a failed check; warnings and skips do not', () => {
    expect(exitCode([ok('a', ''), warn('b', '', ''), skip('c', '')])).toBe(0);
    expect(exitCode([ok('a', ''), fail('b', '', '')])).toBe(1);
    expect(summarize([ok('a', ''), warn('b', '', '')])).toBe('All checks passed (1 passed, 0 failed, 1 warning(s)).');
    expect(summarize([ok('a', ''), fail('b', '', ''), skip('c', '')])).toBe('Some checks failed (1 passed, 1 failed, 0 warning(s), 1 skipped).');
  });

  it('masks secrets that a driver might echo, but not tiny values', () => {
    expect(redact("Access denied for 'bridge' using s3cret-pw", ['s3cret-pw', undefined])).toBe("Access denied for 'bridge' using [redacted]");
    expect(redact('a b c', ['a'])).toBe('a b c');
  });

  it('reduces OpenSSL error strings to their reason and keeps the code', () => {
    const err = Object.assign(
      new Error('80DCCA8A5A7F0000:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 48'),
      { code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' },
    );
    expect(errorText(err)).toBe('tlsv1 alert unknown ca (ERR_SSL_TLSV1_ALERT_UNKNOWN_CA)');
    expect(errorText(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('connect ECONNREFUSED 127.0.0.1:1');
  });

  it('turns a late answer into a timeout and releases what it holds', async () => {
    let released = false;
    const never = new Promise<never>(() => undefined);
    await expect(withTimeout(never, 10, () => (released = true))).rejects.toBeInstanceOf(CheckTimeout);
    expect(released).toBe(true);
    await expect(withTimeout(Promise.resolve(7), 1_000)).resolves.toBe(7);
  });
});

describe('partial configuration', () => {
  const base = { DB_HOST: 'db', DB_USER: 'bridge', DB_PASSWORD: 'pw', MQTT_TLS: 'false' };

  it('names the variable of each problem', () => {
    expect(problemVariable('DB_PORT must be a whole number')).toBe('DB_PORT');
    expect(problemVariable('MQTT_CA_FILE cannot be read: /certs/ca.crt')).toBe('MQTT_CA_FILE');
    expect(problemVariable('environment is broken')).toBeUndefined();
  });

  it('reads everything from a valid environment', () => {
    const config = readPartialConfig(base);
    expect(config.problems).toEqual([]);
    expect(config.db?.host).toBe('db');
    expect(config.mqtt?.host).toBe('mosquitto');
    expect(config.dataDir).toBe('./data');
  });

  it('still reads the broker side when the database settings are broken', () => {
    const config = readPartialConfig({ MQTT_TLS: 'false', DB_PORT: 'abc', MQTT_HOST: 'broker.lan' });
    expect(config.problems.join('\n')).toMatch(/DB_HOST[\s\S]*DB_PORT/);
    expect(config.db).toBeUndefined();
    expect(config.mqtt?.host).toBe('broker.lan');
    expect(config.dataDir).toBe('./data');
  });

  it('still reads the database side when the broker settings are broken', () => {
    const config = readPartialConfig({ ...base, MQTT_PORT: '70000', DATA_DIR: '/var/lib/parc' });
    expect(config.problems).toEqual(['MQTT_PORT must be at most 65535']);
    expect(config.db?.user).toBe('bridge');
    expect(config.mqtt).toBeUndefined();
    expect(config.dataDir).toBe('/var/lib/parc');
  });

  it('does not let an unrelated bad setting hide the others', () => {
    const config = readPartialConfig({ ...base, LOG_LEVEL: 'LOUD' });
    expect(config.problems).toHaveLength(1);
    expect(config.db).toBeDefined();
    expect(config.mqtt).toBeDefined();
  });

  it('reports certificate files that cannot be read and skips only the broker side', () => {
    const config = readPartialConfig({ ...base, MQTT_TLS: 'true', MQTT_CA_FILE: join(dir, 'none.crt') });
    expect(config.problems.some((p) => p.startsWith('MQTT_CA_FILE cannot be read'))).toBe(true);
    expect(config.db).toBeDefined();
    expect(config.mqtt).toBeUndefined();
  });
});

describe('schema', () => {
  const everything = Object.entries(REQUIRED_COLUMNS).flatMap(([table, columns]) => columns.map((column) => ({ table, column })));

  it('passes when every table and column is there, whatever the case of column names', () => {
    const present = everything.map((c) => ({ ...c, column: c.column.toUpperCase() }));
    expect(missingSchema(REQUIRED_COLUMNS, present)).toEqual({ tables: [], columns: [] });
    expect(formatResult(schemaResult({ tables: [], columns: [] }, REQUIRED_COLUMNS))).toMatch(new RegExp(`^✔ Database schema: all ${Object.keys(REQUIRED_COLUMNS).length} tables`));
  });

  it('lists missing tables and columns and says how to fix each', () => {
    const present = everything.filter((c) => c.table !== 'bridge_controleur_event' && !(c.table === 'mesure' && c.column === 'mesure_a'));
    const missing = missingSchema(REQUIRED_COLUMNS, [...present, { table: 'other', column: 'x' }]);
    expect(missing).toEqual({ tables: ['bridge_controleur_event'], columns: ['mesure.mesure_a'] });
    const line = formatResult(schemaResult(missing, REQUIRED_COLUMNS));
    expect(line).toMatch(/^✘ Database schema: missing table\(s\) bridge_controleur_event; missing column\(s\) mesure\.mesure_a → run `npm run migrate`/);
    expect(line).toContain('does not alter existing tables');
  });
});

describe('broker lines', () => {
  const target = { host: 'mosquitto', port: 8883, tls: true, clientId: 'mqtt-bridge-doctor', identity: 'mqtt-bridge', qosProbeTopic: 'parc-bridge/doctor/mqtt-bridge-doctor' };
  const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:8883'), { code: 'ECONNREFUSED', syscall: 'connect' });

  it('says what to do for each way of failing', () => {
    expect(brokerFix('connect', refused)).toContain('is Mosquitto running?');
    expect(brokerFix('connect', Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }))).toContain('MQTT_HOST does not resolve');
    expect(brokerFix('tls', Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }))).toContain('not signed by MQTT_CA_FILE');
    expect(brokerFix('tls', Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }))).toContain('server-certs.sh');
    expect(brokerFix('tls', Object.assign(new Error('sslv3 alert certificate expired'), { code: 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED' }))).toContain('refused the bridge');
    expect(brokerFix('mqtt', new Error('Connection refused: Not authorized'))).toContain('ACL');
    expect(brokerFix('mqtt', new Error('Username is required to use password'))).toContain('MQTT_PASSWORD is set without MQTT_USER');
    expect(brokerFix('connect', new CheckTimeout(5000))).toContain('did not answer in time');
  });

  it('skips what depends on a connection that failed', () => {
    const lines = brokerResults(target, { failure: { phase: 'connect', error: refused } }, Date.now()).map(formatResult);
    expect(lines).toEqual([
      expect.stringMatching(/^✘ Broker TLS handshake: cannot reach mosquitto:8883: connect ECONNREFUSED/),
      '- Broker certificate SAN: skipped: no broker certificate was received',
      '- MQTT CONNECT: skipped: needs a working TLS connection',
      '- Broker QoS to the bridge: skipped: needs an MQTT connection',
    ]);
  });

  it('warns about plain MQTT and still reports the CONNECT', () => {
    const lines = brokerResults({ ...target, tls: false }, { connack: { sessionPresent: false } }, Date.now()).map(formatResult);
    expect(lines[0]).toMatch(/^⚠ Broker TLS handshake: MQTT_TLS=false/);
    expect(lines[2]).toMatch(/^✔ MQTT CONNECT: the broker accepted certificate CN=mqtt-bridge .*client id mqtt-bridge-doctor/);
  });

  it('says whether the broker delivers a QoS 0 publication at QoS 1 to the bridge', () => {
    const qosLine = (qosProbe: NonNullable<Parameters<typeof qosResult>[1]['qosProbe']>) =>
      formatResult(qosResult(target, { connack: { sessionPresent: false }, qosProbe }));
    expect(qosLine({ deliveredQos: 1 })).toMatch(/^✔ Broker QoS to the bridge: .*at QoS 1/);
    expect(qosLine({ deliveredQos: 0 })).toMatch(/^⚠ Broker QoS to the bridge: .*at QoS 0: .*lost at every bridge restart → add "upgrade_outgoing_qos true"/);
    expect(qosLine({ deliveredQos: undefined })).toMatch(/^⚠ .*did not come back; the broker's ACL probably does not let CN=mqtt-bridge .*→ add "topic readwrite parc-bridge\/doctor\/#" under "user mqtt-bridge"/);
  });
});

describe('DATA_DIR', () => {
  it('passes on a writable folder and reports the journal size without opening it', async () => {
    const data = join(dir, 'data');
    mkdirSync(data);
    expect(formatResult(await checkDataDir(data))).toMatch(/^✔ DATA_DIR: .* is writable; no journal yet$/);
    writeFileSync(join(data, 'journal.sqlite'), Buffer.alloc(3 * 1024 * 1024));
    writeFileSync(join(data, 'journal.sqlite-wal'), Buffer.alloc(512 * 1024));
    expect(formatResult(await checkDataDir(data))).toMatch(/journal\.sqlite holds 3\.5 MiB$/);
  });

  it('finds the journals of slot-N folders (MQTT_CLIENT_ID with {slot})', async () => {
    const data = join(dir, 'scaled');
    for (const slot of ['slot-1', 'slot-2']) {
      mkdirSync(join(data, slot), { recursive: true });
      writeFileSync(join(data, slot, 'journal.sqlite'), Buffer.alloc(1024 * 1024));
    }
    expect(formatResult(await checkDataDir(data))).toMatch(/the journals of slot-1, slot-2 hold 2\.0 MiB$/);
  });

  it('accepts a folder the bridge will create, and refuses one under a file', async () => {
    expect(formatResult(await checkDataDir(join(dir, 'new', 'deeper')))).toMatch(/^✔ DATA_DIR: .*deeper does not exist yet; the bridge will create it/);
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    expect(formatResult(await checkDataDir(join(file, 'data')))).toMatch(/^✘ DATA_DIR: .*file\/data cannot be created: .*file is a file, not a folder/);
    expect(formatResult(await checkDataDir(file))).toMatch(/^✘ DATA_DIR: .*file is not a directory/);
  });

  it('prints sizes for people', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.0 GiB');
  });
});
