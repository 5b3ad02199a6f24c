/**
 * HTTP_PORT=0 (no status page, health or metrics) and SIGINT (Ctrl-C, `docker compose` in the
 * foreground): the bridge still works, listens on no port, and stops as cleanly as on SIGTERM.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLI } from '../helpers/bridge-process.js';
import { SteadyStream, waitForDelivery } from '../helpers/readings.js';
import { createStack, type Stack } from '../helpers/stack.js';
import { sleep, waitFor } from '../helpers/wait.js';

let stack: Stack;

beforeAll(async () => {
  stack = await createStack();
});

afterAll(async () => {
  await stack?.close();
});

/** TCP ports a process listens on, from its socket descriptors and the kernel's socket tables. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed since the listing
    }
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(match[1]!);
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is f[1] (hex ip:port), st is f[3] (0A = LISTEN), inode is f[9]
      if (f[3] === '0A' && inodes.has(f[9]!)) ports.push(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

it('with HTTP_PORT=0 writes readings without listening anywhere, and stops on SIGINT without loss', async () => {
  const first = await stack.startBridge({ HTTP_PORT: '0', SHUTDOWN_TIMEOUT: '10' }, { waitReady: false });
  await first.waitForLog(/"subscribed"/);
  const devices = await Promise.all([1, 2, 3].map((n) => stack.device(`24:6F:28:00:06:0${n}`)));
  const stream = new SteadyStream(devices, 20).start();
  await waitFor('readings written', async () => (await stack.db.count('mesure')) > 0, 15_000);

  expect(listeningPorts(first.child.pid!)).toEqual([]);
  expect(first.logs()).not.toMatch(/http server listening/);
  // The image's HEALTHCHECK has nothing to ask: it reports healthy rather than failing forever.
  const health = spawnSync(process.execPath, [CLI, 'healthcheck'], { env: { PATH: process.env.PATH, HTTP_PORT: '0' }, encoding: 'utf8' });
  expect(health.status).toBe(0);

  await sleep(1_000);
  const code = await first.stop('SIGINT');
  expect(code).toBe(0);
  expect(first.logs()).toMatch(/"signal":"SIGINT"/);
  expect(first.logs()).toMatch(/journal fully written/);

  await sleep(1_000);
  await stack.startBridge({ DATA_DIR: first.dataDir });
  await sleep(2_000);
  const sent = await stream.stop();
  const delivery = await waitForDelivery(stack.db, sent, 60_000);
  console.log('SIGINT, HTTP_PORT=0:', delivery);
  expect(delivery.lost).toBe(0);
  expect(delivery.duplicated).toBe(0);
  expect(await stack.db.count('error', "type_erreur = 'MQTT_DISCONNECT'")).toBe(0);
});
