import { existsSync } from 'node:fs';
import type { SimulateOptions } from './args.js';
import { controllerMac, deviceIdentity, makeCerts, missingCertsMessage, missingFiles } from './certs.js';
import { SimulatedController } from './controller.js';
import { badMessage, newBacState, nextReading, pickBadKind, readingTopic, type BacState, type Rng } from './readings.js';
import { monotonicMs } from '../../time.js';
import { PROGRESS_EVERY_MS, Stats } from './stats.js';

/**
 * The simulation: connects the controllers, then publishes at the requested rate, round-robin
 * over every bac, until the duration, the count or a signal ends it.
 */

export interface SimulationIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Resolves when the user asks to stop (SIGINT / SIGTERM). */
  stopRequested: Promise<void>;
  rng?: Rng;
}

const CONNECT_TIMEOUT_MS = 15_000;
const TICK_MS = 20;
/** Unacknowledged messages allowed in total: past this the simulator waits for the broker. */
const MAX_PENDING = 1_000;
const ACK_WAIT_MS = 10_000;

interface BacSlot {
  controller: SimulatedController;
  serre: number;
  bac: number;
  state: BacState;
}

async function connectAll(controllers: SimulatedController[]): Promise<string | undefined> {
  const outcomes = await Promise.allSettled(controllers.map((c) => c.waitConnected(CONNECT_TIMEOUT_MS)));
  const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [String((o.reason as Error).message)] : []));
  return failures.length > 0 ? failures.join('\n  ') : undefined;
}

export async function runSimulation(opts: SimulateOptions, io: SimulationIo): Promise<number> {
  const rng = io.rng ?? Math.random;
  const identities = Array.from({ length: opts.serres }, (_, i) => deviceIdentity(opts.certsDir, controllerMac(i + 1)));
  const incomplete = identities.filter((id) => missingFiles(id).length > 0);
  if (incomplete.length > 0) {
    if (!opts.makeCerts) {
      io.err(missingCertsMessage(opts.certsDir, incomplete));
      return 1;
    }
    await makeCerts(opts.certsDir, incomplete, io.err);
  }

  if (opts.broker.caFile && !existsSync(opts.broker.caFile)) {
    io.err(`simulate: MQTT_CA_FILE ${opts.broker.caFile} does not exist (unset it to use each device's ca.crt)`);
    return 1;
  }

  const stats = new Stats();
  const settings = { host: opts.broker.host, port: opts.broker.port, caFile: opts.broker.caFile, qos: opts.qos };
  const controllers = identities.map((id) => new SimulatedController(id, settings, stats));
  io.err(`simulate: connecting ${controllers.length} controller(s) to ${opts.broker.host}:${opts.broker.port}`);
  const failure = await connectAll(controllers);
  if (failure) {
    io.err(`simulate: cannot connect:\n  ${failure}\n(run \`npm run doctor\` to check the broker, or check --certs-dir and MQTT_CA_FILE)`);
    await Promise.all(controllers.map((c) => c.stop(0)));
    return 1;
  }

  const slots: BacSlot[] = [];
  controllers.forEach((controller, i) => {
    const offset = (rng() - 0.5) * 3;
    for (let b = 1; b <= opts.bacs; b++) slots.push({ controller, serre: i + 1, bac: b, state: newBacState(rng, offset) });
  });

  const startedAt = monotonicMs();
  let slotsDone = 0;
  let cursor = 0;
  const countReached = () => opts.count !== undefined && stats.bacMessages() >= opts.count;
  const pending = () => controllers.reduce((n, c) => n + c.pendingAcks, 0);

  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const publishDue = () => {
    const due = Math.floor(((monotonicMs() - startedAt) * opts.rate) / 1000);
    while (slotsDone < due && !countReached() && pending() < MAX_PENDING) {
      const slot = slots[cursor++ % slots.length]!;
      slotsDone++;
      const bad = opts.badRatio > 0 && rng() < opts.badRatio;
      const sent = bad
        ? (() => {
            const kind = pickBadKind(rng);
            const m = badMessage(kind, slot.serre, slot.bac, opts.bacs, rng);
            return slot.controller.publish(m.topic, m.payload, kind);
          })()
        : slot.controller.publish(readingTopic(slot.serre, slot.bac), JSON.stringify(nextReading(Date.now(), slot.state, rng)), 'reading');
      // An offline device loses that reading, as a real one would.
      if (!sent) stats.count('skipped_offline');
    }
    if (countReached()) finish();
  };

  const timers: NodeJS.Timeout[] = [setInterval(publishDue, TICK_MS)];
  timers.push(
    setInterval(
      () => io.out(stats.progressLine(monotonicMs(), { connected: controllers.filter((c) => c.connected).length, pendingAcks: pending() })),
      PROGRESS_EVERY_MS,
    ),
  );
  if (opts.disconnectEverySec !== undefined) {
    let next = 0;
    timers.push(setInterval(() => controllers[next++ % controllers.length]!.drop(), opts.disconnectEverySec * 1000));
  }
  if (opts.durationSec !== undefined) timers.push(setTimeout(finish, opts.durationSec * 1000));
  void io.stopRequested.then(finish);

  await finished;
  for (const t of timers) clearInterval(t);
  await Promise.all(controllers.map((c) => c.stop(ACK_WAIT_MS)));
  const unacked = stats.get('publish_failed');
  io.out(stats.summaryLine(monotonicMs()));
  if (unacked > 0) io.err(`simulate: ${unacked} publish(es) failed (connection lost before they were sent)`);
  return 0;
}
