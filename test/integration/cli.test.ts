/** The command line as operators use it: configuration errors, migrate, create-db-user. */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, newDataDir } from '../helpers/bridge-process.js';
import { LOCAL_MARIADB } from '../helpers/database.js';
import { createStack } from '../helpers/stack.js';

function run(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, out: result.stdout + result.stderr };
}

describe('configuration', () => {
  it('lists every problem at once, exits non-zero, and never prints a secret', () => {
    const { code, out } = run(['start'], {
      DB_PORT: 'abc',
      LOG_LEVEL: 'VERBOSE',
      MQTT_PORT: '70000',
      MQTT_TLS: 'true',
      MQTT_CA_FILE: '/nonexistent/ca.crt',
      MQTT_PASSWORD: 'mqtt-secret-value',
      TZ: 'Mars/Olympus',
    });
    expect(code).toBe(2);
    for (const problem of ['DB_HOST', 'DB_USER', 'DB_PASSWORD', 'DB_PORT', 'LOG_LEVEL', 'MQTT_PORT', 'MQTT_CA_FILE', 'TZ']) {
      expect(out).toContain(problem);
    }
    expect(out).not.toContain('mqtt-secret-value');
  });

  it('refuses an unknown command', () => {
    const { code, out } = run(['frobnicate'], {});
    expect(code).toBe(2);
    expect(out).toContain('Unknown command');
  });
});

describe('start', () => {
  it('exits 1 instead of staying half-started when HTTP_PORT is taken', async () => {
    const stack = await createStack();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '0.0.0.0', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const { code, out } = run(['start'], { ...stack.bridgeEnv({ HTTP_PORT: String(port), DATA_DIR: newDataDir() }), TZ: 'Europe/Paris' });
      expect(code).toBe(1);
      expect(out).toMatch(/start failed/);
      expect(out).toMatch(/EADDRINUSE/);
    } finally {
      taken.close();
      await stack.close();
    }
  });
});

describe('migrate and the bridge account on an existing SIGACS database', () => {
  const suffix = randomBytes(4).toString('hex');
  const name = `parc_sigacs_${suffix}`;
  const bridgeUser = `pbu_${suffix}`;
  const bridgePassword = randomBytes(12).toString('base64url');
  let admin: mysql.Pool;

  beforeAll(async () => {
    admin = mysql.createPool({ ...LOCAL_MARIADB, database: undefined, connectionLimit: 2, multipleStatements: true });
    await admin.query(`CREATE DATABASE \`${name}\``);
    // The web app's tables, with columns of its own and data the bridge must not touch.
    await admin.query(`
      USE \`${name}\`;
      CREATE TABLE serre (id_serre INT AUTO_INCREMENT PRIMARY KEY, numero INT NOT NULL, nom VARCHAR(50) NOT NULL);
      CREATE TABLE bac (id_bac INT AUTO_INCREMENT PRIMARY KEY, serre INT NOT NULL, numero INT NOT NULL, plante VARCHAR(50));
      CREATE TABLE capteur (id_capteur INT AUTO_INCREMENT PRIMARY KEY, type VARCHAR(64) NOT NULL, valeurMinCapteur FLOAT, valeurMaxCapteur FLOAT, unite VARCHAR(10), description TEXT);
      CREATE TABLE mesure (id_mesure INT AUTO_INCREMENT PRIMARY KEY, bac INT, capteur INT, value FLOAT, mesure_a DATETIME);
      CREATE TABLE controleur (id_controleur VARCHAR(17) PRIMARY KEY, type VARCHAR(20), nom VARCHAR(50) NOT NULL DEFAULT 'controleur', ip VARCHAR(15), status BOOLEAN);
      CREATE TABLE error (id_error INT AUTO_INCREMENT PRIMARY KEY, type_erreur VARCHAR(64), message TEXT, valeur TEXT, erreur_a DATETIME);
      CREATE TABLE utilisateur (id INT PRIMARY KEY, login VARCHAR(50), mot_de_passe VARCHAR(255));
      INSERT INTO serre VALUES (1, 1, 'Serre nord');
      INSERT INTO bac VALUES (1, 1, 1, 'tomates');
      INSERT INTO capteur VALUES (1, 'humiditeAmbiante', 10, 90, '%', 'réglé par le prof'), (7, 'co2', 0, 5000, 'ppm', NULL);
      INSERT INTO mesure VALUES (1, 1, 1, 50, '2025-01-01 10:00:00');
      INSERT INTO controleur VALUES ('24:6F:28:00:00:01', 'M5Stack', 'Serre nord', '192.168.1.2', 1);
      INSERT INTO utilisateur VALUES (1, 'admin', 'hash');
    `);
  });

  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.query('DROP USER IF EXISTS ?@?', [bridgeUser, '%']);
    await admin.end();
  });

  async function checksums(): Promise<string> {
    const tables = ['serre', 'bac', 'capteur', 'mesure', 'controleur', 'error', 'utilisateur'];
    const [rows] = await admin.query<RowDataPacket[]>(`CHECKSUM TABLE ${tables.map((t) => `\`${name}\`.\`${t}\``).join(', ')}`);
    return JSON.stringify(rows);
  }

  async function columns(table: string): Promise<string> {
    const [rows] = await admin.query<RowDataPacket[]>('SELECT column_name, column_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position', [name, table]);
    return JSON.stringify(rows);
  }

  it('changes none of the web app data, adds the bridge tables and only the missing capteurs', async () => {
    const before = await checksums();
    const capteurColumns = await columns('capteur');
    const dbEnv = { DB_HOST: '127.0.0.1', DB_USER: 'root', DB_PASSWORD: '', DB_NAME: name };
    const first = run(['migrate'], dbEnv);
    expect(first.code, first.out).toBe(0);

    const [capteurs] = await admin.query<RowDataPacket[]>(`SELECT id_capteur, type, valeurMinCapteur, description FROM \`${name}\`.capteur ORDER BY id_capteur`);
    // humiditeAmbiante kept with the teacher's bounds; the two missing shipped sensors added.
    expect(capteurs.map((c) => [c.id_capteur, c.type])).toEqual([
      [1, 'humiditeAmbiante'],
      [2, 'humiditeSol'],
      [3, 'temperatureAmbiante'],
      [7, 'co2'],
    ]);
    expect(capteurs[0]!.valeurMinCapteur).toBe(10);
    expect(await columns('capteur')).toBe(capteurColumns);

    // Only capteur changed (two rows added); delete them and every table is as before.
    await admin.query(`DELETE FROM \`${name}\`.capteur WHERE id_capteur IN (2, 3)`);
    expect(await checksums()).toBe(before);
    const [tables] = await admin.query<RowDataPacket[]>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name', [name]);
    expect(tables.map((t) => t.t)).toContain('bridge_journal_position');

    const second = run(['migrate'], dbEnv);
    expect(second.code, second.out).toBe(0);
  });

  it('create-db-user makes an account that can do the bridge job and nothing else', async () => {
    const made = run(['create-db-user'], {
      DB_HOST: '127.0.0.1',
      DB_NAME: name,
      DB_USER: bridgeUser,
      DB_PASSWORD: bridgePassword,
      DB_ADMIN_USER: 'root',
      DB_ADMIN_PASSWORD: '',
    });
    expect(made.code, made.out).toBe(0);
    expect(made.out).not.toContain(bridgePassword);

    const bridgeDb = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: bridgeUser, password: bridgePassword, database: name });
    try {
      await bridgeDb.query('SELECT * FROM serre');
      await bridgeDb.query('SELECT * FROM bac');
      await bridgeDb.query('SELECT * FROM capteur');
      await bridgeDb.query("INSERT INTO mesure (bac, capteur, value, mesure_a) VALUES (1, 1, 20, '2025-01-01 11:00:00')");
      await bridgeDb.query("INSERT INTO error (type_erreur, message, valeur, erreur_a) VALUES ('TEST', 'test', NULL, NOW())");
      await bridgeDb.query("INSERT INTO controleur (id_controleur, ip, status) VALUES ('24:6F:28:00:00:02', '10.0.0.2', 1) ON DUPLICATE KEY UPDATE ip = VALUES(ip), status = VALUES(status)");
      await bridgeDb.query("UPDATE controleur SET status = FALSE WHERE id_controleur = '24:6F:28:00:00:02'");

      await expect(bridgeDb.query('SELECT * FROM utilisateur')).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
      await expect(bridgeDb.query('DROP TABLE mesure')).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
      await expect(bridgeDb.query('DELETE FROM mesure')).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
      await expect(bridgeDb.query('UPDATE serre SET nom = 1')).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
      await expect(bridgeDb.query('CREATE TABLE x (id INT)')).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
    } finally {
      await bridgeDb.end();
    }
  });
});
