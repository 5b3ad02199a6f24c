/**
 * The closed status page against a real running bridge (mTLS Mosquitto, MariaDB): with
 * HTTP_TOKEN the page, /api/status and /metrics answer 401 without the token and 200 with it as
 * Bearer or as a Basic password (also in a real browser); /healthz and /readyz stay open; bound to
 * 127.0.0.1 (the default) the server cannot be reached on the machine's other address; while a
 * grant is missing, /readyz and /api/status say what to fix without naming the database account.
 */
import { spawnSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import type { RowDataPacket } from 'mysql2';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_MASK } from '../../src/http/redact.js';
import type { StatusSnapshot } from '../../src/status/status-service.js';
import { CLI, healthcheck, newDataDir, type BridgeProcess } from '../helpers/bridge-process.js';
import { publishAsync } from '../helpers/readings.js';
import { createStack, type Stack } from '../helpers/stack.js';
import { launchChromium } from '../helpers/browser.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'serres-du-lycee-7f3a9c21d4';
const PROTECTED = ['/', '/api/status', '/metrics'];

/** One of this machine's own non-loopback IPv4 addresses, if it has one. */
const otherAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && !a.internal && a.family === 'IPv4')?.address;

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

let stack: Stack;
let bridge: BridgeProcess;
let base: string;

async function get(path: string, headers: Record<string, string> = {}, origin = base) {
  const res = await fetch(`${origin}${path}`, { headers, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** The failure's cause (ECONNREFUSED…) when the request cannot connect at all. */
async function connectError(url: string): Promise<string> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return 'connected';
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return cause?.code ?? String(err);
  }
}

beforeAll(async () => {
  stack = await createStack();
  bridge = await stack.startBridge({ HTTP_TOKEN: TOKEN });
  base = `http://127.0.0.1:${bridge.httpPort}`;
});

afterAll(async () => {
  await stack?.close();
});

describe('with HTTP_TOKEN', () => {
  it('answers 401 without the token or with a wrong one, asking a browser for it', async () => {
    for (const path of PROTECTED) {
      for (const headers of [{}, bearer('not-the-token-at-all'), bearer(`${TOKEN}x`), basic(TOKEN, 'wrong-password-here'), { authorization: TOKEN }]) {
        const res = await get(path, headers);
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Basic realm="parc-bridge", charset="UTF-8"');
        expect(res.body).not.toContain('clientId');
      }
    }
  });

  it('serves the page, /api/status and /metrics with the token as Bearer or as a Basic password', async () => {
    for (const headers of [bearer(TOKEN), basic('equipe-serre', TOKEN), basic('', TOKEN)]) {
      const page = await get('/', headers);
      expect(page.status).toBe(200);
      expect(page.body).toContain('État du pont MQTT → MySQL');
      const api = await get('/api/status', headers);
      expect(api.status).toBe(200);
      expect((JSON.parse(api.body) as StatusSnapshot).clientId).toBe(bridge.env.MQTT_CLIENT_ID);
      const metrics = await get('/metrics', headers);
      expect(metrics.status).toBe(200);
      expect(metrics.body).toMatch(/^parc_bridge_ready 1$/m);
    }
  });

  it('keeps /healthz and /readyz open, for the healthcheck and orchestrators', async () => {
    expect((await get('/healthz')).status).toBe(200);
    const readyz = await get('/readyz');
    expect(readyz.status).toBe(200);
    expect(JSON.parse(readyz.body)).toEqual({ ready: true, mqtt: true, db: true, journalUnderBudget: true });
    expect(healthcheck(bridge.httpPort)).toBe(0);
  });

  it('never logs the token, and says the page is closed', () => {
    const listening = bridge.logLines().find((l) => l.msg === 'http server listening (/healthz, /readyz, /metrics, /)');
    expect(listening).toMatchObject({ host: '127.0.0.1', port: bridge.httpPort, auth: 'token for /, /api/status, /metrics' });
    expect(bridge.logs()).not.toContain(TOKEN);
  });

  it('opens the page in a browser that gives the token as password', async () => {
    const browser: Browser = await launchChromium();
    try {
      // Without credentials to give, the browser cannot get past the server's challenge.
      const anonymous = await browser.newContext();
      await expect((await anonymous.newPage()).goto(`${base}/`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
      await anonymous.close();

      const team = await browser.newContext({ httpCredentials: { username: 'equipe', password: TOKEN } });
      const page = await team.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      expect((await page.goto(`${base}/`))?.status()).toBe(200);
      // The page's own fetch of /api/status goes through with the same credentials.
      await waitFor('first refresh', async () => (await page.locator('#broker-badge').innerText()) === 'Connecté', 15_000);
      expect(await page.locator('#overall').innerText()).toBe('Tout fonctionne : les mesures arrivent dans la base.');
      expect(errors).toEqual([]);
      await team.close();
    } finally {
      await browser.close();
    }
  });
});

describe('HTTP_HOST', () => {
  it.skipIf(!otherAddress)('bound to 127.0.0.1 by default: refused on the machine\'s other address', async () => {
    expect(await connectError(`http://${otherAddress}:${bridge.httpPort}/healthz`)).toBe('ECONNREFUSED');
    expect((await get('/healthz')).status).toBe(200);
  });
  if (!otherAddress) console.log('http-security: this machine has no non-loopback IPv4 address; the reachability checks are skipped');

  it('bound to 0.0.0.0 with HTTP_METRICS_AUTH=false: reachable on every address, /metrics open, the page still closed', async () => {
    // A second bridge on its own client id and journal, stopped before anything is published.
    const open = await stack.startBridge({ HTTP_HOST: '0.0.0.0', HTTP_TOKEN: TOKEN, HTTP_METRICS_AUTH: 'false', MQTT_CLIENT_ID: `${bridge.env.MQTT_CLIENT_ID}-open`, DATA_DIR: newDataDir() });
    try {
      const origin = `http://${otherAddress ?? '127.0.0.1'}:${open.httpPort}`;
      expect((await get('/metrics', {}, origin)).status).toBe(200);
      expect((await get('/api/status', {}, origin)).status).toBe(401);
      expect((await get('/api/status', bearer(TOKEN), origin)).status).toBe(200);
      // The image's HEALTHCHECK with HTTP_HOST=0.0.0.0 asks the loopback.
      const check = spawnSync(process.execPath, [CLI, 'healthcheck'], { env: { PATH: process.env.PATH ?? '', HTTP_PORT: String(open.httpPort), HTTP_HOST: '0.0.0.0' }, timeout: 30_000 });
      expect(check.status).toBe(0);
    } finally {
      expect(await open.stop()).toBe(0);
    }
  });
});

describe('a grant missing', () => {
  it('shows what to fix in /readyz and /api/status without the database account', async () => {
    const user = stack.db.bridgeUser;
    const device = await stack.device('24:6F:28:00:5E:01');
    await publishAsync(device, 'serre/1/bac/1', JSON.stringify({ humiditeAmbiante: 41 }));
    await waitFor('first reading written', async () => (await stack.db.count('mesure')) === 1);

    await stack.db.query('REVOKE INSERT ON ??.mesure FROM ?@?', [stack.db.name, user, '%']);
    try {
      await publishAsync(device, 'serre/1/bac/1', JSON.stringify({ humiditeAmbiante: 42 }));
      const readyz = await waitFor('/readyz with the problem', async () => {
        const res = await get('/readyz');
        return res.status === 503 && res.body.includes('dbProblem') ? res : undefined;
      });
      // The operator's log names the account; what HTTP serves does not.
      await bridge.waitForLog(/refuses every write until this is fixed/);
      expect(bridge.logs()).toContain(`'${user}'@'`);
      const ready = JSON.parse(readyz.body) as { dbProblem: { cause: string; fix: string } };
      expect(ready.dbProblem.cause).toMatch(/INSERT command denied to user \[compte masqué\] for table .*mesure/);
      expect(ready.dbProblem.fix).toMatch(/grant/);
      expect(readyz.body).not.toContain(user);

      const api = await get('/api/status', bearer(TOKEN));
      expect(api.body).not.toContain(user);
      const snapshot = JSON.parse(api.body) as StatusSnapshot;
      expect(snapshot.dbProblem).toEqual(ready.dbProblem);
      expect(snapshot.dbProblem!.cause).toContain(ACCOUNT_MASK);
    } finally {
      await stack.db.query('GRANT INSERT ON ??.mesure TO ?@?', [stack.db.name, user, '%']);
    }

    // Once writes work again, the outage's DB_ERROR row names the account in the database, not on the page.
    await waitFor('ready again', async () => (await get('/readyz')).status === 200);
    const rows = await stack.db.query<Array<{ message: string } & RowDataPacket>>("SELECT message FROM error WHERE type_erreur = 'DB_ERROR'");
    expect(rows).toHaveLength(1);
    expect(rows[0]!.message).toContain(user);
    const snapshot = await waitFor('DB_ERROR on /api/status', async () => {
      const s = JSON.parse((await get('/api/status', bearer(TOKEN))).body) as StatusSnapshot;
      return s.errors?.some((e) => e.type === 'DB_ERROR') ? s : undefined;
    });
    expect(snapshot.dbProblem).toBeNull();
    const dbError = snapshot.errors!.find((e) => e.type === 'DB_ERROR')!;
    expect(dbError.message).toContain(ACCOUNT_MASK);
    expect(JSON.stringify(snapshot)).not.toContain(user);
  });
});
