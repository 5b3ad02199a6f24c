/**
 * Pure parts of the closed status page: HTTP_HOST / HTTP_TOKEN validation, the Authorization
 * header, what is masked in served text, and where the healthcheck connects.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadBridgeConfig } from '../../src/config.js';
import { presentedSecret, TokenGuard } from '../../src/http/auth.js';
import { localBaseUrl } from '../../src/http/local-address.js';
import { ACCOUNT_MASK, publicDbProblem, redactSecrets } from '../../src/http/redact.js';

type Env = Record<string, string | undefined>;
let dir: string;
let base: Env;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'parc-bridge-http-'));
  base = { DB_HOST: 'db', DB_USER: 'bridge', DB_PASSWORD: 'pw' };
  for (const [name, file] of [['MQTT_CA_FILE', 'ca.crt'], ['MQTT_CERT_FILE', 'client.crt'], ['MQTT_KEY_FILE', 'client.key']] as const) {
    writeFileSync(join(dir, file), 'x');
    base[name] = join(dir, file);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problems(env: Env): string[] {
  try {
    loadBridgeConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const TOKEN = 'k3Y-for-the-greenhouse-team';

describe('HTTP settings', () => {
  it('binds the loopback by default, with no token and /metrics following the token', () => {
    const c = loadBridgeConfig(base);
    expect(c).toMatchObject({ httpHost: '127.0.0.1', httpToken: undefined, httpMetricsAuth: true });
  });

  it('accepts IP addresses and host names, and a token of 16 characters or more', () => {
    for (const host of ['0.0.0.0', '::', '192.168.42.10', 'fd00::5', 'localhost', 'bridge']) {
      expect(loadBridgeConfig({ ...base, HTTP_HOST: host }).httpHost).toBe(host);
    }
    const c = loadBridgeConfig({ ...base, HTTP_TOKEN: TOKEN, HTTP_METRICS_AUTH: 'false' });
    expect(c).toMatchObject({ httpToken: TOKEN, httpMetricsAuth: false });
  });

  it('lists a bad host, a short token and a bad boolean at once, without quoting the token', () => {
    const short = 'tooShort-9';
    const listed = problems({ HTTP_HOST: 'http://0.0.0.0', HTTP_TOKEN: short, HTTP_METRICS_AUTH: 'maybe' });
    expect(listed).toEqual([
      'HTTP_HOST must be an IP address or a host name (e.g. 127.0.0.1 or 0.0.0.0)',
      'HTTP_TOKEN must be at least 16 characters long (e.g. openssl rand -hex 24)',
      'HTTP_METRICS_AUTH must be true or false',
    ]);
    expect(problems({ HTTP_HOST: '300.1.1.1' })).toEqual(['HTTP_HOST is not a valid IPv4 address']);
    const spaced = 'a token with spaces in it';
    const withSpaces = problems({ HTTP_TOKEN: spaced });
    expect(withSpaces).toEqual(['HTTP_TOKEN may only contain printable ASCII characters, without spaces']);
    expect(JSON.stringify([listed, withSpaces])).not.toContain(short);
    expect(JSON.stringify(withSpaces)).not.toContain(spaced);
  });
});

describe('Authorization header', () => {
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const request = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;
  const guard = new TokenGuard(TOKEN);

  it('takes the Bearer token, or the Basic password whatever the user name', () => {
    expect(presentedSecret(`Bearer ${TOKEN}`)).toBe(TOKEN);
    expect(presentedSecret(`bearer ${TOKEN}`)).toBe(TOKEN);
    expect(presentedSecret(basic('serre', 'a:b:c'))).toBe('a:b:c');
    expect(presentedSecret(basic('', TOKEN))).toBe(TOKEN);
    expect(presentedSecret('Digest abc')).toBeUndefined();
    expect(presentedSecret(`Basic ${Buffer.from('no colon').toString('base64')}`)).toBeUndefined();
    expect(presentedSecret(undefined)).toBeUndefined();
  });

  it('allows the token only', () => {
    expect(guard.allows(request(`Bearer ${TOKEN}`))).toBe(true);
    expect(guard.allows(request(basic('n-importe-qui', TOKEN)))).toBe(true);
    expect(guard.allows(request(`Bearer ${TOKEN}x`))).toBe(false);
    expect(guard.allows(request(basic(TOKEN, 'wrong')))).toBe(false);
    expect(guard.allows(request(`Bearer ${TOKEN.slice(0, -1)}`))).toBe(false);
    expect(guard.allows(request())).toBe(false);
    expect(guard.allows(request(''))).toBe(false);
  });
});

describe('redaction of what HTTP serves', () => {
  it('masks the account in MySQL and MariaDB messages', () => {
    const cases = [
      "ER_TABLEACCESS_DENIED_ERROR : INSERT command denied to user 'pb_x'@'localhost' for table `parc`.`mesure`",
      "ER_ACCESS_DENIED_ERROR : Access denied for user 'parc_bridge'@'172.18.0.3' (using password: YES)",
      "ER_DBACCESS_DENIED_ERROR : Access denied for user 'parc_bridge'@'%' to database 'parc'",
      "execute command denied to user `pb`@`10.0.0.%` for routine 'parc.f'",
      "INSERT command denied to user 'parc_bridge'@'loca", // cut by a length limit
      "INSERT command denied to user 'parc_bridge'@",
    ];
    for (const text of cases) {
      const out = redactSecrets(text);
      expect(out, text).toContain(ACCOUNT_MASK);
      expect(out, text).not.toMatch(/pb_x|parc_bridge|pb`|172\.18|localhost|loca$/);
    }
    expect(redactSecrets(cases[0]!)).toBe(`ER_TABLEACCESS_DENIED_ERROR : INSERT command denied to user ${ACCOUNT_MASK} for table \`parc\`.\`mesure\``);
    expect(redactSecrets(cases[1]!)).toContain('(using password: YES)');
  });

  it('masks passwords, and leaves ordinary text and payloads alone', () => {
    expect(redactSecrets("CREATE USER 'u'@'%' IDENTIFIED BY 'hunter2hunter2'")).not.toContain('hunter2');
    expect(redactSecrets('mysql://u:p@h?password=hunter2;x')).toBe(`mysql://${ACCOUNT_MASK}@h?password=[masqué];x`);
  });

  it('masks the account and password of a URL', () => {
    expect(redactSecrets('connect failed: mysql://parc_bridge:s3cr3t@db.lycee.local:3306/parc (ETIMEDOUT)')).toBe(
      `connect failed: mysql://${ACCOUNT_MASK}@db.lycee.local:3306/parc (ETIMEDOUT)`,
    );
    // A password with an unescaped @ or / is masked whole.
    for (const text of ['mariadb://root:p@ss/w@rd@127.0.0.1/parc', "url 'MYSQL://u:hunter2@h'", 'https://hunter2@example.org/x']) {
      const out = redactSecrets(text);
      expect(out, text).toContain(ACCOUNT_MASK);
      expect(out, text).not.toMatch(/hunter2|p@ss|w@rd|root/);
    }
    // A URL without credentials and an e-mail address are left alone.
    for (const text of ['http://127.0.0.1:8080/readyz', 'mailto:serre@lycee.fr', 'voir https://example.org/a?b=c']) {
      expect(redactSecrets(text)).toBe(text);
    }
    for (const text of ['{"humiditeAmbiante":50}', 'contact: serre@lycee.fr', "clé 'x' inconnue", '']) {
      expect(redactSecrets(text)).toBe(text);
    }
  });

  it('serves the database problem redacted, and nothing without one', () => {
    const since = '2025-01-01T00:00:00.000Z';
    expect(publicDbProblem(undefined)).toBeNull();
    expect(publicDbProblem({ cause: "denied to user 'pb'@'h' for table 'mesure'", fix: 'grant it', aFaire: 'accorder le droit', since })).toEqual({
      cause: `denied to user ${ACCOUNT_MASK} for table 'mesure'`,
      fix: 'grant it',
      aFaire: 'accorder le droit',
      since,
    });
  });
});

describe('where the healthcheck connects', () => {
  it('uses the loopback for a wildcard bind and the address itself otherwise', () => {
    expect(localBaseUrl(undefined, 8080)).toBe('http://127.0.0.1:8080');
    expect(localBaseUrl('0.0.0.0', 8080)).toBe('http://127.0.0.1:8080');
    expect(localBaseUrl('::', 8080)).toBe('http://127.0.0.1:8080');
    expect(localBaseUrl('127.0.0.1', 9)).toBe('http://127.0.0.1:9');
    expect(localBaseUrl('192.168.42.10', 8080)).toBe('http://192.168.42.10:8080');
    expect(localBaseUrl('::1', 8080)).toBe('http://[::1]:8080');
  });
});
