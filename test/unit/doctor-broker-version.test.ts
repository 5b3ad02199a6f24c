/** doctor's broker version line: MQTT_SHARED_GROUP needs Mosquitto 2.0.12 to survive a broker restart. */
import { describe, expect, it } from 'vitest';
import { mosquittoVersion, versionResult, type BrokerTarget } from '../../src/ops/doctor/broker-checks.js';
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

  it('warns when a shared group runs on Mosquitto older than 2.0.12, and says what to do', () => {
    expect(line('parc', 'mosquitto version 2.0.11')).toMatch(
      /^⚠ Broker version: mosquitto version 2\.0\.11 with MQTT_SHARED_GROUP=parc: before 2\.0\.12, .*without its \$share subscription.*lost\) → upgrade Mosquitto to 2\.0\.12 or later .*or unset MQTT_SHARED_GROUP/,
    );
    expect(line('parc', 'mosquitto version 1.6.15')).toMatch(/^⚠ /);
  });

  it('passes on 2.0.12 and later, and without a shared group on any version', () => {
    for (const v of ['2.0.12', '2.0.22', '2.1.2', '3.0.0']) expect(line('parc', `mosquitto version ${v}`), v).toMatch(/^✔ Broker version: .*survive a broker restart/);
    expect(line('', 'mosquitto version 2.0.11')).toBe('✔ Broker version: mosquitto version 2.0.11');
    expect(formatResult(versionResult(target, { ...connected, brokerVersion: 'mosquitto version 2.0.11' }))).toMatch(/^✔ /);
  });

  it('warns about an unknown version only when a shared group depends on it', () => {
    expect(line('parc')).toMatch(/^⚠ Broker version: MQTT_SHARED_GROUP=parc, and the broker's version is unknown .*→ add "topic read \$SYS\/broker\/version" under "user mqtt-bridge"/);
    expect(line('')).toMatch(/^- Broker version: skipped: \$SYS\/broker\/version did not come back .*CN=mqtt-bridge/);
    expect(line('parc', 'emqx 5.3.0')).toMatch(/^⚠ Broker version: emqx 5\.3\.0; MQTT_SHARED_GROUP=parc: check that this broker keeps/);
    expect(formatResult(versionResult({ ...target, sharedGroup: 'parc' }, {}))).toBe('- Broker version: skipped: needs an MQTT connection');
  });
});
