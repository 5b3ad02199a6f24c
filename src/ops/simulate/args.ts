import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { errorMessage } from '../../error-message.js';

/** Command line and environment of `simulate`, validated into one object or a list of problems. */

export const MAX_SERRES = 1000;
export const MAX_BACS = 1000;

/** The repository's mosquitto/ folder: dist/ops/simulate/ and src/ops/simulate/ are both 3 deep. */
export const MOSQUITTO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../mosquitto');

export interface SimulateOptions {
  serres: number;
  bacs: number;
  /** Messages per second, all bacs together. */
  rate: number;
  qos: 0 | 1;
  badRatio: number;
  disconnectEverySec: number | undefined;
  durationSec: number | undefined;
  count: number | undefined;
  certsDir: string;
  makeCerts: boolean;
  broker: { host: string; port: number; caFile: string | undefined };
}

export type ParsedSimulateArgs = { help: true } | { help: false; options: SimulateOptions } | { help: false; errors: string[] };

export const USAGE = `Usage: parc-bridge simulate [options]   (npm run simulate -- [options])

Simulated ESP32 controllers over mutual TLS: one controller per serre, MAC 02:00:00:00:HH:LL
(locally administered; serre 1 is 02:00:00:00:00:01), each announcing itself on
controleur/<MAC> after every connect, with a Last Will on controleur/<MAC>/disconnect, and
publishing readings of its bacs on serre/<s>/bac/<b>.

Options:
  --serres <n>             controllers / serres 1..n (default 1, at most ${MAX_SERRES})
  --bacs <n>               bacs 1..n per serre (default 1, at most ${MAX_BACS})
  --rate <r>               messages per second, all bacs together (default 1)
  --qos <0|1>              QoS of every publish (default 0, like PubSubClient devices)
  --bad-ratio <0..1>       share of bad messages: invalid JSON, unknown sensor, out of range,
                           string value, unknown bac (default 0)
  --disconnect-every <s>   every <s> seconds one controller drops its connection abruptly (its
                           Last Will fires), then reconnects and announces itself again
  --duration <s>           stop after <s> seconds (default: until Ctrl-C / SIGTERM)
  --count <n>              stop after <n> messages on serre/+/bac/+ in total
  --certs-dir <dir>        device identities made by mosquitto/clients-certs.sh, one folder per
                           MAC with client.crt, client.key, ca.crt
                           (default: $PKI_DIR/client-certs, or mosquitto/client-certs)
  --make-certs             make the missing identities with mosquitto/clients-certs.sh (its CA is
                           in <certs-dir>/../server-certs, so <certs-dir> must be <PKI_DIR>/client-certs)
  -h, --help               this text

Environment (as for the bridge): MQTT_HOST (mosquitto), MQTT_PORT (8883), MQTT_CA_FILE (default:
each device's ca.crt). Prints a JSON progress line every 10 s and a summary at the end.
Exit code: 0 done, 1 could not connect or no certificates, 2 bad arguments.
`;

function integer(name: string, text: string | undefined, min: number, max: number, errors: string[]): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) {
    errors.push(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
    return undefined;
  }
  return Number(text);
}

function decimal(name: string, text: string | undefined, check: (n: number) => boolean, expected: string, errors: string[]): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\s*\d+(\.\d+)?\s*$|^\s*\.\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(value) || !check(value)) {
    errors.push(`--${name} must be ${expected}, got "${text}"`);
    return undefined;
  }
  return value;
}

function brokerFromEnv(env: Record<string, string | undefined>, errors: string[]): SimulateOptions['broker'] {
  const host = env.MQTT_HOST?.trim() || 'mosquitto';
  const portText = env.MQTT_PORT?.trim() || '8883';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) errors.push(`MQTT_PORT must be a port number (1-65535), got "${portText}"`);
  return { host, port, caFile: env.MQTT_CA_FILE?.trim() || undefined };
}

export function defaultCertsDir(env: Record<string, string | undefined>): string {
  return join(env.PKI_DIR || MOSQUITTO_DIR, 'client-certs');
}

export function parseSimulateArgs(args: string[], env: Record<string, string | undefined>): ParsedSimulateArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        serres: { type: 'string' },
        bacs: { type: 'string' },
        rate: { type: 'string' },
        qos: { type: 'string' },
        'bad-ratio': { type: 'string' },
        'disconnect-every': { type: 'string' },
        duration: { type: 'string' },
        count: { type: 'string' },
        'certs-dir': { type: 'string' },
        'make-certs': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    // parseArgs words its errors well ("Unknown option '--foo'"); keep them.
    return { help: false, errors: [errorMessage(err)] };
  }
  if (values.help) return { help: true };

  const errors: string[] = [];
  const serres = integer('serres', values.serres, 1, MAX_SERRES, errors) ?? 1;
  const bacs = integer('bacs', values.bacs, 1, MAX_BACS, errors) ?? 1;
  const rate = decimal('rate', values.rate, (n) => n > 0 && n <= 100_000, 'a number of messages per second above 0 (at most 100000)', errors) ?? 1;
  let qos: 0 | 1 = 0;
  if (values.qos !== undefined) {
    if (values.qos === '0' || values.qos === '1') qos = Number(values.qos) as 0 | 1;
    else errors.push(`--qos must be 0 or 1, got "${values.qos}"`);
  }
  const badRatio = decimal('bad-ratio', values['bad-ratio'], (n) => n >= 0 && n <= 1, 'a share from 0 to 1 (e.g. 0.05)', errors) ?? 0;
  const disconnectEverySec = decimal('disconnect-every', values['disconnect-every'], (n) => n > 0, 'a number of seconds above 0', errors);
  const durationSec = decimal('duration', values.duration, (n) => n > 0, 'a number of seconds above 0', errors);
  const count = integer('count', values.count, 1, Number.MAX_SAFE_INTEGER, errors);
  const certsDir = resolve(values['certs-dir'] ?? defaultCertsDir(env));
  const broker = brokerFromEnv(env, errors);
  if (errors.length > 0) return { help: false, errors };
  return {
    help: false,
    options: { serres, bacs, rate, qos, badRatio, disconnectEverySec, durationSec, count, certsDir, makeCerts: values['make-certs'] ?? false, broker },
  };
}
