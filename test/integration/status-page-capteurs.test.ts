/**
 * Sensors are data, not code (DESIGN §2): a capteur row added in the web application while the
 * bridge runs shows on the status page, in Chromium, under its type with the unit of its row,
 * once a device reports it; no release. A type that is also a JavaScript property name
 * (`constructor`) is shown as itself too. The shipped sensors keep their French names.
 */
import type { MqttClient } from 'mqtt';
import type { RowDataPacket } from 'mysql2';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeProcess } from '../helpers/bridge-process.js';
import { launchChromium, pageErrors, text } from '../helpers/browser.js';
import { publishAsync } from '../helpers/readings.js';
import { createStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const NEW_CAPTEURS = [
  { type: 'pressionAtmospherique', min: 800, max: 1200, unite: 'hPa' },
  { type: 'constructor', min: 0, max: 10, unite: 'u' },
];

let stack: Stack;
let bridge: BridgeProcess;
let device: MqttClient;
let browser: Browser;

beforeAll(async () => {
  stack = await createStack({ database: { serres: 1, bacsPerSerre: 1 } });
  bridge = await stack.startBridge({ CACHE_TTL: '2' });
  device = await stack.device('m5-serre-1');
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('a capteur added while the bridge runs', () => {
  it('shows on the status page under its type, with the unit of its row', async () => {
    for (const c of NEW_CAPTEURS) {
      await stack.db.query('INSERT INTO capteur (type, valeurMinCapteur, valeurMaxCapteur, unite) VALUES (?, ?, ?, ?)', [c.type, c.min, c.max, c.unite]);
    }
    const payload = JSON.stringify({ pressionAtmospherique: 1013.2, constructor: 3, humiditeSol: 40 });
    // The bridge finds the new rows within its cache TTL; until then the readings are UNKNOWN_SENSOR.
    await waitFor('readings of the new capteurs', async () => {
      await publishAsync(device, 'serre/1/bac/1', payload);
      const rows = await stack.db.query<RowDataPacket[]>(
        'SELECT COUNT(DISTINCT c.type) AS n FROM mesure m JOIN capteur c ON c.id_capteur = m.capteur WHERE c.type IN (?, ?)',
        NEW_CAPTEURS.map((c) => c.type),
      );
      return Number(rows[0]?.n) === 2;
    }, 30_000);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const consoleErrors = pageErrors(page);
    await page.goto(`http://127.0.0.1:${bridge.httpPort}/`);
    const sensorLine = (type: string) => `[data-bac="1/1"] li[data-capteur="${type}"]`;
    await waitFor('the new capteur on the page', async () => (await page.locator(sensorLine('pressionAtmospherique')).count()) === 1, 20_000);

    expect(await text(page, `${sensorLine('pressionAtmospherique')} .sensor-name`)).toBe('pressionAtmospherique');
    expect(await text(page, `${sensorLine('pressionAtmospherique')} .sensor-value`)).toMatch(/^1\s?013,2 hPa$/);
    expect(await text(page, `${sensorLine('constructor')} .sensor-name`)).toBe('constructor');
    expect(await text(page, `${sensorLine('constructor')} .sensor-value`)).toBe('3 u');
    expect(await text(page, `${sensorLine('humiditeSol')} .sensor-name`)).toBe('Humidité du sol');
    expect(await text(page, `${sensorLine('humiditeSol')} .sensor-value`)).toBe('40 %');
    expect(consoleErrors).toEqual([]);
    await page.close();
  });
});
