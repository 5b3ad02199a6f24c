/**
 * Cost of the greenhouse watch on the drain's path, measured apart from the full benchmark:
 * ns per committed reading recorded, µs per look at every sensor (a tick), and the heap the
 * state of 1 000 sensors takes.
 *
 *   node --expose-gc --import tsx bench/watch.ts
 */
import type { MesureRow } from '../src/decode/types.js';
import { SensorTracker } from '../src/watch/sensor-tracker.js';

const SENSORS = 1_000;
const CAPTEURS = 3;
const BATCH = 2_000;
const BATCHES = 5_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

/** Readings of 1 000 sensors (334 bacs × 3 capteurs), in batches like the drain commits them. */
function batches(count: number): MesureRow[][] {
  const out: MesureRow[][] = [];
  let i = 0;
  for (let b = 0; b < count; b++) {
    const rows: MesureRow[] = [];
    for (let r = 0; r < BATCH; r++, i++) {
      const sensor = i % SENSORS;
      rows.push({ bac: 1 + Math.floor(sensor / CAPTEURS), capteur: 1 + (sensor % CAPTEURS), value: i % 100, at: 1_700_000_000_000 + i });
    }
    out.push(rows);
  }
  return out;
}

/** Heap of the state of 1 000 sensors, averaged over several trackers kept alive at once. */
function heapOf1000Sensors(): number {
  const copies = 20;
  const rows = batches(1)[0]!.slice(0, SENSORS);
  const trackers: SensorTracker[] = [];
  gc!();
  const before = process.memoryUsage().heapUsed;
  for (let c = 0; c < copies; c++) {
    const tracker = new SensorTracker(900_000);
    tracker.record(rows, 1_700_000_010_000, 10_000);
    trackers.push(tracker);
  }
  gc!();
  const after = process.memoryUsage().heapUsed;
  if (trackers.some((t) => t.size !== SENSORS)) throw new Error(`expected ${SENSORS} sensors per tracker`);
  return Math.round((after - before) / copies);
}

function nsPerReading(): number {
  const input = batches(50); // reused: the cost measured is the tracker's, not building rows
  const tracker = new SensorTracker(900_000);
  for (const rows of input) tracker.record(rows, 1_700_000_010_000, 10_000); // warm-up
  const started = process.hrtime.bigint();
  for (let b = 0; b < BATCHES; b++) tracker.record(input[b % input.length]!, 1_700_000_010_000 + b, 10_000 + b);
  return Number(process.hrtime.bigint() - started) / (BATCHES * BATCH);
}

function microsPerTick(): number {
  const tracker = new SensorTracker(900_000);
  tracker.record(batches(1)[0]!.slice(0, SENSORS), 1_700_000_010_000, 10_000);
  const ticks = 20_000;
  const started = process.hrtime.bigint();
  for (let t = 0; t < ticks; t++) tracker.judge({ nowMono: 10_000 + t, lagMs: 0, listeningSinceMono: 0 });
  return Number(process.hrtime.bigint() - started) / ticks / 1_000;
}

const heap = [heapOf1000Sensors(), heapOf1000Sensors(), heapOf1000Sensors()];
const ns = [nsPerReading(), nsPerReading(), nsPerReading()];
const tick = microsPerTick();
console.log(
  JSON.stringify(
    {
      sensors: SENSORS,
      heapBytesFor1000Sensors: heap,
      nsPerReadingRecorded: ns.map((n) => Math.round(n * 10) / 10),
      microsPerTickOver1000Sensors: Math.round(tick * 10) / 10,
    },
    null,
    2,
  ),
);
