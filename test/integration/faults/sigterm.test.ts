/**
 * SIGTERM (`docker stop`) and SIGINT (Ctrl-C, `docker compose` in the foreground) mid-stream:
 * exit 0 within the deadline, and after a restart nothing is lost. The SIGINT run also has
 * HTTP_PORT=0 (no status page, health or metrics): the bridge then listens on no port at all.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthcheck } from '../../helpers/bridge-process.js';
import { SteadyStream, waitForDelivery } from '../../helpers/readings.js';
import { createStack, type Stack } from '../../helpers/stack.js';
import { sleep, waitFor } from '../../helpers/wait.js';

/** TCP ports a process listens on: its socket descriptors looked up in the kernel's tables. */
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
      // local_address (hex ip:port), rem_address, st (0A = LISTEN), …, inode
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && inodes.has(f[9]!)) ports.push(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

describe.each([
  { signal: 'SIGTERM' as const, httpOff: false, macs: '24:6F:28:00:05:0' },
  { signal: 'SIGINT' as const, httpOff: true, macs: '24:6F:28:00:06:0' },
])('$signal', ({ signal, httpOff, macs }) => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await createStack();
  });

  afterAll(async () => {
    await stack?.close();
  });

  it(`stops cleanly on ${signal}${httpOff ? ' with HTTP_PORT=0' : ''} and resumes without loss`, async () => {
    const first = await stack.startBridge({ SHUTDOWN_TIMEOUT: '10', ...(httpOff ? { HTTP_PORT: '0' } : {}) }, { waitReady: !httpOff });
    if (httpOff) await first.waitForLog(/"msg":"subscribed"/);
    const devices = await Promise.all([1, 2, 3].map((n) => stack.device(`${macs}${n}`)));
    const stream = new SteadyStream(devices, 20, 1, 0).start(); // QoS 0, like the firmware

    await waitFor('readings written', async () => (await stack.db.count('mesure')) > 0, 15_000);
    await sleep(2_000);
    if (httpOff) {
      expect(listeningPorts(first.child.pid!)).toEqual([]);
      expect(first.logs()).not.toMatch(/http server listening/);
      // The image's HEALTHCHECK has nothing to ask: healthy, rather than failing forever.
      expect(healthcheck(0)).toBe(0);
    }
    const stopping = Date.now();
    const code = await first.stop(signal);
    const stopSeconds = (Date.now() - stopping) / 1000;
    expect(code).toBe(0);
    expect(stopSeconds).toBeLessThan(10 + 5); // SHUTDOWN_TIMEOUT plus process teardown
    expect(first.logs()).toContain(`"signal":"${signal}"`);
    expect(first.logs()).toMatch(/journal fully written/);

    await sleep(2_000);
    await stack.startBridge({ DATA_DIR: first.dataDir });
    await sleep(3_000);
    const sent = await stream.stop();
    const delivery = await waitForDelivery(stack.db, sent, 60_000);
    console.log(`${signal}:`, { ...delivery, stopSeconds });
    expect(delivery.lost).toBe(0);
    expect(delivery.duplicated).toBe(0);
    // A clean stop is not a lost connection.
    expect(await stack.db.count('error', "type_erreur = 'MQTT_DISCONNECT'")).toBe(0);
  });
});
