/** `simulate`'s pure parts: arguments, MACs, readings, bad messages and the summary line. */
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MOSQUITTO_DIR, parseSimulateArgs, type SimulateOptions } from '../../src/ops/simulate/args.js';
import { controllerMac, missingCertsMessage, deviceIdentity, pkiDirFor } from '../../src/ops/simulate/certs.js';
import { BAD_KINDS, badMessage, newBacState, nextReading, pickBadKind, SIMULATED_DAY_MS, temperatureAt, unknownBac } from '../../src/ops/simulate/readings.js';
import { Stats } from '../../src/ops/simulate/stats.js';

function options(args: string[], env: Record<string, string> = {}): SimulateOptions {
  const parsed = parseSimulateArgs(args, env);
  if (parsed.help || 'errors' in parsed) throw new Error(`expected options, got ${JSON.stringify(parsed)}`);
  return parsed.options;
}

function errors(args: string[], env: Record<string, string> = {}): string[] {
  const parsed = parseSimulateArgs(args, env);
  if (parsed.help || !('errors' in parsed)) throw new Error(`expected errors, got ${JSON.stringify(parsed)}`);
  return parsed.errors;
}

/** A deterministic generator (mulberry32) so that shapes are checked on many draws. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('arguments', () => {
  it('has defaults for everything', () => {
    expect(options([])).toEqual({
      serres: 1,
      bacs: 1,
      rate: 1,
      qos: 0,
      badRatio: 0,
      disconnectEverySec: undefined,
      durationSec: undefined,
      count: undefined,
      certsDir: join(MOSQUITTO_DIR, 'client-certs'),
      makeCerts: false,
      broker: { host: 'mosquitto', port: 8883, caFile: undefined },
    });
  });

  it('reads every option and the broker from the bridge variables', () => {
    const o = options(
      ['--serres', '3', '--bacs', '4', '--rate', '5.5', '--qos', '1', '--bad-ratio', '0.05', '--disconnect-every', '30', '--duration', '600', '--count', '1000', '--certs-dir', 'pki/client-certs', '--make-certs'],
      { MQTT_HOST: '192.168.42.10', MQTT_PORT: '18883', MQTT_CA_FILE: '/certs/ca.crt' },
    );
    expect(o).toMatchObject({ serres: 3, bacs: 4, rate: 5.5, qos: 1, badRatio: 0.05, disconnectEverySec: 30, durationSec: 600, count: 1000, makeCerts: true });
    expect(o.certsDir).toBe(resolve('pki/client-certs'));
    expect(o.broker).toEqual({ host: '192.168.42.10', port: 18883, caFile: '/certs/ca.crt' });
  });

  it('takes the default certificates folder from PKI_DIR, as clients-certs.sh does', () => {
    expect(options([], { PKI_DIR: '/srv/pki' }).certsDir).toBe('/srv/pki/client-certs');
  });

  it('lists every bad value at once', () => {
    expect(errors(['--serres', '0', '--bacs', '2.5', '--rate=-1', '--qos', '2', '--bad-ratio', '1.2', '--duration', 'soon', '--count', '0'], { MQTT_PORT: '99999' })).toEqual([
      '--serres must be a whole number from 1 to 1000, got "0"',
      '--bacs must be a whole number from 1 to 1000, got "2.5"',
      '--rate must be a number of messages per second above 0 (at most 100000), got "-1"',
      '--qos must be 0 or 1, got "2"',
      '--bad-ratio must be a share from 0 to 1 (e.g. 0.05), got "1.2"',
      '--duration must be a number of seconds above 0, got "soon"',
      '--count must be a whole number from 1 to 9007199254740991, got "0"',
      'MQTT_PORT must be a port number (1-65535), got "99999"',
    ]);
  });

  it('refuses unknown options, positionals and missing values', () => {
    expect(errors(['--serre', '3'])[0]).toMatch(/Unknown option '--serre'/);
    expect(errors(['3'])[0]).toMatch(/positional argument/);
    expect(errors(['--rate'])[0]).toMatch(/--rate/);
  });

  it('answers --help', () => {
    expect(parseSimulateArgs(['--help'], {})).toEqual({ help: true });
    expect(parseSimulateArgs(['-h', '--bogus-but-ignored-after-help'], {}).help).toBe(false);
  });
});

describe('controllers and certificates', () => {
  it('gives each serre a locally administered MAC, upper-case as the ACL expects', () => {
    expect(controllerMac(1)).toBe('02:00:00:00:00:01');
    expect(controllerMac(300)).toBe('02:00:00:00:01:2C');
    expect(() => controllerMac(0)).toThrow(RangeError);
  });

  it('says which command makes missing identities, with the PKI_DIR it needs', () => {
    const id = deviceIdentity('/srv/pki/client-certs', '02:00:00:00:00:01');
    expect(id.certFile).toBe('/srv/pki/client-certs/02:00:00:00:00:01/client.crt');
    expect(pkiDirFor('/srv/pki/client-certs')).toBe('/srv/pki');
    expect(pkiDirFor('/srv/elsewhere')).toBeUndefined();
    const message = missingCertsMessage('/srv/pki/client-certs', [id]);
    expect(message).toContain('02:00:00:00:00:01: missing client.crt, client.key, ca.crt');
    expect(message).toContain('PKI_DIR=/srv/pki mosquitto/clients-certs.sh 02:00:00:00:00:01');
    expect(message).toContain('--make-certs');
  });
});

describe('readings', () => {
  it('stay within the ranges of a greenhouse, one decimal', () => {
    const rng = seeded(42);
    const bac = newBacState(rng, 1.5);
    for (let i = 0; i < 5_000; i++) {
      const r = nextReading(i * 997, bac, rng);
      expect(r.humiditeAmbiante).toBeGreaterThanOrEqual(40);
      expect(r.humiditeAmbiante).toBeLessThanOrEqual(90);
      expect(r.temperatureAmbiante).toBeGreaterThanOrEqual(10);
      expect(r.temperatureAmbiante).toBeLessThanOrEqual(35);
      expect(r.humiditeSol).toBeGreaterThanOrEqual(20);
      expect(r.humiditeSol).toBeLessThanOrEqual(80);
      for (const v of Object.values(r)) expect(Math.round(v * 10) / 10).toBe(v);
    }
  });

  it('drift slowly over a simulated day: warm afternoons, cool nights', () => {
    const flat = () => 0.5; // no noise
    const at = (hour: number) => temperatureAt((hour / 24) * SIMULATED_DAY_MS, 0, flat);
    expect(at(15)).toBeGreaterThan(at(3) + 10);
    // Slow: one simulated minute changes the temperature by well under a degree.
    expect(Math.abs(at(12) - at(12 + 1 / 60))).toBeLessThan(0.5);
  });
});

describe('bad messages', () => {
  it('covers each kind the bridge must reject', () => {
    const rng = seeded(7);
    const m = Object.fromEntries(BAD_KINDS.map((k) => [k, badMessage(k, 2, 3, 4, rng)]));
    expect(() => JSON.parse(m.invalid_json!.payload)).toThrow();
    expect(Object.keys(JSON.parse(m.unknown_sensor!.payload))).toEqual(['luminosite']);
    expect(JSON.parse(m.out_of_range!.payload).humiditeSol).toBeGreaterThan(100);
    expect(typeof JSON.parse(m.string_value!.payload).temperatureAmbiante).toBe('string');
    expect(m.unknown_bac!.topic).toBe('serre/2/bac/999');
    expect(m.invalid_json!.topic).toBe('serre/2/bac/3');
    expect(unknownBac(1500)).toBe(1501);
  });

  it('picks every kind', () => {
    const rng = seeded(3);
    const seen = new Set(Array.from({ length: 200 }, () => pickBadKind(rng)));
    expect([...seen].sort()).toEqual([...BAD_KINDS].sort());
    expect(pickBadKind(() => 0.999999)).toBe('unknown_bac');
  });
});

describe('summary', () => {
  it('counts per kind and totals the messages on bac topics', () => {
    const stats = new Stats(1_000);
    stats.count('reading', 57);
    stats.count('invalid_json', 3);
    stats.count('announce', 2);
    expect(stats.bacMessages()).toBe(60);
    expect(stats.summaryLine(4_000)).toBe('simulate: 60 bac messages in 3.0 s (20.0/s); by kind: announce 2, invalid_json 3, reading 57');
    expect(JSON.parse(stats.progressLine(11_000, { connected: 2 }))).toEqual({
      msg: 'simulate progress',
      elapsedSeconds: 10,
      bacMessages: 60,
      ratePerSecond: 6,
      published: { announce: 2, invalid_json: 3, reading: 57 },
      connected: 2,
    });
  });
});
