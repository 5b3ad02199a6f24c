import { describe, expect, it } from 'vitest';
import { ConfigError, loadBridgeConfig } from '../../src/config.js';

const BASE = { DB_HOST: 'db', DB_USER: 'u', DB_PASSWORD: '', MQTT_TLS: 'false' };

describe('greenhouse watch settings', () => {
  it('default to 900 s of silence per sensor and 600 s without any reading', () => {
    expect(loadBridgeConfig(BASE)).toMatchObject({ silenceAfterMs: 900_000, noReadingsWarnAfterMs: 600_000 });
    expect(loadBridgeConfig({ ...BASE, SILENCE_AFTER: '4', NO_READINGS_WARN_AFTER: '2.5' })).toMatchObject({ silenceAfterMs: 4_000, noReadingsWarnAfterMs: 2_500 });
  });

  it('are validated, every problem listed at once', () => {
    let error: unknown;
    try {
      loadBridgeConfig({ ...BASE, SILENCE_AFTER: '15min', NO_READINGS_WARN_AFTER: '0' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(['SILENCE_AFTER must be a number of seconds', 'NO_READINGS_WARN_AFTER must be at least 1']);
  });
});
