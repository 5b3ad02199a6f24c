/**
 * `parc-bridge simulate`: ESP32-like controllers over mutual TLS that announce themselves, leave
 * a Last Will and publish readings (and, on request, bad messages and abrupt disconnects), for
 * demos, benchmarks and end-to-end tests of a running bridge.
 */
import { parseSimulateArgs, USAGE } from './simulate/args.js';
import { runSimulation } from './simulate/run.js';

export async function simulateCommand(args: string[]): Promise<number> {
  const parsed = parseSimulateArgs(args, process.env);
  if (parsed.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if ('errors' in parsed) {
    process.stderr.write(`simulate: ${parsed.errors.join('\n          ')}\n(see \`simulate --help\`)\n`);
    return 2;
  }
  let onSignal!: () => void;
  const stopRequested = new Promise<void>((resolve) => (onSignal = resolve));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await runSimulation(parsed.options, {
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
      stopRequested,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
