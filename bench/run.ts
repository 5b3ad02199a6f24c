/**
 * `npm run bench`: the limits of this machine and the bridge's figures, measured in one run.
 * A private mTLS Mosquitto (the shipped config) and a throwaway database on the local MariaDB;
 * devices publish 3 readings per message (one row each in `mesure`).
 *
 * Prints: MySQL's batched INSERT rate, the broker's own QoS 1 rate and the bridge's end-to-end
 * rate (published → committed rows, JOURNAL_SYNC=full, the default) measured back to back in
 * BENCH_PAIRS pairs, the median pair being the headline; the rate with JOURNAL_SYNC=normal, with 1, 2 and 3 bridges
 * in a shared subscription group, p50/p99 latency at a steady 1 000 msg/s, CPU seconds per
 * 10 000 messages and peak RSS, the CPU each process spends per message (what bounds the rate
 * on this machine) and the same run with V8's default heap instead of the image's NODE_OPTIONS
 * (RSS against throughput). Bridges run with the Docker image's NODE_OPTIONS, as in the tests.
 * Every bridge process takes BENCH_WARMUP messages before the measured ones: the figures are
 * those of a bridge that has been running (the first messages after a start are printed apart).
 * Options (env): BENCH_MESSAGES (default 80000), BENCH_WARMUP (default 40000), BENCH_DEVICES
 * (default 10), BENCH_PAIRS (default 5).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { MqttClient } from 'mqtt';
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import mysql from 'mysql2/promise';
import { deviceClient } from '../test/helpers/broker.js';
import { IMAGE_NODE_OPTIONS, newDataDir, type BridgeProcess } from '../test/helpers/bridge-process.js';
import { LOCAL_MARIADB } from '../test/helpers/database.js';
import { createStack, type Stack } from '../test/helpers/stack.js';
import { sleep, waitFor } from '../test/helpers/wait.js';
import { cpuSeconds, peakRssMiB, percentile, round } from './measure.js';

/** A whole number from the environment, or the default; anything else stops the benchmark. */
function setting(name: string, fallback: number, min: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number ≥ ${min}, not "${process.env[name]}"`);
  return value;
}

const MESSAGES = setting('BENCH_MESSAGES', 80_000, 1);
const DEVICES = setting('BENCH_DEVICES', 10, 1);
const PAIRS = setting('BENCH_PAIRS', 5, 1);
const WARMUP = setting('BENCH_WARMUP', 40_000, 0);
const ROWS_PER_MESSAGE = 3;
const LATENCY_RATE = 1_000;
const LATENCY_SECONDS = 20;
const CORES = availableParallelism();

/** Message i of device d: three readings whose values identify it (bac d+1, i). */
function payload(i: number): string {
  const v = (i % 10_000) / 100;
  return `{"humiditeAmbiante":${v},"humiditeSol":${v},"temperatureAmbiante":${(v * 0.8 - 20).toFixed(2)}}`;
}

async function devices(stack: Stack, count: number, prefix: string): Promise<MqttClient[]> {
  return Promise.all(Array.from({ length: count }, (_, n) => stack.device(`${prefix}:${String(n).padStart(2, '0')}`)));
}

/** Every device publishes `perDevice` messages at QoS 1 as fast as the broker takes them. */
async function publishAll(clients: MqttClient[], perDevice: number, offset = 0): Promise<void> {
  await Promise.all(
    clients.map(async (client, d) => {
      const topic = `serre/1/bac/${d + 1}`;
      const window = 200; // messages in flight per device
      for (let start = 0; start < perDevice; start += window) {
        const batch: Promise<unknown>[] = [];
        for (let i = start; i < Math.min(perDevice, start + window); i++) batch.push(client.publishAsync(topic, payload(offset + i), { qos: 1 }));
        await Promise.all(batch);
      }
    }),
  );
}

/** The broker alone: a plain QoS 1 subscriber that acknowledges at once (after the same warm-up as the bridge). */
async function brokerLimit(stack: Stack, clients: MqttClient[]): Promise<number> {
  await settle(stack); // the previous phase's rows are still being written out or purged
  const pair = stack.pki.bridge;
  const subscriber = deviceClient(stack.broker, { ...pair, caFile: stack.pki.caFile }, { clientId: `bench-sub-${randomBytes(3).toString('hex')}`, clean: true });
  await waitFor('bench subscriber', () => subscriber.connected);
  await subscriber.subscribeAsync('serre/+/bac/+', { qos: 1 });
  let received = 0;
  let target = Number.POSITIVE_INFINITY;
  let reached = () => {};
  subscriber.on('message', () => {
    if (++received === target) reached();
  });
  /** Resolves once `count` messages have been received in all. */
  const until = (count: number) =>
    new Promise<void>((resolve) => {
      if (received >= count) return resolve();
      target = count;
      reached = resolve;
    });
  const warmPerDevice = Math.ceil(WARMUP / clients.length);
  await publishAll(clients, warmPerDevice);
  await until(warmPerDevice * clients.length);
  const perDevice = Math.ceil(MESSAGES / clients.length);
  const started = performance.now();
  await publishAll(clients, perDevice, warmPerDevice);
  await until((warmPerDevice + perDevice) * clients.length);
  const seconds = (performance.now() - started) / 1000;
  subscriber.end(true);
  return (perDevice * clients.length) / seconds;
}

/**
 * MySQL alone: multi-row INSERTs of 1 000 rows per transaction into `mesure`, the usual
 * batched-INSERT figure (the bridge sends up to 6 000 rows per transaction, in one round trip).
 */
async function databaseLimit(stack: Stack): Promise<number> {
  await emptyMesure(stack);
  const pool = mysql.createPool({ ...LOCAL_MARIADB, database: stack.db.name, connectionLimit: 1 });
  const [bacs] = await pool.query<RowDataPacket[]>('SELECT id_bac FROM bac LIMIT 1');
  const bac = Number(bacs[0]!.id_bac);
  const rows = MESSAGES * ROWS_PER_MESSAGE;
  const started = performance.now();
  for (let done = 0; done < rows; done += 1_000) {
    const values = Array.from({ length: 1_000 }, (_, i) => [bac, (i % 3) + 1, i / 100, '2026-01-01 00:00:00']);
    const conn = await pool.getConnection();
    await conn.beginTransaction();
    await conn.query<ResultSetHeader>('INSERT INTO mesure (bac, capteur, value, mesure_a) VALUES ?', [values]);
    await conn.commit();
    conn.release();
  }
  const seconds = (performance.now() - started) / 1000;
  await pool.end();
  return rows / seconds;
}

interface EndToEnd {
  /** Steady rate, after the warm-up. */
  messagesPerSecond: number;
  /** Rate of the first WARMUP messages after the process started. */
  coldMessagesPerSecond: number;
  cpuSecondsPer10k: number;
  peakRssMiB: number;
  /** CPU microseconds per message of every process doing the work. */
  cpuPerMessageUs: { bridge: number; broker: number; mariadb: number; publishers: number };
}

/** The local MariaDB's process id, from its pid file (undefined if it cannot be read). */
async function mariadbPid(stack: Stack): Promise<number | undefined> {
  const [row] = await stack.db.query<RowDataPacket[]>('SELECT @@pid_file AS f');
  try {
    return Number(readFileSync(String(row?.f), 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Ends the persistent sessions of a finished phase's bridges: the broker would otherwise queue
 * every later message for them, and its periodic save of those queues stalls later phases.
 */
async function endSessions(stack: Stack, clientIds: string[]): Promise<void> {
  for (const clientId of clientIds) {
    const client = deviceClient(stack.broker, { ...stack.pki.bridge, caFile: stack.pki.caFile }, { clientId, clean: true });
    await waitFor(`session ${clientId} ended`, () => client.connected);
    await client.endAsync();
  }
}

/**
 * Waits until MariaDB has finished the previous phase's background work (purge, page flushing
 * after a TRUNCATE of hundreds of thousands of rows): otherwise the first phase after a heavy one
 * competes with it for the two cores and measures that instead of the bridge.
 */
async function settle(stack: Stack): Promise<void> {
  const pid = await mariadbPid(stack);
  if (!pid) return;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const before = cpuSeconds(pid);
    await sleep(500);
    if (cpuSeconds(pid) - before < 0.05) return; // under 10 % of a core
  }
}

/** An empty `mesure` for the next phase, once MariaDB is done with emptying it. */
async function emptyMesure(stack: Stack): Promise<void> {
  await stack.db.query('TRUNCATE TABLE mesure');
  await settle(stack);
}

interface Phase {
  seconds: number;
  /** CPU seconds of each process over the phase. */
  cpu: { bridges: number; broker: number; mariadb: number; publishers: number };
}

/**
 * The highest `id_mesure`: read from the primary key's end, where COUNT(*) scans every row (with
 * hundreds of thousands of rows, polling it would take a good part of a core from the bridge).
 * Ids follow the rows inserted since the TRUNCATE; the count then confirms.
 */
async function lastMesureId(stack: Stack): Promise<number> {
  const [row] = await stack.db.query<RowDataPacket[]>('SELECT coalesce(max(id_mesure), 0) AS id FROM mesure');
  return Number(row?.id);
}

/** Publishes `perDevice` messages from every device and waits until MySQL holds `rowsAfter` rows. */
async function publishAndCommit(stack: Stack, clients: MqttClient[], perDevice: number, offset: number, rowsAfter: number, pids: number[]): Promise<Phase> {
  const others = { broker: stack.broker.pid, mariadb: await mariadbPid(stack) };
  const cpu = (pid: number | undefined) => (pid ? cpuSeconds(pid) : Number.NaN);
  const bridgesCpu = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const before = { bridges: bridgesCpu(), broker: cpu(others.broker), mariadb: cpu(others.mariadb) };
  const selfBefore = process.cpuUsage();
  const started = performance.now();
  await publishAll(clients, perDevice, offset);
  await waitFor('all rows committed', async () => (await lastMesureId(stack)) >= rowsAfter, 600_000, 50);
  await waitFor('all rows committed (count)', async () => (await stack.db.count('mesure')) >= rowsAfter, 600_000, 50);
  const seconds = (performance.now() - started) / 1000;
  const self = process.cpuUsage(selfBefore);
  return {
    seconds,
    cpu: {
      bridges: bridgesCpu() - before.bridges,
      broker: cpu(others.broker) - before.broker,
      mariadb: cpu(others.mariadb) - before.mariadb,
      // The benchmark process: the device clients, plus its own polling of the row count.
      publishers: (self.user + self.system) / 1e6,
    },
  };
}

/**
 * Published → committed rows, with `instances` bridges (more than one share the readings
 * through MQTT_SHARED_GROUP). CPU and RSS are those of the bridge processes (RSS: the largest).
 *
 * A bridge runs for months: the rate that matters is the steady one, once V8 has compiled its
 * hot paths and sized its heap. So each new bridge process first takes WARMUP messages, timed
 * apart (`coldMessagesPerSecond`), then the MESSAGES that are measured.
 */
async function endToEnd(stack: Stack, clients: MqttClient[], sync: 'normal' | 'full', instances = 1, extra: Record<string, string> = {}): Promise<EndToEnd> {
  await emptyMesure(stack);
  const id = `bench-${sync}-${instances}-${randomBytes(3).toString('hex')}`;
  const shared: Record<string, string> = instances > 1 ? { MQTT_SHARED_GROUP: id, MQTT_CLIENT_ID: `${id}-{slot}`, DATA_DIR: newDataDir() } : { MQTT_CLIENT_ID: id };
  const bridges: BridgeProcess[] = [];
  for (let i = 0; i < instances; i++) bridges.push(await stack.startBridge({ LOG_LEVEL: 'WARNING', JOURNAL_SYNC: sync, ...shared, ...extra }));
  const pids = bridges.map((b) => b.child.pid!);
  // Each bridge of a shared group gets its share of the warm-up: all of them take WARMUP each.
  const warmPerDevice = Math.ceil((WARMUP * instances) / clients.length);
  const warmRows = warmPerDevice * clients.length * ROWS_PER_MESSAGE;
  const cold = warmRows > 0 ? await publishAndCommit(stack, clients, warmPerDevice, 0, warmRows, pids) : undefined;
  const perDevice = Math.ceil(MESSAGES / clients.length);
  const messages = perDevice * clients.length;
  const { seconds, cpu } = await publishAndCommit(stack, clients, perDevice, warmPerDevice, warmRows + messages * ROWS_PER_MESSAGE, pids);
  const perMessageUs = (cpuS: number) => (cpuS / messages) * 1e6;
  const result = {
    messagesPerSecond: messages / seconds,
    coldMessagesPerSecond: cold ? (warmPerDevice * clients.length) / cold.seconds : Number.NaN,
    cpuSecondsPer10k: (cpu.bridges / messages) * 10_000,
    peakRssMiB: Math.max(...pids.map(peakRssMiB)),
    cpuPerMessageUs: {
      bridge: perMessageUs(cpu.bridges),
      broker: perMessageUs(cpu.broker),
      mariadb: perMessageUs(cpu.mariadb),
      publishers: perMessageUs(cpu.publishers),
    },
  };
  await Promise.all(bridges.map((b) => b.stop()));
  await endSessions(stack, instances > 1 ? bridges.map((_, i) => `${id}-${i + 1}`) : [id]);
  return result;
}

/** Steady 1 000 msg/s; latency = first time the row is seen in MySQL − publish time. */
async function latency(stack: Stack, clients: MqttClient[]): Promise<{ p50: number; p99: number; max: number; peakRssMiB: number }> {
  await emptyMesure(stack);
  const clientId = `bench-lat-${randomBytes(3).toString('hex')}`;
  const bridge: BridgeProcess = await stack.startBridge({ LOG_LEVEL: 'WARNING', MQTT_CLIENT_ID: clientId });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const pool = mysql.createPool({ ...LOCAL_MARIADB, database: stack.db.name, connectionLimit: 1 });
  let lastId = 0;
  let polling = true;
  let stopAt = Infinity;
  const poller = (async () => {
    while (polling || sentAt.size > 0) {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT m.id_mesure, b.numero AS bac, ROUND(m.value * 100) AS i FROM mesure m JOIN bac b ON b.id_bac = m.bac WHERE m.id_mesure > ? AND m.capteur = 1 ORDER BY m.id_mesure',
        [lastId],
      );
      const now = performance.now();
      for (const row of rows) {
        lastId = Math.max(lastId, Number(row.id_mesure));
        const key = `${row.bac}/${row.i}`;
        const t = sentAt.get(key);
        if (t !== undefined) {
          latencies.push(now - t);
          sentAt.delete(key);
        }
      }
      if (!polling && rows.length === 0) await sleep(20);
      else await sleep(2);
      if (!polling && sentAt.size > 0 && performance.now() - stopAt > 30_000) break;
    }
  })();
  const total = LATENCY_RATE * LATENCY_SECONDS;
  const tickMs = 10;
  let i = 0;
  const started = performance.now();
  while (i < total) {
    const due = Math.floor(((performance.now() - started) / 1000) * LATENCY_RATE);
    while (i < Math.min(due, total)) {
      const d = i % clients.length;
      const n = Math.floor(i / clients.length);
      sentAt.set(`${d + 1}/${n % 10_000}`, performance.now());
      void clients[d]!.publishAsync(`serre/1/bac/${d + 1}`, payload(n), { qos: 0 });
      i++;
    }
    await sleep(tickMs);
  }
  stopAt = performance.now();
  polling = false;
  await poller;
  await pool.end();
  const rss = peakRssMiB(bridge.child.pid!);
  await bridge.stop();
  await endSessions(stack, [clientId]);
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? NaN, peakRssMiB: rss };
}

interface Pair {
  dbRows: number;
  broker: number;
  full: EndToEnd;
  /** min(broker, DB rows / 3) */
  limit: number;
  share: number;
}

async function main(): Promise<void> {
  console.log(`parc-bridge benchmark: ${MESSAGES} messages of ${ROWS_PER_MESSAGE} readings from ${DEVICES} mTLS devices, after ${WARMUP} to warm up`);
  const stack = await createStack({ database: { serres: 1, bacsPerSerre: DEVICES } });
  try {
    const clients = await devices(stack, DEVICES, '02:00:00:00:00');
    await databaseLimit(stack); // warm-up: the first pass into a new table is the slowest
    // This machine's speed drifts by a third within minutes: the limits and the bridge's rate
    // are measured back to back, PAIRS times, and the median pair is the figure.
    const pairs: Pair[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const dbRows = await databaseLimit(stack);
      const broker = await brokerLimit(stack, clients);
      const full = await endToEnd(stack, clients, 'full');
      const limit = Math.min(broker, dbRows / ROWS_PER_MESSAGE);
      const share = full.messagesPerSecond / limit;
      pairs.push({ dbRows, broker, full, limit, share });
      console.log(
        `  pair ${i + 1}: MySQL batched INSERT ${round(dbRows)} rows/s (${round(dbRows / ROWS_PER_MESSAGE)} msg/s of 3 readings), broker alone (QoS 1) ${round(broker)} msg/s; ` +
          `bridge end to end (JOURNAL_SYNC=full) ${round(full.messagesPerSecond)} msg/s = ${round(100 * share)} %` +
          (WARMUP > 0 ? ` (its first ${WARMUP} messages after start: ${round(full.coldMessagesPerSecond)} msg/s)` : ''),
      );
    }
    const median = [...pairs].sort((a, b) => a.share - b.share)[Math.floor(pairs.length / 2)]!;
    const { dbRows, broker, full, limit } = median;
    console.log(
      `  median pair: MySQL ${round(dbRows)} rows/s, broker ${round(broker)} msg/s; bridge ${round(full.messagesPerSecond)} msg/s = ${round((100 * full.messagesPerSecond) / limit)} % of min(broker, DB/3); ` +
        `${round(full.cpuSecondsPer10k, 2)} CPU s / 10k msg; peak RSS ${round(full.peakRssMiB)} MiB`,
    );
    const cpu = full.cpuPerMessageUs;
    const cpuTotal = cpu.bridge + cpu.broker + cpu.mariadb + cpu.publishers;
    console.log(
      `    CPU µs per message: bridge ${round(cpu.bridge, 1)}, broker ${round(cpu.broker, 1)}, MariaDB ${round(cpu.mariadb, 1)}, publishers ${round(cpu.publishers, 1)} ` +
        `= ${round(cpuTotal, 1)} µs: ${CORES} cores allow at most ${round((CORES * 1e6) / cpuTotal)} msg/s with every core busy`,
    );
    const normal = await endToEnd(stack, clients, 'normal');
    // The phases after the pairs have no limit of their own measured beside them: rates only.
    console.log(`  bridge end to end (sync normal): ${round(normal.messagesPerSecond)} msg/s; peak RSS ${round(normal.peakRssMiB)} MiB`);
    const v8Defaults = await endToEnd(stack, clients, 'normal', 1, { NODE_OPTIONS: '' });
    console.log(`  same with V8's default heap (NODE_OPTIONS="" instead of "${IMAGE_NODE_OPTIONS}"): ${round(v8Defaults.messagesPerSecond)} msg/s; peak RSS ${round(v8Defaults.peakRssMiB)} MiB`);
    const two = await endToEnd(stack, clients, 'normal', 2);
    const three = await endToEnd(stack, clients, 'normal', 3);
    console.log(
      `  shared group, 1 / 2 / 3 bridges: ${round(normal.messagesPerSecond)} / ${round(two.messagesPerSecond)} / ${round(three.messagesPerSecond)} msg/s ` +
        `(× ${round(two.messagesPerSecond / normal.messagesPerSecond, 2)} / × ${round(three.messagesPerSecond / normal.messagesPerSecond, 2)}; ${CORES} cores shared with broker, MariaDB and publishers)`,
    );
    const lat = await latency(stack, clients);
    console.log(`  latency at ${LATENCY_RATE} msg/s, published → row visible: p50 ${round(lat.p50, 1)} ms, p99 ${round(lat.p99, 1)} ms, max ${round(lat.max, 1)} ms; peak RSS ${round(lat.peakRssMiB)} MiB`);
    const summary = {
      messages: MESSAGES,
      devices: DEVICES,
      warmup: WARMUP,
      pairs: pairs.map((p) => ({ dbRowsPerS: round(p.dbRows), brokerMsgPerS: round(p.broker), bridgeFullMsgPerS: round(p.full.messagesPerSecond), bridgeFullColdMsgPerS: round(p.full.coldMessagesPerSecond), share: round(p.share, 2) })),
      brokerMsgPerS: round(broker),
      dbRowsPerS: round(dbRows),
      limitMsgPerS: round(limit),
      bridgeFullMsgPerS: round(full.messagesPerSecond),
      bridgeFullShareOfLimit: round(full.messagesPerSecond / limit, 2),
      bridgeNormalMsgPerS: round(normal.messagesPerSecond),
      instances2MsgPerS: round(two.messagesPerSecond),
      instances3MsgPerS: round(three.messagesPerSecond),
      cpuSecondsPer10k: round(full.cpuSecondsPer10k, 2),
      cpuUsPerMessage: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(v, 1)])),
      v8DefaultHeapMsgPerS: round(v8Defaults.messagesPerSecond),
      v8DefaultHeapPeakRssMiB: round(v8Defaults.peakRssMiB),
      latencyP50Ms: round(lat.p50, 1),
      latencyP99Ms: round(lat.p99, 1),
      peakRssFullSpeedMiB: round(Math.max(...pairs.map((p) => p.full.peakRssMiB), normal.peakRssMiB)),
      peakRssSteadyMiB: round(lat.peakRssMiB),
    };
    console.log(JSON.stringify(summary));
    for (const c of clients) c.end(true);
  } finally {
    await stack.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
