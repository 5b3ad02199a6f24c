import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadBridgeConfig, loadDbConfig } from '../../src/config.js';

type Env = Record<string, string | undefined>;

let dir: string;
let certs: Env;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'parc-bridge-config-'));
  certs = {};
  for (const [name, file] of [['MQTT_CA_FILE', 'ca.crt'], ['MQTT_CERT_FILE', 'client.crt'], ['MQTT_KEY_FILE', 'client.key']] as const) {
    const path = join(dir, file);
    writeFileSync(path, '-----BEGIN TEST-----\n');
    certs[name] = path;
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const DB: Env = { DB_HOST: 'db.example', DB_USER: 'bridge', DB_PASSWORD: 'pw' };

/** The minimal valid environment: the database, and certificate files that exist. */
const valid = (extra: Env = {}): Env => ({ ...DB, ...certs, ...extra });

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadBridgeConfig: defaults (DESIGN.md section 6)', () => {
  it('applies every documented default', () => {
    const c = loadBridgeConfig(valid());
    expect(c.db).toEqual({ host: 'db.example', port: 3306, database: 'parc', user: 'bridge', password: 'pw', retryDelayMs: 5000 });
    expect(c.mqtt).toMatchObject({
      host: 'mosquitto',
      port: 8883,
      keepalive: 60,
      username: undefined,
      password: undefined,
      retryDelayMs: 5000,
      clientId: 'mqtt-bridge',
    });
    expect(c.logLevel).toBe('info');
    expect(c.mqtt.tls).toEqual({ caFile: certs.MQTT_CA_FILE, certFile: certs.MQTT_CERT_FILE, keyFile: certs.MQTT_KEY_FILE });
    expect(typeof c.dataDir).toBe('string');
    expect(c.dataDir.length).toBeGreaterThan(0);
    expect(Number.isInteger(c.httpPort)).toBe(true);
    expect(c.timeZone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  });

  it('turns TLS on by default, with the files under /certs', { skip: existsSync('/certs') }, () => {
    const err = configError(() => loadBridgeConfig(DB));
    expect(err.problems).toEqual([
      'MQTT_CA_FILE cannot be read: /certs/ca.crt',
      'MQTT_CERT_FILE cannot be read: /certs/client.crt',
      'MQTT_KEY_FILE cannot be read: /certs/client.key',
    ]);
  });

  it('treats empty strings as unset, as docker-compose env files do', () => {
    const c = loadBridgeConfig(valid({ DB_PORT: '', DB_NAME: '', MQTT_HOST: '', MQTT_PORT: '', LOG_LEVEL: '', MQTT_USER: '', MQTT_PASSWORD: '', TZ: '' }));
    expect(c.db.port).toBe(3306);
    expect(c.db.database).toBe('parc');
    expect(c.mqtt.host).toBe('mosquitto');
    expect(c.mqtt.port).toBe(8883);
    expect(c.logLevel).toBe('info');
    expect(c.mqtt.username).toBeUndefined();
    expect(c.mqtt.password).toBeUndefined();
  });

  it('accepts an empty DB_PASSWORD but not a missing one', () => {
    expect(loadBridgeConfig(valid({ DB_PASSWORD: '' })).db.password).toBe('');
    const err = configError(() => loadBridgeConfig(valid({ DB_PASSWORD: undefined })));
    expect(err.problems).toEqual(['DB_PASSWORD is required']);
  });
});

describe('loadBridgeConfig: values', () => {
  it('reads every documented variable', () => {
    const c = loadBridgeConfig(
      valid({
        DB_PORT: '3307',
        DB_NAME: 'parc_test',
        DB_RETRY_DELAY: '2.5',
        MQTT_HOST: 'broker.local',
        MQTT_PORT: '1883',
        MQTT_KEEPALIVE: '30',
        MQTT_USER: 'bridge',
        MQTT_PASSWORD: 'mqtt-pw',
        MQTT_RETRY_DELAY: '1',
        MQTT_CLIENT_ID: 'bridge-2',
        DATA_DIR: '/var/lib/parc-bridge',
        HTTP_PORT: '9100',
        TZ: 'Europe/Paris',
        LOG_LEVEL: 'DEBUG',
      }),
    );
    expect(c.db).toEqual({ host: 'db.example', port: 3307, database: 'parc_test', user: 'bridge', password: 'pw', retryDelayMs: 2500 });
    expect(c.mqtt).toMatchObject({
      host: 'broker.local',
      port: 1883,
      keepalive: 30,
      username: 'bridge',
      password: 'mqtt-pw',
      retryDelayMs: 1000,
      clientId: 'bridge-2',
    });
    expect(c.dataDir).toBe('/var/lib/parc-bridge');
    expect(c.httpPort).toBe(9100);
    expect(c.timeZone).toBe('Europe/Paris');
    expect(c.logLevel).toBe('debug');
  });

  it('accepts HTTP_PORT 0 (off)', () => {
    expect(loadBridgeConfig(valid({ HTTP_PORT: '0' })).httpPort).toBe(0);
  });

  it('keeps committed entries 72 h and 1 GiB by default, and reads JOURNAL_RETAIN as a duration', () => {
    const c = loadBridgeConfig(valid());
    expect([c.journalRetainMs, c.journalRetainBytes]).toEqual([72 * 3_600_000, 1024 ** 3]);
    const retain = (v: string) => loadBridgeConfig(valid({ JOURNAL_RETAIN: v })).journalRetainMs;
    expect([retain('3d'), retain('36h'), retain('90m'), retain('45s'), retain('600'), retain('0'), retain('1.5h')]).toEqual([
      3 * 86_400_000,
      36 * 3_600_000,
      90 * 60_000,
      45_000,
      600_000,
      0,
      5_400_000,
    ]);
    const err = configError(() => loadBridgeConfig(valid({ JOURNAL_RETAIN: 'a week', JOURNAL_RETAIN_BYTES: '-1' })));
    expect(err.problems).toEqual([
      'JOURNAL_RETAIN must be a duration such as 72h, 3d, 30m or a number of seconds',
      'JOURNAL_RETAIN_BYTES must be at least 0',
    ]);
  });

  it('trims whitespace around numbers', () => {
    expect(loadBridgeConfig(valid({ DB_PORT: ' 3308 ' })).db.port).toBe(3308);
  });

  it('replaces {hostname} in MQTT_CLIENT_ID', () => {
    expect(loadBridgeConfig(valid({ MQTT_CLIENT_ID: 'bridge-{hostname}' })).mqtt.clientId).toBe(`bridge-${hostname()}`);
  });

  it.each([
    ['DEBUG', 'debug'],
    ['INFO', 'info'],
    ['WARNING', 'warn'],
    ['ERROR', 'error'],
  ])('maps LOG_LEVEL=%s to the logger level %s', (level, expected) => {
    expect(loadBridgeConfig(valid({ LOG_LEVEL: level })).logLevel).toBe(expected);
  });

  it.each([
    ['info', 'info'],
    [' Warning ', 'warn'],
  ])('accepts LOG_LEVEL=%s in any case', (level, expected) => {
    expect(loadBridgeConfig(valid({ LOG_LEVEL: level })).logLevel).toBe(expected);
  });

  it.each(['VERBOSE', 'TRACE', 'WARN', 'FATAL', '5'])('rejects LOG_LEVEL=%s', (level) => {
    const err = configError(() => loadBridgeConfig(valid({ LOG_LEVEL: level })));
    expect(err.problems).toEqual(['LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR']);
  });

  it.each([
    ['DB_PORT', 'abc', 'DB_PORT must be a whole number'],
    ['DB_PORT', '3306.5', 'DB_PORT must be a whole number'],
    ['DB_PORT', '0', 'DB_PORT must be at least 1'],
    ['DB_PORT', '65536', 'DB_PORT must be at most 65535'],
    ['MQTT_PORT', '-1', 'MQTT_PORT must be at least 1'],
    ['MQTT_PORT', '8883x', 'MQTT_PORT must be a whole number'],
    ['HTTP_PORT', '70000', 'HTTP_PORT must be at most 65535'],
    ['MQTT_KEEPALIVE', 'soixante', 'MQTT_KEEPALIVE must be a whole number'],
    ['DB_RETRY_DELAY', 'five', 'DB_RETRY_DELAY must be a number of seconds'],
    ['DB_RETRY_DELAY', '-1', 'DB_RETRY_DELAY must be a number of seconds'],
    ['MQTT_RETRY_DELAY', '61', 'MQTT_RETRY_DELAY must be at most 60'],
    ['MQTT_TLS', 'maybe', 'MQTT_TLS must be true or false'],
    ['DB_HOST', '   ', 'DB_HOST must not be empty'],
  ])('rejects %s=%j', (name, value, problem) => {
    const err = configError(() => loadBridgeConfig(valid({ [name]: value })));
    expect(err.problems).toEqual([problem]);
  });
});

describe('loadBridgeConfig: every problem at once', () => {
  it('lists missing DB_HOST, DB_USER, DB_PASSWORD, a bad port and a bad LOG_LEVEL together', () => {
    const err = configError(() => loadBridgeConfig({ ...certs, DB_PORT: 'abc', LOG_LEVEL: 'LOUD' }));
    expect(err.problems).toHaveLength(5);
    expect(err.problems).toEqual(
      expect.arrayContaining([
        'DB_HOST is required',
        'DB_USER is required',
        'DB_PASSWORD is required',
        'DB_PORT must be a whole number',
        'LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR',
      ]),
    );
    for (const p of err.problems) expect(err.message).toContain(p);
    expect(err.message.startsWith('Invalid configuration')).toBe(true);
    expect(err.name).toBe('ConfigError');
    expect(err).toBeInstanceOf(Error);
  });

  it('lists unreadable certificate files together with the other problems', () => {
    const missing = join(dir, 'nope.crt');
    const err = configError(() =>
      loadBridgeConfig({ ...DB, ...certs, DB_HOST: undefined, MQTT_PORT: '99999', MQTT_CA_FILE: missing, TZ: 'Nowhere/Land' }),
    );
    expect(err.problems).toEqual(
      expect.arrayContaining([
        'DB_HOST is required',
        'MQTT_PORT must be at most 65535',
        expect.stringMatching(/^TZ /),
        `MQTT_CA_FILE cannot be read: ${missing}`,
      ]),
    );
    expect(err.problems).toHaveLength(4);
  });
});

describe('loadBridgeConfig: TLS files', () => {
  it('reports each unreadable certificate file with its path', () => {
    const err = configError(() =>
      loadBridgeConfig({
        ...DB,
        MQTT_CA_FILE: join(dir, 'missing-ca.crt'),
        MQTT_CERT_FILE: certs.MQTT_CERT_FILE,
        MQTT_KEY_FILE: join(dir, 'missing', 'client.key'),
      }),
    );
    expect(err.problems).toEqual([
      `MQTT_CA_FILE cannot be read: ${join(dir, 'missing-ca.crt')}`,
      `MQTT_KEY_FILE cannot be read: ${join(dir, 'missing', 'client.key')}`,
    ]);
  });

  it.each(['false', 'FALSE', ' false ', '0', 'no'])('skips the certificate checks when MQTT_TLS=%j', (tls) => {
    const c = loadBridgeConfig({ ...DB, MQTT_TLS: tls, MQTT_CA_FILE: '/does/not/exist', MQTT_CERT_FILE: '/nor/this', MQTT_KEY_FILE: '/nor/that' });
    expect(c.mqtt.tls).toBeUndefined();
  });

  it.each(['true', 'TRUE', '1', 'yes'])('checks the certificate files when MQTT_TLS=%j', (tls) => {
    const err = configError(() => loadBridgeConfig({ ...DB, MQTT_TLS: tls, ...certs, MQTT_KEY_FILE: '/does/not/exist' }));
    expect(err.problems).toEqual(['MQTT_KEY_FILE cannot be read: /does/not/exist']);
    expect(loadBridgeConfig({ ...DB, MQTT_TLS: tls, ...certs }).mqtt.tls).toBeDefined();
  });
});

describe('loadBridgeConfig: TZ', () => {
  it.each(['Europe/Paris', 'UTC', 'America/Martinique', 'Indian/Reunion'])('accepts %s', (tz) => {
    expect(loadBridgeConfig(valid({ TZ: tz })).timeZone).toBe(tz);
  });

  it.each(['Europe/Pariss', 'Nowhere/Land', 'not a zone'])('rejects %j', (tz) => {
    const err = configError(() => loadBridgeConfig(valid({ TZ: tz })));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^TZ is not a known IANA time zone/);
  });
});

describe('secrets', () => {
  const DB_SECRET = 'S3cr3t-DB-p@ss';
  const MQTT_SECRET = 'S3cr3t-MQTT-p@ss';

  it('never appear in a ConfigError, whatever else is wrong', () => {
    const envs: Env[] = [
      { DB_PASSWORD: DB_SECRET, MQTT_PASSWORD: MQTT_SECRET, DB_PORT: 'x', LOG_LEVEL: 'x', MQTT_TLS: 'x', TZ: 'x/y' },
      { ...DB, DB_PASSWORD: DB_SECRET, MQTT_PASSWORD: MQTT_SECRET, MQTT_USER: 'u', MQTT_CA_FILE: '/nope' },
      { ...DB, DB_PASSWORD: DB_SECRET, MQTT_PASSWORD: MQTT_SECRET, MQTT_KEEPALIVE: '1', HTTP_PORT: '-5', MQTT_TLS: 'false' },
    ];
    for (const env of envs) {
      const err = configError(() => loadBridgeConfig(env));
      expect(err.problems.length).toBeGreaterThan(0);
      const everything = `${err.message}\n${err.problems.join('\n')}\n${err.stack ?? ''}\n${JSON.stringify(err)}`;
      expect(everything).not.toContain(DB_SECRET);
      expect(everything).not.toContain(MQTT_SECRET);
    }
  });

  it('never appear in a ConfigError of loadDbConfig', () => {
    const err = configError(() => loadDbConfig({ DB_PASSWORD: DB_SECRET, DB_PORT: 'nope' }));
    expect(`${err.message}\n${err.stack ?? ''}`).not.toContain(DB_SECRET);
  });
});

describe('loadDbConfig', () => {
  it('reads only what the database commands need, with the same defaults', () => {
    const c = loadDbConfig({ ...DB, TZ: 'Europe/Paris', LOG_LEVEL: 'WARNING' });
    expect(c).toEqual({
      logLevel: 'warn',
      timeZone: 'Europe/Paris',
      db: { host: 'db.example', port: 3306, database: 'parc', user: 'bridge', password: 'pw', retryDelayMs: 5000 },
      schools: [],
    });
  });

  it('does not check MQTT settings nor certificate files', () => {
    expect(() => loadDbConfig({ ...DB, MQTT_TLS: 'true', MQTT_CA_FILE: '/does/not/exist', MQTT_PORT: 'abc' })).not.toThrow();
  });

  it('lists every problem at once', () => {
    const err = configError(() => loadDbConfig({ DB_PORT: '65536', LOG_LEVEL: 'chatty' }));
    expect(err.problems).toEqual(
      expect.arrayContaining([
        'DB_HOST is required',
        'DB_USER is required',
        'DB_PASSWORD is required',
        'DB_PORT must be at most 65535',
        'LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR',
      ]),
    );
    expect(err.problems).toHaveLength(5);
  });
});

describe('MQTT credentials', () => {
  it('refuses a password without a user name', async () => {
    const { loadBridgeConfig, ConfigError } = await import('../../src/config.js');
    const env = { DB_HOST: 'h', DB_USER: 'u', DB_PASSWORD: 'p', MQTT_TLS: 'false', MQTT_PASSWORD: 'secret-value' };
    let error: unknown;
    try {
      loadBridgeConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as InstanceType<typeof ConfigError>).problems).toEqual(['MQTT_PASSWORD is set but MQTT_USER is not (set both or neither)']);
    expect(String((error as Error).message)).not.toContain('secret-value');
  });
});

describe('SCHOOLS (docs/schools.md)', () => {
  it('is off by default: one database, no school', () => {
    expect(loadBridgeConfig(valid()).schools).toEqual([]);
    expect(loadBridgeConfig(valid({ SCHOOLS: '' })).schools).toEqual([]);
  });

  it('reads the ids in order, with the database template', () => {
    const c = loadBridgeConfig(valid({ SCHOOLS: ' ecole-1, lycee-agricole-2 ,ecole-3,', DB_NAME: 'parc_{ecole}' }));
    expect(c.schools).toEqual(['ecole-1', 'lycee-agricole-2', 'ecole-3']);
    expect(c.db.database).toBe('parc_{ecole}');
    expect(loadDbConfig({ ...DB, SCHOOLS: 'ecole-1', DB_NAME: 'parc_{ecole}' }).schools).toEqual(['ecole-1']);
  });

  it('lists every problem at once: bad ids, a duplicate, DB_NAME without {ecole}, and the other settings', () => {
    const err = configError(() => loadBridgeConfig(valid({ SCHOOLS: 'ecole-1,Ecole_2,ecole-1,' + 'x'.repeat(33), MQTT_PORT: 'abc' })));
    expect(err.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^SCHOOLS: "Ecole_2" is not a school id/),
        expect.stringMatching(/^SCHOOLS: "x{33}" is not a school id/),
        'SCHOOLS lists ecole-1 twice',
        expect.stringMatching(/^DB_NAME must contain \{ecole\} when SCHOOLS is set/),
        expect.stringMatching(/^MQTT_PORT/),
      ]),
    );
    expect(err.problems).toHaveLength(5);
  });

  it('refuses {ecole} without SCHOOLS, in the bridge and the database commands', () => {
    const problem = expect.stringMatching(/^DB_NAME contains \{ecole\} but SCHOOLS is not set/);
    expect(configError(() => loadBridgeConfig(valid({ DB_NAME: 'parc_{ecole}' }))).problems).toEqual([problem]);
    expect(configError(() => loadDbConfig({ ...DB, DB_NAME: 'parc_{ecole}' })).problems).toEqual([problem]);
  });

  it('refuses database names MySQL would refuse, and {slot} (schools are partitioned, not slotted)', () => {
    const err = configError(() => loadBridgeConfig(valid({ SCHOOLS: 'ecole-1,' + 'a'.repeat(32), DB_NAME: 'parc_des_serres_de_la_region_occitanie_{ecole}', MQTT_CLIENT_ID: 'bridge-{slot}' })));
    expect(err.problems).toEqual([
      `DB_NAME gives database names longer than 64 characters for ${'a'.repeat(32)}`,
      expect.stringMatching(/^MQTT_CLIENT_ID with \{slot\} cannot be used with SCHOOLS/),
    ]);
  });
});
