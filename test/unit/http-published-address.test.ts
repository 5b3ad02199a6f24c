/**
 * HTTP_PUBLISHED_ADDRESS, which docker-compose.yml passes to the bridge: the host address its
 * status page is published on. Beyond the loopback, the bridge refuses to start without
 * HTTP_TOKEN (the page shows the controllers' MACs and IPs and raw payloads).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadBridgeConfig } from '../../src/config.js';

const TOKEN = 'a'.repeat(24);
// Certificates off: this is about the HTTP settings only.
const env = (extra: Record<string, string>) => ({ DB_HOST: 'db', DB_USER: 'bridge', DB_PASSWORD: 'pw', MQTT_TLS: 'false', ...extra });

function problems(extra: Record<string, string>): string[] {
  try {
    loadBridgeConfig(env(extra));
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.message.split('\n').slice(1);
  }
}

describe('HTTP_PUBLISHED_ADDRESS', () => {
  it.each(['', '127.0.0.1', '127.0.1.1', '::1', 'localhost'])('%j (this server only) needs no token', (address) => {
    expect(problems({ HTTP_PUBLISHED_ADDRESS: address })).toEqual([]);
  });

  it('is not needed outside Docker', () => {
    expect(problems({ HTTP_HOST: '0.0.0.0' })).toEqual([]);
  });

  it.each(['0.0.0.0', '192.168.42.10', '::'])('%j (the LAN) is refused without HTTP_TOKEN, saying what to do', (address) => {
    const found = problems({ HTTP_PUBLISHED_ADDRESS: address });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(`HTTP_PUBLISHED_ADDRESS is ${address}`);
    expect(found[0]).toMatch(/set HTTP_TOKEN .*or publish it on 127\.0\.0\.1/);
  });

  it('is accepted with a token, which is asked for then', () => {
    const config = loadBridgeConfig(env({ HTTP_PUBLISHED_ADDRESS: '0.0.0.0', HTTP_TOKEN: TOKEN }));
    expect(config.httpToken).toBe(TOKEN);
  });

  it('is listed with the other problems, the token never quoted', () => {
    const found = problems({ HTTP_PUBLISHED_ADDRESS: '0.0.0.0', HTTP_TOKEN: 'short', MQTT_PORT: 'x' });
    expect(found.join('\n')).toMatch(/HTTP_TOKEN must be at least 16/);
    expect(found.join('\n')).toMatch(/MQTT_PORT/);
    expect(found.join('\n')).not.toContain("'short'");
  });
});
