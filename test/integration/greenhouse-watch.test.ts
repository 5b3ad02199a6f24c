/**
 * The greenhouse watch against the whole stack (real mTLS Mosquitto, real MariaDB, the bridge
 * process), on a database of 20 serres × 10 bacs: subscribed with no reading at all (WARN naming
 * the certificate's CN), then one bac's sensors stop while another goes on (WARN, metric, red on
 * the page in Chromium), then report again (all cleared); the last reading of a sensor read
 * from `mesure` at start; a removed bac's series gone; a restart that remembers.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/status/status-service.js';
import type { BridgeProcess } from '../helpers/bridge-process.js';
import { launchChromium, pageErrors, text } from '../helpers/browser.js';
import { metricValue } from '../helpers/metrics.js';
import { publishAsync } from '../helpers/readings.js';
import { createStack, type Stack } from '../helpers/stack.js';
import { zonedDateTime } from '../helpers/time.js';
import { waitFor } from '../helpers/wait.js';

const OUTPUT_DIR = resolve(import.meta.dirname, '../../test-output');
const WATCH_ENV = { SILENCE_AFTER: '4', NO_READINGS_WARN_AFTER: '2', CACHE_TTL: '2', SUMMARY_INTERVAL: '1' };
/** What each publishing bac sends, every PUBLISH_EVERY_MS while it is on. */
const PAYLOADS: Record<string, () => string> = {
  'serre/1/bac/1': () => JSON.stringify({ humiditeAmbiante: 55.5, temperatureAmbiante: 21 }),
  'serre/1/bac/2': () => JSON.stringify({ humiditeSol: 41.25, temperatureAmbiante: 19.5 }),
};
const PUBLISH_EVERY_MS = 300;
const SILENT_METRIC = 'parc_bridge_sensors_silent';
const LAST_READING_METRIC = 'parc_bridge_sensor_last_reading_timestamp_seconds';

let stack: Stack;
let bridge: BridgeProcess;
let device: MqttClient;
let browser: Browser;
const publishing = new Set<string>();
let publisher: NodeJS.Timeout | undefined;
/** Wall time (ms) of the seeded reading: an hour before the start. */
const seededAt = Date.now() - 3_600_000;

beforeAll(async () => {
  stack = await createStack({ database: { serres: 20, bacsPerSerre: 10 } });
  await stack.db.query(
    'INSERT INTO mesure (bac, capteur, value, mesure_a) SELECT b.id_bac, c.id_capteur, 33, ? ' +
      'FROM bac b JOIN serre s ON b.serre = s.id_serre JOIN capteur c ON c.type = ? WHERE s.numero = 2 AND b.numero = 3',
    [zonedDateTime(seededAt), 'humiditeSol'],
  );
  bridge = await stack.startBridge(WATCH_ENV);
  device = await stack.device('m5-serre-1');
  browser = await launchChromium();
  publisher = setInterval(() => {
    for (const topic of publishing) void publishAsync(device, topic, PAYLOADS[topic]!()).catch(() => undefined);
  }, PUBLISH_EVERY_MS);
});

afterAll(async () => {
  clearInterval(publisher);
  await browser?.close();
  await stack?.close();
});

async function snapshot(): Promise<StatusSnapshot> {
  const res = await bridge.get('/api/status');
  expect(res.status).toBe(200);
  return JSON.parse(res.body) as StatusSnapshot;
}

function sensor(s: StatusSnapshot, serre: number, bac: number, type: string) {
  return s.bacs?.serres.find((x) => x.numero === serre)?.bacs.find((b) => b.numero === bac)?.capteurs.find((c) => c.type === type);
}

const logLines = (msg: string, level?: string) => bridge.logLines().filter((l) => l.msg === msg && (level === undefined || l.level === level));
const silentLines = () => logLines('sensors silent: no reading for longer than SILENCE_AFTER (device off, Wi-Fi, battery, probe, or a key missing from its payload)', 'warn');

async function openPage(): Promise<{ page: Page; consoleErrors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const consoleErrors = pageErrors(page);
  await page.goto(`http://127.0.0.1:${bridge.httpPort}/`);
  await waitFor('first refresh', async () => (await text(page, '#broker-badge')) !== '…', 15_000);
  return { page, consoleErrors };
}

describe('greenhouse watch', () => {
  it('warns once when subscribed without any reading, naming the CN the ACL must let read, and shows it', async () => {
    await bridge.waitForLog(/subscribed but no reading received/);
    const warn = logLines('subscribed but no reading received for NO_READINGS_WARN_AFTER', 'warn');
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatchObject({ certificateCn: 'mqtt-bridge' });
    expect((warn[0]!.likelyCauses as string[])[0]).toContain('certificate CN "mqtt-bridge" read serre/+/bac/+');
    const s = await snapshot();
    expect(s.readings).toMatchObject({ subscribed: true, silent: true, certificateCn: 'mqtt-bridge', warnAfterSeconds: 2, lastReadingAt: null });
    expect(await metricValue(bridge, 'parc_bridge_subscribed_without_readings_seconds')).toBeGreaterThanOrEqual(2);

    const { page, consoleErrors } = await openPage();
    expect(await page.locator('#readings-silence').isVisible()).toBe(true);
    expect(await text(page, '#readings-silence')).toContain('certificat du pont (CN « mqtt-bridge ») de lire serre/+/bac/+');
    expect(await text(page, '#overall')).toMatch(/^Problème : aucune mesure reçue depuis \d+ s\.$/);
    mkdirSync(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: resolve(OUTPUT_DIR, 'status-page-no-readings.png') });
    expect(consoleErrors).toEqual([]);
    await page.close();

    publishing.add('serre/1/bac/1');
    await bridge.waitForLog(/readings arrive again after a period without any/);
    expect((await snapshot()).readings).toMatchObject({ silent: false, lastReadingAt: expect.stringMatching(/^\d{4}-/) });
    expect(await metricValue(bridge, 'parc_bridge_subscribed_without_readings_seconds')).toBeLessThan(2);
  });

  it('knows the last reading of a sensor from mesure after a start, and calls it silent', async () => {
    const s = await waitFor('seeded sensor silent', async () => {
      const snap = await snapshot();
      return sensor(snap, 2, 3, 'humiditeSol')?.silent ? snap : undefined;
    });
    expect(sensor(s, 2, 3, 'humiditeSol')).toMatchObject({ value: 33, unite: '%', at: zonedDateTime(seededAt) });
    expect(sensor(s, 2, 3, 'humiditeSol')!.ageSeconds).toBeGreaterThanOrEqual(3600);
    expect(await metricValue(bridge, LAST_READING_METRIC, 'serre="2",bac="3",capteur="humiditeSol"')).toBe(Math.floor(seededAt / 1000));
    expect(silentLines().some((l) => JSON.stringify(l.sensors).includes('serre 2 bac 3 humiditeSol'))).toBe(true);
  });

  it('flags the sensors of a bac that stops while another goes on, then clears them when it reports again', async () => {
    publishing.add('serre/1/bac/2');
    await waitFor('bac 1/2 reporting', async () => sensor(await snapshot(), 1, 2, 'humiditeSol') !== undefined);
    expect(await metricValue(bridge, SILENT_METRIC)).toBe(1); // the seeded one
    const before = silentLines().length;

    publishing.delete('serre/1/bac/2');
    await waitFor('bac 1/2 silent', async () => (await metricValue(bridge, SILENT_METRIC)) === 3, 30_000);
    const warn = silentLines().slice(before);
    expect(warn).toHaveLength(1); // both sensors of the bac in one line
    expect(warn[0]).toMatchObject({ count: 2, silentNow: 3, silenceAfterSeconds: 4 });
    expect(JSON.stringify(warn[0]!.sensors)).toMatch(/serre 1 bac 2 humiditeSol, last reading \d{4}-/);
    expect(JSON.stringify(warn[0]!.sensors)).toContain('serre 1 bac 2 temperatureAmbiante');
    const s = await snapshot();
    expect(sensor(s, 1, 2, 'humiditeSol')).toMatchObject({ silent: true, value: 41.25 });
    expect(sensor(s, 1, 1, 'humiditeAmbiante')).toMatchObject({ silent: false, value: 55.5 });
    expect(s.bacs).toMatchObject({ silent: 3, sensors: 5, bacsWithoutReading: 197, silenceAfterSeconds: 4 });
    expect(s.bacs!.serres).toHaveLength(20);
    await waitFor('summary line with the silent count', () => logLines('summary', 'info').some((l) => l.sensorsSilent === 3));

    const { page, consoleErrors } = await openPage();
    await waitFor('bac 1/2 red on the page', async () => (await page.locator('[data-bac="1/2"] li.silent').count()) === 2, 15_000);
    expect(await page.locator('[data-bac="1/2"]').getAttribute('class')).toBe('bac has-silent');
    expect(await text(page, '[data-bac="1/2"] li.silent[data-capteur="humiditeSol"]')).toMatch(/^Humidité du sol · silencieux\s*41,3 %\s*il y a \d+ s$/);
    expect(await page.locator('[data-bac="1/1"] li.silent').count()).toBe(0);
    expect(await text(page, '#overall')).toBe('Attention : 3 capteurs silencieux (voir « Bacs »).');
    // 20 serres: those with a silent sensor are open, the others one line each.
    expect(await page.locator('details.serre').count()).toBe(20);
    expect(await page.locator('details.serre[open]').evaluateAll((d) => d.map((x) => x.getAttribute('data-serre')))).toEqual(['1', '2']);
    expect(await text(page, 'details[data-serre="5"] > summary')).toMatch(/^Serre 5\s*Aucune mesure\s*10 bacs · 10 bacs sans mesure$/);
    expect(await text(page, '[data-bac="1/3"]')).toBe('Bac 3\nAucune mesure reçue');
    await page.screenshot({ path: resolve(OUTPUT_DIR, 'status-page-bacs.png'), fullPage: true });

    publishing.add('serre/1/bac/2');
    await waitFor('bac 1/2 back', async () => (await metricValue(bridge, SILENT_METRIC)) === 1, 30_000);
    const back = logLines('sensors reporting again', 'info');
    expect(back.at(-1)).toMatchObject({ count: 2, silentNow: 1 });
    await waitFor('red gone from the page', async () => (await page.locator('[data-bac="1/2"] li.silent').count()) === 0, 15_000);
    expect(await page.locator('[data-bac="1/2"]').getAttribute('class')).toBe('bac');
    expect(silentLines().slice(before)).toHaveLength(1); // no second WARN for the same silence
    expect(consoleErrors).toEqual([]);
    await page.close();
  });

  it('drops the series of a bac removed from the database', async () => {
    await stack.db.query('DELETE m FROM mesure m JOIN bac b ON m.bac = b.id_bac JOIN serre s ON b.serre = s.id_serre WHERE s.numero = 2 AND b.numero = 3');
    await stack.db.query('DELETE b FROM bac b JOIN serre s ON b.serre = s.id_serre WHERE s.numero = 2 AND b.numero = 3');
    await waitFor('silent count 0', async () => (await metricValue(bridge, SILENT_METRIC)) === 0, 30_000);
    const { body } = await bridge.get('/metrics');
    expect(body).not.toContain('serre="2",bac="3"');
    expect(body).toMatch(/parc_bridge_sensor_last_reading_timestamp_seconds\{serre="1",bac="2",capteur="humiditeSol"\} \d+/);
    const s = await snapshot();
    expect(s.bacs!.serres.find((x) => x.numero === 2)!.bacs.map((b) => b.numero)).toEqual([1, 2, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('remembers the last readings across a restart', async () => {
    publishing.clear();
    await new Promise((r) => setTimeout(r, 2 * PUBLISH_EVERY_MS));
    const last = await waitFor('last reading committed', async () => {
      const ts = await metricValue(bridge, LAST_READING_METRIC, 'serre="1",bac="1",capteur="humiditeAmbiante"');
      await new Promise((r) => setTimeout(r, 500));
      return ts === (await metricValue(bridge, LAST_READING_METRIC, 'serre="1",bac="1",capteur="humiditeAmbiante"')) ? ts : undefined;
    });
    expect(await bridge.stop('SIGTERM')).toBe(0);
    bridge = await stack.startBridge(WATCH_ENV);
    const s = await waitFor('seeded after restart', async () => {
      const snap = await snapshot();
      return sensor(snap, 1, 1, 'humiditeAmbiante') ? snap : undefined;
    });
    expect(sensor(s, 1, 1, 'humiditeAmbiante')).toMatchObject({ value: 55.5 });
    expect(sensor(s, 1, 2, 'humiditeSol')).toMatchObject({ value: 41.25 });
    // mesure_a keeps whole seconds.
    expect(await metricValue(bridge, LAST_READING_METRIC, 'serre="1",bac="1",capteur="humiditeAmbiante"')).toBe(Math.floor(last));
    expect(logLines('greenhouse watch: last reading of each sensor read from mesure', 'info')[0]).toMatchObject({ sensors: 4, method: 'index' });
  });
});
