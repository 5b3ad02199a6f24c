/**
 * The README's "Send a test reading" step, run as a newcomer pastes it: a test device's
 * certificate made by mosquitto/clients-certs.sh from the school's CA, then mosquitto_pub at
 * QoS 0 to serre 1, bac 1; the readings of its payload land in `mesure`, no `error` row. The
 * only changes: no sudo (the tests run as root), no apt-get (mosquitto-clients is a test
 * prerequisite), and the test broker's port for 8883. The French README holds the same commands
 * (test/unit/docs.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempDir } from '../helpers/cleanup.js';
import { codeBlocks } from '../helpers/markdown.js';
import { MOSQUITTO_DIR, REPO_ROOT } from '../helpers/pki.js';
import { createStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

let stack: Stack;

beforeAll(async () => {
  stack = await createStack();
  await stack.startBridge();
});

afterAll(async () => {
  await stack?.close();
});

/** The README's sh block that publishes the test reading. */
function readmeBlock(): string {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const block = codeBlocks(readme).find((b) => b.lang === 'sh' && b.lines.some((l) => l.includes('mosquitto_pub')));
  if (!block) throw new Error('README has no ```sh block with mosquitto_pub');
  return block.lines.join('\n');
}

/** A checkout of this repository whose mosquitto/ holds the scripts and the test stack's PKI, as `up` leaves it. */
function checkoutWithStackPki(): string {
  const checkout = tempDir('parc-readme-');
  const mosquitto = path.join(checkout, 'mosquitto');
  mkdirSync(mosquitto);
  for (const entry of readdirSync(MOSQUITTO_DIR, { withFileTypes: true })) {
    if (entry.isFile()) symlinkSync(path.join(MOSQUITTO_DIR, entry.name), path.join(mosquitto, entry.name));
  }
  for (const dir of ['server-certs', 'client-certs']) symlinkSync(path.join(stack.pki.dir, dir), path.join(mosquitto, dir));
  return checkout;
}

it("README's test reading, pasted as written, lands in mesure", async () => {
  const block = readmeBlock();
  expect(block).toContain('sudo mosquitto/clients-certs.sh banc-test');
  expect(block).toMatch(/ -p 8883 /);
  expect(block).toContain('-t serre/1/bac/1');
  const script = block
    .split('\n')
    .filter((line) => !line.includes('apt-get install'))
    .map((line) => line.replace(/^sudo /, ''))
    .join('\n')
    .replace(/ -p 8883 /, ` -p ${stack.broker.port} `);

  const run = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: checkoutWithStackPki(), encoding: 'utf8', timeout: 60_000 });
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);

  const payload = /-m '([^']*)'/.exec(block)?.[1];
  expect(payload).toBeDefined();
  const sent = Object.entries(JSON.parse(payload!) as Record<string, number>)
    .map(([capteur, value]) => ({ capteur, value }))
    .sort((a, b) => a.capteur.localeCompare(b.capteur));
  expect(sent.length).toBeGreaterThan(0);

  const landed = await waitFor('the test reading in mesure', async () => {
    const rows = await stack.db.query<RowDataPacket[]>(
      'SELECT c.type AS capteur, m.value FROM mesure m JOIN bac b ON m.bac = b.id_bac JOIN serre s ON b.serre = s.id_serre ' +
        'JOIN capteur c ON m.capteur = c.id_capteur WHERE s.numero = 1 AND b.numero = 1 ORDER BY c.type',
    );
    return rows.length >= sent.length ? rows : undefined;
  });
  expect(landed.map((r) => ({ capteur: r.capteur as string, value: r.value as number }))).toEqual(sent);
  expect(await stack.db.query<RowDataPacket[]>('SELECT type_erreur, message FROM error')).toEqual([]);
});
