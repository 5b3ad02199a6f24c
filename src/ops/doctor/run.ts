import { readFileSync } from 'node:fs';
import type { MqttConfig } from '../../config.js';
import { schoolSubscriptions } from '../../mqtt/topics.js';
import { ACL_LABEL, checkAcl } from './acl-check.js';
import { brokerResults, MQTT_LABEL, QOS_LABEL, SAN_LABEL, TLS_LABEL } from './broker-checks.js';
import { VERSION_LABEL, versionResult } from './broker-version.js';
import { probeBroker } from './broker-probe.js';
import {
  CA_LABEL,
  CERT_LABEL,
  checkCa,
  checkClientCert,
  checkIssuer,
  checkKeyMatches,
  commonName,
  ISSUER_LABEL,
  KEY_LABEL,
  readCertificateFile,
} from './cert-checks.js';
import { errorText, fail, ok, skip, withTimeout, type CheckResult } from './check.js';
import { DATA_DIR_LABEL, checkDataDir } from './data-dir-check.js';
import { checkJournals, JOURNALS_LABEL } from './journal-checks.js';
import { checkWebAppSchema, WEB_APP_SCHEMA_LABELS } from './schema-checks.js';
import { checkDbConnection, checkSchema, DB_LABEL, SCHEMA_LABEL } from './db-checks.js';
import { GALERA_LABEL, galeraResult, nodeNotReady, readGaleraState } from './galera-checks.js';
import { readPartialConfig } from './partial-config.js';
import { checkSchoolDatabases, SCHOOLS_LABEL } from './school-checks.js';

/** Every doctor check in order; each line is reported as soon as it is known. */

export const CONFIG_LABEL = 'Configuration';
export const CHECK_TIMEOUT_MS = 5_000;

export interface DoctorRun {
  env: Record<string, string | undefined>;
  report: (result: CheckResult) => void;
  now?: number;
  timeoutMs?: number;
}

/** A bug in one check becomes a failed line, not a crashed doctor. */
async function guarded(label: string, work: () => Promise<CheckResult[]> | CheckResult[]): Promise<CheckResult[]> {
  try {
    return await work();
  } catch (err) {
    return [fail(label, `the check itself failed: ${errorText(err)}`, 'please report this with the output above')];
  }
}

function certificateChecks(mqtt: MqttConfig | undefined, now: number): CheckResult[] {
  const labels = [CA_LABEL, CERT_LABEL, ISSUER_LABEL, KEY_LABEL];
  if (!mqtt) return labels.map((l) => skip(l, 'fix the MQTT_* settings first'));
  if (!mqtt.tls) return labels.map((l) => skip(l, 'MQTT_TLS=false'));
  const ca = checkCa(mqtt.tls.caFile, now);
  const cert = checkClientCert(mqtt.tls.certFile, now);
  return [
    ca.result,
    cert.result,
    cert.cert && ca.ca ? checkIssuer(cert.cert, ca.ca) : skip(ISSUER_LABEL, 'needs readable CA and client certificates'),
    cert.cert ? checkKeyMatches(cert.cert, mqtt.tls.keyFile) : skip(KEY_LABEL, 'needs a readable client certificate'),
  ];
}

/**
 * The username the broker gives the bridge: its certificate's CN (use_identity_as_username, as
 * in the shipped mosquitto.conf), or MQTT_USER without TLS.
 */
function brokerUsername(mqtt: MqttConfig): string | undefined {
  if (!mqtt.tls) return mqtt.username;
  try {
    return commonName(readCertificateFile(mqtt.tls.certFile));
  } catch {
    return undefined; // the certificate line says why
  }
}

/** A topic of its own for each bridge's probe; + and # are not allowed in a topic name. */
function qosProbeTopic(clientId: string): string {
  return `parc-bridge/doctor/${clientId.replace(/[+#]/g, '_')}`;
}

async function brokerChecks(mqtt: MqttConfig | undefined, now: number, timeoutMs: number): Promise<CheckResult[]> {
  if (!mqtt) return [TLS_LABEL, SAN_LABEL, MQTT_LABEL, QOS_LABEL, VERSION_LABEL].map((l) => skip(l, 'fix the MQTT_* settings first'));
  const probeTopic = qosProbeTopic(`${mqtt.clientId}-doctor`);
  const probe = await probeBroker({
    host: mqtt.host,
    port: mqtt.port,
    tls: mqtt.tls && {
      ca: readFileSync(mqtt.tls.caFile),
      cert: readFileSync(mqtt.tls.certFile),
      key: readFileSync(mqtt.tls.keyFile),
    },
    clientId: `${mqtt.clientId}-doctor`,
    username: mqtt.username,
    password: mqtt.password,
    timeoutMs,
    qosProbeTopic: probeTopic,
  });
  const target = {
    host: mqtt.host,
    port: mqtt.port,
    tls: mqtt.tls !== undefined,
    clientId: `${mqtt.clientId}-doctor`,
    identity: brokerUsername(mqtt),
    qosProbeTopic: probeTopic,
    sharedGroup: mqtt.sharedGroup,
  };
  return [...brokerResults(target, probe, now), versionResult(target, probe)];
}

function aclCheck(mqtt: MqttConfig | undefined, schools: readonly string[]): CheckResult {
  if (!mqtt) return skip(ACL_LABEL, 'fix the MQTT_* settings first');
  const username = brokerUsername(mqtt);
  const filters = schools.length > 0 ? schoolSubscriptions(schools, '') : undefined;
  // %c in a pattern is the client id; a {slot} template is checked as slot 1.
  return checkAcl(mqtt.aclFile, username === undefined ? undefined : { username, clientId: mqtt.clientId.replaceAll('{slot}', '1') }, filters);
}

export async function runDoctor(run: DoctorRun): Promise<CheckResult[]> {
  const now = run.now ?? Date.now();
  const timeoutMs = run.timeoutMs ?? CHECK_TIMEOUT_MS;
  const results: CheckResult[] = [];
  const report = (batch: CheckResult[]) => {
    for (const r of batch) {
      results.push(r);
      run.report(r);
    }
  };

  const config = readPartialConfig(run.env);
  report([
    config.problems.length === 0
      ? ok(CONFIG_LABEL, 'every setting is valid')
      : fail(
          CONFIG_LABEL,
          `${config.problems.length} problem(s): ${config.problems.join('; ')}`,
          'fix these environment variables (the bridge refuses to start until then); the checks below use what could be read',
        ),
  ]);

  const db = config.db;
  if (db && config.schools.length > 0) {
    report(await guarded(SCHOOLS_LABEL, () => checkSchoolDatabases(db, config.schools, timeoutMs)));
  } else if (db) {
    const connected = await checkDbConnection(db, timeoutMs);
    report([connected.result]);
    const connection = connected.connection;
    if (connection) {
      try {
        let notReady = false;
        report(
          await guarded(GALERA_LABEL, async () => {
            const state = await readGaleraState(connection, timeoutMs);
            notReady = state !== undefined && nodeNotReady(state);
            return state ? [galeraResult(state, `${db.host}:${db.port}`)] : [];
          }),
        );
        if (notReady) {
          // A node that is not ready refuses every read of a table: the lines below would only repeat it.
          report([SCHEMA_LABEL, ...WEB_APP_SCHEMA_LABELS].map((l) => skip(l, 'needs a Galera node that is ready')));
        } else {
          report([await checkSchema(connection, timeoutMs)]);
          report(await checkWebAppSchema(connection, timeoutMs));
        }
      } finally {
        connection.destroy();
      }
    } else report([skip(SCHEMA_LABEL, 'needs the database connection')]);
  } else {
    report([skip(DB_LABEL, 'fix the DB_* settings first'), skip(SCHEMA_LABEL, 'fix the DB_* settings first')]);
  }

  report(await guarded(CERT_LABEL, () => certificateChecks(config.mqtt, now)));
  report(await guarded(TLS_LABEL, () => brokerChecks(config.mqtt, now, timeoutMs)));
  report(await guarded(ACL_LABEL, () => [aclCheck(config.mqtt, config.schools)]));

  const dataDir = config.dataDir;
  report(
    dataDir === undefined
      ? [skip(DATA_DIR_LABEL, 'fix the DATA_DIR setting first')]
      : await guarded(DATA_DIR_LABEL, async () => [await withTimeout(checkDataDir(dataDir), timeoutMs)]),
  );
  report(await guarded(JOURNALS_LABEL, async () => [await checkJournals(dataDir)]));
  return results;
}
