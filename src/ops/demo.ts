/**
 * `parc-bridge demo` (`npm run demo`): the bridge working end to end on this machine without
 * Docker: private mTLS Mosquitto, demo database, bridge, simulated controllers, status page.
 */
import { parseArgs } from 'node:util';
import { errorMessage } from '../error-message.js';
import { DEFAULT_DEMO_DB_NAME, demoDbNameProblem } from './demo/database-guard.js';
import { runDemo, type DemoOptions } from './demo/run.js';

export const DEMO_USAGE = `Usage: parc-bridge demo [options]   (npm run demo -- [options])

Runs the whole chain on this machine, without Docker; needs mosquitto, openssl and a MariaDB /
MySQL. Makes the PKI once with mosquitto/server-certs.sh and clients-certs.sh, starts Mosquitto
from the shipped mosquitto.conf (mutual TLS), creates and migrates the demo database, runs the
bridge and simulated controllers, and prints the status page's address. Ctrl-C stops it all.
A second run reuses the folder (certificates, broker sessions, journal) and the database.

Options:
  --dir <folder>      where the demo keeps its PKI, broker data, journal and logs (default demo/)
  --serres <n>        simulated controllers, one per serre (default 2)
  --bacs <n>          bacs per serre (default 2)
  --rate <r>          readings per second, all bacs together (default 2)
  --db-name <name>    the demo's database (default ${DEFAULT_DEMO_DB_NAME}); DB_NAME is not used, so
                      that a server's exported DB_NAME=parc never receives demo data
  --force-db          use that database even if it is named parc or holds serres the demo did
                      not make (refused otherwise, exit code 2)
  -h, --help          this text

Environment: DB_HOST (127.0.0.1), DB_PORT (3306), DB_USER (root), DB_PASSWORD (empty);
MQTT_PORT (a free port), HTTP_PORT (8080, or a free port if taken).
`;

export function parseDemoArgs(args: string[]): DemoOptions | { help: true } | { errors: string[] } {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        dir: { type: 'string', default: 'demo' },
        serres: { type: 'string', default: '2' },
        bacs: { type: 'string', default: '2' },
        rate: { type: 'string', default: '2' },
        'db-name': { type: 'string', default: DEFAULT_DEMO_DB_NAME },
        'force-db': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { errors: [errorMessage(err)] };
  }
  if (values.help) return { help: true };
  const errors: string[] = [];
  const count = (name: 'serres' | 'bacs', max: number) => {
    const n = Number(values[name]);
    if (!/^\d+$/.test(values[name]) || n < 1 || n > max) errors.push(`--${name} must be a whole number from 1 to ${max}, got "${values[name]}"`);
    return n;
  };
  const serres = count('serres', 50);
  const bacs = count('bacs', 50);
  const rate = Number(values.rate);
  if (!(rate > 0 && rate <= 1000)) errors.push(`--rate must be a number above 0, at most 1000, got "${values.rate}"`);
  const dbName = values['db-name'];
  const dbNameProblem = demoDbNameProblem(dbName);
  if (dbNameProblem) errors.push(dbNameProblem);
  return errors.length > 0 ? { errors } : { dir: values.dir, serres, bacs, rate, dbName, forceDb: values['force-db'] };
}

export async function demoCommand(args: string[]): Promise<number> {
  const parsed = parseDemoArgs(args);
  if ('help' in parsed) {
    process.stdout.write(DEMO_USAGE);
    return 0;
  }
  if ('errors' in parsed) {
    process.stderr.write(`demo: ${parsed.errors.join('\n      ')}\n(see \`demo --help\`)\n`);
    return 2;
  }
  let onSignal!: () => void;
  const stopRequested = new Promise<void>((resolve) => (onSignal = resolve));
  // Kept for the whole stop: Ctrl-C under `npm run demo` arrives twice (from the terminal and
  // forwarded by npm), and a second one must not kill the demo before its processes are stopped.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return runDemo(parsed, process.env, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    stopRequested,
  });
}
