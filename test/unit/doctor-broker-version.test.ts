/** doctor's broker version line: a broker restart loses MQTT_SHARED_GROUP's subscriptions on Mosquitto 2.0. */
import { describe, expect, it } from 'vitest';
import type { BrokerTarget } from '../../src/ops/doctor/broker-checks.js';
import { mosquittoVersion, sharedSubscriptionsSurviveRestart, versionResult } from '../../src/ops/doctor/broker-version.js';
import { formatResult } from '../../src/ops/doctor/check.js';

const target: BrokerTarget = {
  host: 'mosquitto',
  port: 8883,
  tls: true,
  clientId: 'mqtt-bridge-doctor',
  identity: 'mqtt-bridge',
  qosProbeTopic: 'parc-bridge/doctor/mqtt-bridge-doctor',
};
const connected = { connack: { sessionPresent: false } };
const line = (sharedGroup: string, brokerVersion?: string) => formatResult(versionResult({ ...target, sharedGroup }, { ...connected, brokerVersion }));

describe('the broker version line', () => {
  it('reads Mosquitto versions, nothing else', () => {
    expect(mosquittoVersion('mosquitto version 2.0.11')).toEqual([2, 0, 11]);
    expect(mosquittoVersion('mosquitto version 2.1.0-rc1')).toEqual([2, 1, 0]);
    expect(mosquittoVersion('emqx 5.3.0')).toBeUndefined();
  });

  it('knows Mosquitto up to 2.0 drops $share subscriptions at a restart, and does not guess beyond', () => {
    for (const v of [[1, 6, 15], [2, 0, 11], [2, 0, 12], [2, 0, 21], [2, 0, 22]]) expect(sharedSubscriptionsSurviveRestart(v), v.join('.')).toBe('no');
    for (const v of [[2, 1, 0], [3, 0, 0], undefined]) expect(sharedSubscriptionsSurviveRestart(v)).toBe('unknown');
  });

  it('warns when a shared group runs on Mosquitto 2.0, and says what to do', () => {
    for (const v of ['2.0.11', '2.0.21']) {
      expect(line('parc', `mosquitto version ${v}`)).toMatch(
        /^⚠ Broker version: mosquitto version 2\.0\.\d+ with MQTT_SHARED_GROUP=parc: Mosquitto 2\.0 does not keep \$share subscriptions across its own restart .*lost\) → restart the broker only with the bridges stopped, or unset MQTT_SHARED_GROUP/,
      );
    }
    expect(line('parc', 'mosquitto version 2.1.2')).toMatch(/^⚠ Broker version: mosquitto version 2\.1\.2 with MQTT_SHARED_GROUP=parc: not measured here/);
    expect(line('parc', 'emqx 5.3.0')).toMatch(/^⚠ Broker version: emqx 5\.3\.0 with MQTT_SHARED_GROUP=parc: not measured here/);
  });

  it('only states the version without a shared group', () => {
    expect(line('', 'mosquitto version 2.0.11')).toBe('✔ Broker version: mosquitto version 2.0.11');
    expect(formatResult(versionResult(target, { ...connected, brokerVersion: 'mosquitto version 2.0.11' }))).toBe('✔ Broker version: mosquitto version 2.0.11');
  });

  it('warns about an unknown version only when a shared group depends on it', () => {
    expect(line('parc')).toMatch(/^⚠ Broker version: MQTT_SHARED_GROUP=parc, and the broker's version is unknown .*→ add "topic read \$SYS\/broker\/version" under "user mqtt-bridge"/);
    expect(line('')).toMatch(/^- Broker version: skipped: \$SYS\/broker\/version did not come back .*CN=mqtt-bridge/);
    expect(formatResult(versionResult({ ...target, sharedGroup: 'parc' }, {}))).toBe('- Broker version: skipped: needs an MQTT connection');
  });
});
