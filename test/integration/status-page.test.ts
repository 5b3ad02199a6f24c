/**
 * The status page in a real browser (Debian's Chromium driven by playwright-core) against the
 * whole stack: what the greenhouse team sees after readings, a controller announce and bad
 * messages; that it refreshes by itself, fits a phone, loads nothing from elsewhere and runs
 * no text from devices as markup. Plus /api/status, and the snapshot when the DB is unreachable.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/db/pool.js';
import { HttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logger.js';
import { Metrics } from '../../src/metrics.js';
import { statusRoutes } from '../../src/status/status-page.js';
import { StatusService, type StatusSnapshot } from '../../src/status/status-service.js';
import { ThroughputSampler } from '../../src/status/throughput.js';
import type { BridgeProcess } from '../helpers/bridge-process.js';
import { launchChromium, pageErrors, text } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { publishAsync } from '../helpers/readings.js';
import { createStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const MAC = '24:6F:28:AA:BB:01';
const OUTPUT_DIR = resolve(import.meta.dirname, '../../test-output');
// A key a device could send; if the page ever parsed it as HTML, an <img> would appear.
const HOSTILE_KEY = '<img src=x id=injected>';

let stack: Stack;
let bridge: BridgeProcess;
let device: MqttClient;
let browser: Browser;
let base: string;

beforeAll(async () => {
  stack = await createStack();
  bridge = await stack.startBridge();
  base = `http://127.0.0.1:${bridge.httpPort}`;
  device = await stack.device(MAC);
  for (let i = 1; i <= 3; i++) {
    await publishAsync(device, 'serre/1/bac/1', JSON.stringify({ humiditeAmbiante: 40 + i, temperatureAmbiante: 20 + i }));
  }
  await publishAsync(device, `controleur/${MAC}`, JSON.stringify({ ip: '192.168.1.50', status: true }));
  await publishAsync(device, 'serre/99/bac/1', JSON.stringify({ humiditeAmbiante: 50 }));
  await publishAsync(device, 'serre/1/bac/2', JSON.stringify({ [HOSTILE_KEY]: 1 }));
  await waitFor('rows written', async () => (await stack.db.count('mesure')) === 6 && (await stack.db.count('error')) === 2);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function apiStatus(): Promise<StatusSnapshot> {
  const res = await fetch(`${base}/api/status`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  return (await res.json()) as StatusSnapshot;
}

/** Opens the page, recording console errors and every URL the browser asks for. */
async function openPage(viewport: { width: number; height: number }) {
  const page = await browser.newPage({ viewport });
  const consoleErrors = pageErrors(page);
  const requested: string[] = [];
  page.on('request', (r) => requested.push(r.url()));
  const response = await page.goto(`${base}/`);
  await waitFor('first refresh', async () => (await text(page, '#broker-badge')) !== '…', 15_000);
  return { page, response, consoleErrors, requested };
}


describe('status page', () => {
  it('/api/status reports connections, backlog, throughput, controllers and errors', async () => {
    const s = await waitFor('controller and errors in the snapshot', async () => {
      const snap = await apiStatus();
      return snap.controllers?.length === 1 && snap.errors?.length === 2 ? snap : undefined;
    });
    expect(s.broker.connected).toBe(true);
    expect(s.database.connected).toBe(true);
    expect(s.ready).toBe(true);
    expect(s.journal).toMatchObject({ entries: 0, full: false, underBudget: true });
    expect(s.clientId).toBe(bridge.env.MQTT_CLIENT_ID);
    expect(s.totals.received).toBe(6);
    expect(s.throughput.intervalSeconds).toBe(10);
    expect(s.throughput.windowSeconds).toBe(900);
    const inWindows = [...s.throughput.samples, ...(s.throughput.current ? [s.throughput.current] : [])];
    expect(inWindows.reduce((n, w) => n + w.received, 0)).toBe(6);
    expect(s.controllers).toEqual([
      expect.objectContaining({ mac: MAC, nom: 'controleur', ip: '192.168.1.50', online: true, lastChangeAt: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/) }),
    ]);
    expect(s.controllersUnavailable).toBeNull();
    expect(s.errors!.map((e) => e.type)).toEqual(['UNKNOWN_SENSOR', 'BAC_NOT_FOUND']); // newest first
    expect(s.errors![1]).toMatchObject({ valeur: '{"humiditeAmbiante":50}', valeurTruncated: false });
    expect(s.errors![1]!.message).toContain('serre/99/bac/1');
  });

  it('cuts long values to 200 characters and says so', async () => {
    const long = 'x'.repeat(500);
    await publishAsync(device, 'serre/98/bac/1', JSON.stringify({ humiditeAmbiante: long }));
    const s = await waitFor('third error', async () => {
      const snap = await apiStatus();
      return snap.errors?.length === 3 ? snap : undefined;
    });
    expect(s.errors![0]!.valeur).toHaveLength(200);
    expect(s.errors![0]!.valeurTruncated).toBe(true);
  });

  it('shows the team the state at a glance, in French, from this origin only', async () => {
    const { page, response, consoleErrors, requested } = await openPage({ width: 1280, height: 900 });

    const headers = response!.headers();
    expect(headers['content-type']).toBe('text/html; charset=utf-8');
    expect(headers['x-content-type-options']).toBe('nosniff');
    const csp = headers['content-security-policy']!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');

    expect(await page.title()).toBe('État du pont MQTT → MySQL');
    expect(await text(page, 'h1')).toBe('État du pont MQTT → MySQL');
    expect(await text(page, '#overall')).toBe('Tout fonctionne : les mesures arrivent dans la base.');
    expect(await text(page, '#broker-badge')).toBe('Connecté');
    expect(await page.locator('#broker-badge').getAttribute('class')).toBe('badge ok');
    expect(await text(page, '#database-badge')).toBe('Connectée');
    expect(await page.locator('#database-badge').getAttribute('class')).toBe('badge ok');
    expect(await text(page, '#journal-entries')).toBe("0 message en attente d'écriture");

    const row = page.locator(`#controllers-body tr[data-mac="${MAC}"]`);
    const rowText = await row.innerText();
    expect(rowText).toContain('192.168.1.50');
    expect(rowText).toContain('En ligne');
    expect(rowText).toMatch(/aujourd'hui \d\d:\d\d:\d\d \(il y a/);
    expect(await text(page, '#controllers-count')).toBe('1 en ligne, 0 hors ligne');

    const errors = await text(page, '#errors-list');
    expect(errors).toContain('Bac introuvable · BAC_NOT_FOUND');
    expect(errors).toContain('serre/99/bac/1');
    expect(errors).toContain('Valeur reçue : {"humiditeAmbiante":50}');
    // The hostile key is shown as text, and nothing of it became markup.
    expect(errors).toContain(HOSTILE_KEY);
    expect(await page.locator('#injected').count()).toBe(0);
    expect(await page.locator('#errors-list img').count()).toBe(0);

    // The chart has drawn the messages published above.
    for (const series of ['received', 'written']) {
      const heights = await page.locator(`#chart rect.bar.${series}`).evaluateAll((bars) => bars.map((b) => Number(b.getAttribute('height'))));
      expect(Math.max(0, ...heights), series).toBeGreaterThan(0);
    }
    // 6 messages published before all tests, 1 by the long-value test; 6 mesure + 1 controleur + 3 error rows.
    expect(await page.locator('#chart').getAttribute('data-received')).toBe('7');
    expect(await text(page, '#chart-summary')).toBe('Sur les 15 dernières minutes : 7 messages reçus, 10 lignes écrites.');

    mkdirSync(OUTPUT_DIR, { recursive: true });
    const shot = resolve(OUTPUT_DIR, 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`status page screenshot: ${shot}`);

    expect(consoleErrors).toEqual([]);
    const foreign = requested.filter((u) => !u.startsWith(`${base}/`) && !u.startsWith('data:'));
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('refreshes by itself when a controller goes offline, and fits a phone screen', async () => {
    const { page, consoleErrors } = await openPage({ width: 390, height: 844 });
    const badge = page.locator(`#controllers-body tr[data-mac="${MAC}"] .badge`);
    expect(await badge.innerText()).toBe('En ligne');

    await publishAsync(device, `controleur/${MAC}/disconnect`, '');
    // No reload: the page's own 5 s refresh must bring the change.
    await waitFor('offline shown', async () => (await badge.innerText()) === 'Hors ligne', 30_000);
    expect(await badge.getAttribute('class')).toBe('badge ko');
    expect(await text(page, '#controllers-count')).toBe('0 en ligne, 1 hors ligne');

    // A string: the test is type-checked without the DOM library.
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBe(0);
    await page.screenshot({ path: resolve(OUTPUT_DIR, 'status-page-phone.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
    await page.close();
  });
});

describe('status page during an outage', () => {
  it('shows red badges, the backlog and why lists are missing; then that the bridge is unreachable', async () => {
    // A bridge whose broker and database are down and whose journal is full, served by the real
    // routes and HTTP server, with 5 minutes of traffic in the chart.
    const metrics = new Metrics(false);
    let now = Date.now() - 300_000;
    const throughput = new ThroughputSampler(metrics, { now: () => now });
    await throughput.tick();
    for (let i = 0; i < 30; i++) {
      metrics.messagesReceived.inc({ kind: 'bac' }, 20 + (i % 7) * 5);
      if (i < 20) metrics.rowsWritten.inc({ table: 'mesure' }, 40 + (i % 5) * 10);
      now += 10_000;
      await throughput.tick();
    }
    const service = new StatusService({
      pool: createPool({ host: '127.0.0.1', port: 1, user: 'x', password: 'x', database: 'parc', retryDelayMs: 1000 }),
      metrics,
      readiness: () => ({ mqtt: false, db: false, journalUnderBudget: false }),
      journal: () => ({ entries: 1234, bytes: 3_500_000, oldestAgeSeconds: 125, full: true, retained: { entries: 0, bytes: 0, oldestAgeSeconds: 0 } }),
      throughput,
      clientId: 'mqtt-bridge',
      startedAt: Date.now() - 3_600_000,
    });
    const server = new HttpServer({ host: '127.0.0.1', port: 0, token: undefined, metricsAuth: true }, () => ({ mqtt: false, db: false, journalUnderBudget: false }), metrics, createLogger('error'), statusRoutes(service));
    const port = await server.start();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await page.goto(`http://127.0.0.1:${port}/`);
      await waitFor('first refresh', async () => (await text(page, '#broker-badge')) !== '…', 15_000);
      expect(await text(page, '#overall')).toBe('Problème : broker MQTT déconnecté, base de données déconnectée, file d\'attente locale pleine.');
      expect(await text(page, '#broker-badge')).toBe('Déconnecté');
      expect(await page.locator('#broker-badge').getAttribute('class')).toBe('badge ko');
      expect(await text(page, '#broker-detail')).toBe('Le pont réessaie automatiquement (0 reconnexion depuis le démarrage).');
      expect(await text(page, '#database-badge')).toBe('Déconnectée');
      expect(await page.locator('#database-badge').getAttribute('class')).toBe('badge ko');
      expect(await text(page, '#journal-badge')).toBe('Pleine');
      expect(await text(page, '#journal-entries')).toBe("1\u202f234 messages en attente d'écriture");
      expect(await text(page, '#journal-detail')).toBe('Le plus ancien attend depuis 2 min 5 s (3,3 Mo sur disque)');
      expect(await page.locator('#journal-full').isVisible()).toBe(true);
      expect(await text(page, '#controllers-body')).toBe('Indisponible : base de données déconnectée');
      expect(await text(page, '#errors-list')).toBe('Indisponible : base de données déconnectée');
      expect(await page.locator('#chart rect.bar.received').count()).toBe(31); // 30 windows + the one in progress
      await page.screenshot({ path: resolve(OUTPUT_DIR, 'status-page-outage.png'), fullPage: true });

      await server.stop();
      await waitFor('unreachable shown', async () => (await text(page, '#overall')).startsWith('Le pont ne répond pas'), 30_000);
      expect(await page.locator('#overall').getAttribute('class')).toBe('banner ko');
    } finally {
      await page.close();
      await server.stop();
    }
  });
});

describe('status snapshot without a database', () => {
  const readiness = (db: boolean) => () => ({ mqtt: true, db, journalUnderBudget: true });
  const journal = () => ({ entries: 4, bytes: 400, oldestAgeSeconds: 12, full: false, retained: { entries: 0, bytes: 0, oldestAgeSeconds: 0 } });

  async function snapshotWith(port: number, dbConnected: boolean): Promise<StatusSnapshot> {
    const metrics = new Metrics(false);
    const pool = createPool({ host: '127.0.0.1', port, user: 'nobody', password: 'x', database: 'parc', retryDelayMs: 1000 });
    const service = new StatusService({
      pool,
      metrics,
      readiness: readiness(dbConnected),
      journal,
      throughput: new ThroughputSampler(metrics),
      clientId: 'test',
      startedAt: Date.now(),
      dbReadTimeoutMs: 500,
    });
    const snapshot = await service.snapshot();
    // Not awaited: a connect still pending on a silent server ends when the test closes it.
    void pool.end().catch(() => undefined);
    return snapshot;
  }

  it('serves the rest when the drain reports the database down, without trying it', async () => {
    const s = await snapshotWith(await freePort(), false);
    expect(s.database.connected).toBe(false);
    expect(s.journal).toMatchObject({ entries: 4, oldestAgeSeconds: 12 });
    expect(s).toMatchObject({ controllers: null, errors: null, controllersUnavailable: 'base de données déconnectée' });
  });

  it('gives a reason when the database refuses the connection', async () => {
    const s = await snapshotWith(await freePort(), true);
    expect(s).toMatchObject({ controllers: null, errors: null, errorsUnavailable: 'connexion impossible (ECONNREFUSED)' });
  });

  it('answers quickly when the database accepts but never responds', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const s = await snapshotWith(port, true);
      expect(s).toMatchObject({ controllers: null, controllersUnavailable: 'la base de données ne répond pas assez vite' });
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe('status page while the database refuses writes', () => {
  it('says that writes are held and what to do, without naming the database account', async () => {
    const user = stack.db.bridgeUser;
    const { page, consoleErrors } = await openPage({ width: 1280, height: 900 });
    const problem = page.locator('#database-problem');
    expect(await problem.isHidden()).toBe(true);

    await stack.db.query('REVOKE INSERT ON ??.mesure FROM ?@?', [stack.db.name, user, '%']);
    try {
      await publishAsync(device, 'serre/1/bac/1', JSON.stringify({ humiditeAmbiante: 47 }));
      // No reload: the page's own refresh brings the hold.
      await waitFor('hold shown', () => problem.isVisible(), 30_000);
      expect(await problem.innerText()).toMatch(
        /^Les écritures en base sont suspendues : ER_TABLEACCESS_DENIED_ERROR : INSERT command denied to user \[compte masqué\] for table \S*mesure\S* — à faire : accorder le droit manquant sur la table/,
      );
      expect(await text(page, '#database-badge')).toBe('Écritures suspendues');
      expect(await text(page, '#overall')).toBe('Problème : écritures en base suspendues (voir « Base de données »).');
      // The server still answers reads: the controllers are listed.
      await waitFor('controllers listed', async () => (await text(page, '#controllers-body')).includes(MAC), 15_000);
      // The bridge's log has the server's full message; the page does not.
      expect(bridge.logs()).toContain(`'${user}'@'`);
      expect(await page.content()).not.toContain(user);
      await page.screenshot({ path: resolve(OUTPUT_DIR, 'status-page-writes-held.png'), fullPage: true });
    } finally {
      await stack.db.query('GRANT INSERT ON ??.mesure TO ?@?', [stack.db.name, user, '%']);
    }

    await waitFor('hold gone', () => problem.isHidden(), 30_000);
    // The outage's DB_ERROR row, written once writes work again, is listed without the account.
    await waitFor('DB_ERROR listed', async () => (await text(page, '#errors-list')).includes('DB_ERROR'), 30_000);
    expect(await text(page, '#errors-list')).toContain('[compte masqué]');
    expect(await page.content()).not.toContain(user);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });
});
