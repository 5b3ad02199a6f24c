/**
 * The central side of a region as it runs: the parc-bridge process in school mode (SCHOOLS) on
 * the central broker, writing each school into its own database. Answers the same questions as
 * the test subscriber (site-central-subscriber.ts) from the rows the web apps read.
 */
import type { RowDataPacket } from 'mysql2';
import { startBridge, type BridgeProcess } from './bridge-process.js';
import type { SchoolDatabases } from './schools.js';
import type { CentralBroker } from './site-brokers.js';
import { readingKey, type CentralSink } from './site-delivery.js';

export async function centralBridge(central: CentralBroker, databases: SchoolDatabases, extra: Record<string, string> = {}): Promise<CentralSink & { bridge: BridgeProcess }> {
  const bridge = await startBridge({
    ...databases.env(),
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: String(central.port),
    MQTT_CA_FILE: central.pki.caFile,
    MQTT_CERT_FILE: central.pki.bridge.certFile,
    MQTT_KEY_FILE: central.pki.bridge.keyFile,
    MQTT_CLIENT_ID: 'mqtt-bridge-central',
    ...extra,
  });
  return {
    bridge,
    async readings(school) {
      const rows = await databases.of(school).query<RowDataPacket[]>(
        'SELECT b.numero AS bac, ROUND(m.value * 100) AS v, count(*) AS n FROM mesure m JOIN bac b ON b.id_bac = m.bac JOIN serre s ON s.id_serre = b.serre ' +
          'WHERE s.numero = 1 AND m.capteur = 1 GROUP BY b.numero, ROUND(m.value * 100)',
      );
      return new Map(rows.map((r) => [readingKey(Number(r.bac), Number(r.v)), Number(r.n)]));
    },
    async controllerOnline(school, mac) {
      const rows = await databases.of(school).query<RowDataPacket[]>('SELECT status FROM controleur WHERE id_controleur = ?', [mac]);
      return rows[0] === undefined ? undefined : Number(rows[0].status) === 1;
    },
    close: async () => {
      await bridge.stop('SIGTERM');
    },
  };
}
