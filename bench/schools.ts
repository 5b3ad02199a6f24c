/**
 * `npm run bench:schools`: one central bridge serving many schools (SCHOOLS, docs/schools.md),
 * measured at 10 and at 200 schools (BENCH_SCHOOLS="10,200"). For each count: that many
 * throwaway databases on the local MariaDB (made and migrated first; minutes for 200), a
 * private mTLS Mosquitto (the shipped config), and one bridge run as the Docker image runs it
 * (same NODE_OPTIONS). Two phases:
 * - steady: every school publishes one message of 3 readings every BENCH_SCHOOL_INTERVAL ms
 *   (1 000: a school-like rate, each bac every few seconds) for BENCH_STEADY_SECONDS;
 * - burst: BENCH_BURST messages spread over the schools, as fast as the broker takes them (a
 *   backlog after an outage), end to end: from the first publication to the last row committed.
 * Reports peak RSS, the largest V8 heap, the bridge's database connections, the journals' disk,
 * the rates, and checks that every school's database holds its readings exactly once.
 * Options (env): BENCH_SCHOOLS, BENCH_STEADY_SECONDS (60), BENCH_SCHOOL_INTERVAL (1000),
 * BENCH_BURST (40000), BENCH_JOURNAL_SYNC (full).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { RowDataPacket } from 'mysql2';
import { newDataDir, startBridge, type BridgeProcess } from '../test/helpers/bridge-process.js';
import { schoolDatabase } from '../src/schools/school-ids.js';
import { createSchoolDatabases, startCentralBroker, type CentralBroker, type SchoolDatabases } from '../test/helpers/schools.js';
import { sleep, waitFor } from '../test/helpers/wait.js';
import { cpuSeconds, peakRssMiB, round } from './measure.js';

const setting = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number ≥ 1, not "${process.env[name]}"`);
  return value;
};
const COUNTS = (process.env.BENCH_SCHOOLS ?? '10,200').split(',').map(Number);
const STEADY_SECONDS = setting('BENCH_STEADY_SECONDS', 60);
const SCHOOL_INTERVAL_MS = setting('BENCH_SCHOOL_INTERVAL', 1_000);
/** Messages of the burst, all schools together (the same load at 10 and at 200 schools). */
const BURST_TOTAL = setting('BENCH_BURST', 40_000);
const PUBLISHERS = 10;
const BACS = 6; // 2 serres of 3 bacs in each school's database
const ROWS_PER_MESSAGE = 3;
const TICK_MS = 100;
/** Like a Prometheus scrape, not more often: /metrics of 200 schools costs the bridge CPU. */
const SAMPLE_MS = 5_000;
const JOURNAL_SYNC = process.env.BENCH_JOURNAL_SYNC ?? 'full';

const payload = (i: number) => {
  const v = (i % 10_000) / 100;
  return `{"humiditeAmbiante":${v},"humiditeSol":${v},"temperatureAmbiante":${(v * 0.8 - 20).toFixed(2)}}`;
};
const topic = (school: string, i: number) => `ecole/${school}/serre/${1 + (Math.floor(i / 3) % 2)}/bac/${1 + (i % 3)}`;

/** Sums a metric's series from the bridge's /metrics text. */
function metricSum(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

function diskBytes(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    bytes += entry.isDirectory() ? diskBytes(path) : statSync(path).size;
  }
  return bytes;
}

interface Peaks {
  heapMiB: number;
  connections: number;
  backlog: number;
}

/** Samples the bridge's heap, its database connections and its backlog every SAMPLE_MS. */
function sampler(bridge: BridgeProcess, dbs: SchoolDatabases) {
  const peaks: Peaks = { heapMiB: 0, connections: 0, backlog: 0 };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const text = (await bridge.get('/metrics')).body;
        peaks.heapMiB = Math.max(peaks.heapMiB, metricSum(text, 'parc_bridge_nodejs_heap_size_used_bytes') / 1024 / 1024);
        peaks.backlog = Math.max(peaks.backlog, metricSum(text, 'parc_bridge_journal_backlog_entries'));
        const [rows] = await dbs.admin.query<RowDataPacket[]>('SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [dbs.user]);
        peaks.connections = Math.max(peaks.connections, Number(rows[0]!.n));
      } catch {
        // a sample missed under load
      }
      await sleep(SAMPLE_MS);
    }
  })();
  return {
    peaks,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

async function rowsWritten(bridge: BridgeProcess): Promise<number> {
  return metricSum((await bridge.get('/metrics')).body, 'parc_bridge_rows_written_total');
}

async function waitForRows(bridge: BridgeProcess, rows: number): Promise<void> {
  await waitFor(`${rows} rows written`, async () => (await rowsWritten(bridge)) >= rows, 600_000, 200);
}

async function runFor(count: number, central: CentralBroker, publishers: MqttClient[]) {
  const schools = Array.from({ length: count }, (_, i) => `ecole-${i + 1}`);
  const sent = new Map<string, number>(schools.map((s) => [s, 0]));
  const publish = (client: MqttClient, school: string) => {
    const i = sent.get(school)!;
    sent.set(school, i + 1);
    return client.publishAsync(topic(school, i), payload(i), { qos: 1 });
  };
  const publisherOf = (index: number) => publishers[index % publishers.length]!;

  let started = performance.now();
  const dbs = await createSchoolDatabases(schools, { serres: 2, bacsPerSerre: BACS / 2, concurrency: 4 });
  const makingSeconds = (performance.now() - started) / 1000;
  const dataDir = newDataDir();
  try {
    started = performance.now();
    const bridge = await startBridge(
      { ...central.env(), MQTT_CLIENT_ID: `bench-schools-${randomBytes(3).toString('hex')}`, ...dbs.env(), DATA_DIR: dataDir, LOG_LEVEL: 'WARNING', JOURNAL_SYNC },
      { waitReady: true },
    );
    const startSeconds = (performance.now() - started) / 1000;
    const samples = sampler(bridge, dbs);
    const pid = bridge.child.pid!;
    const cpuBefore = cpuSeconds(pid);

    // Steady: each school once per interval, spread over the interval in ticks.
    const ticksPerInterval = Math.max(1, Math.round(SCHOOL_INTERVAL_MS / TICK_MS));
    let tick = 0;
    const inFlight = new Set<Promise<unknown>>();
    const timer = setInterval(() => {
      schools.forEach((school, i) => {
        if (i % ticksPerInterval !== tick % ticksPerInterval) return;
        const p = publish(publisherOf(i), school);
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      });
      tick += 1;
    }, TICK_MS);
    const steadyStarted = performance.now();
    await sleep(STEADY_SECONDS * 1000);
    clearInterval(timer);
    await Promise.all([...inFlight]);
    const steadyMessages = [...sent.values()].reduce((a, b) => a + b, 0);
    await waitForRows(bridge, steadyMessages * ROWS_PER_MESSAGE);
    const steadySeconds = (performance.now() - steadyStarted) / 1000;
    const steadyCpu = cpuSeconds(pid) - cpuBefore;
    const steadyRss = peakRssMiB(pid);

    // Burst: each school its share, each publisher a window of messages in flight.
    const BURST = Math.ceil(BURST_TOTAL / count);
    const rowsBefore = await rowsWritten(bridge);
    started = performance.now();
    await Promise.all(
      publishers.map(async (client, p) => {
        const mine = schools.filter((_, i) => i % publishers.length === p);
        for (let round = 0; round < BURST; round += 10) {
          const batch: Promise<unknown>[] = [];
          for (const school of mine) for (let k = round; k < Math.min(BURST, round + 10); k++) batch.push(publish(client, school));
          await Promise.all(batch);
        }
      }),
    );
    const published = (performance.now() - started) / 1000;
    await waitForRows(bridge, rowsBefore + count * BURST * ROWS_PER_MESSAGE);
    const burstSeconds = (performance.now() - started) / 1000;
    await samples.stop();

    // Every school's readings, exactly once, in its own database.
    let wrong = 0;
    for (const school of schools) {
      // Through the admin connection: a pool per school would take 200 of the server's connections.
      const [rows] = await dbs.admin.query<RowDataPacket[]>('SELECT count(*) AS n FROM ??.mesure', [schoolDatabase(dbs.template, school)]);
      if (Number(rows[0]!.n) !== sent.get(school)! * ROWS_PER_MESSAGE) wrong += 1;
    }
    const result = {
      schools: count,
      JOURNAL_SYNC,
      'databases made and migrated (s)': round(makingSeconds, 1),
      'bridge ready (s)': round(startSeconds, 1),
      'steady: messages/s offered (each 3 rows)': round(steadyMessages / STEADY_SECONDS, 1),
      'steady: bridge CPU (% of one core)': round((steadyCpu / steadySeconds) * 100, 1),
      'steady: peak RSS (MiB)': round(steadyRss),
      'burst: messages': count * BURST,
      'burst: published in (s)': round(published, 1),
      'burst: end to end msg/s (published → rows committed)': round((count * BURST) / burstSeconds),
      'peak RSS (MiB)': round(peakRssMiB(pid)),
      'peak V8 heap used (MiB)': round(samples.peaks.heapMiB, 1),
      'peak database connections of the bridge': samples.peaks.connections,
      'peak backlog (entries, all schools)': samples.peaks.backlog,
      'journals on disk (MiB)': round(diskBytes(dataDir) / 1024 / 1024, 1),
      'schools whose rows are not exactly once': wrong,
    };
    console.table(result);
    await bridge.stop('SIGTERM');
    return result;
  } finally {
    await dbs.drop();
  }
}

async function main(): Promise<void> {
  const central = await startCentralBroker();
  try {
    const publishers = await Promise.all(Array.from({ length: PUBLISHERS }, (_, p) => central.publisher(`bench-school-broker-${p}`)));
    const results = [];
    for (const count of COUNTS) results.push(await runFor(count, central, publishers));
    console.log(JSON.stringify(results, null, 2));
    for (const p of publishers) p.end(true);
  } finally {
    await central.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
