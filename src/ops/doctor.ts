/**
 * `parc-bridge doctor`: checks, one line each, everything the bridge needs from its
 * environment (configuration, database and schema, certificates, broker, ACL, DATA_DIR) and exits 1
 * when one of them fails, so that a deployment can be fixed without reading the bridge's code.
 */
import { exitCode, formatResult, redact, summarize } from './doctor/check.js';
import { runDoctor } from './doctor/run.js';

const USAGE = `Usage: parc-bridge doctor   (npm run doctor)

Checks the bridge's configuration from the environment (the same variables as \`npm start\`):
the database connection and schema, the CA, client certificate and key, the broker's TLS
handshake, that the broker certificate's SAN covers MQTT_HOST, an MQTT CONNECT (with the
client id MQTT_CLIENT_ID-doctor and a clean session) and the certificate CN it connects with,
the QoS at which the broker delivers a QoS 0 publication to a QoS 1 subscription (a probe on
parc-bridge/doctor/...), whether the broker's ACL (MQTT_ACL_FILE, when set) lets that CN read
the readings and controller topics, and that DATA_DIR is writable.
Exit code: 0 when nothing failed (warnings allowed), 1 when a check failed, 2 on bad arguments.
`;

export async function doctorCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.length > 0) {
    process.stderr.write(`doctor: unexpected argument "${args[0]}"\n\n${USAGE}`);
    return 2;
  }
  const env = process.env;
  const secrets = [env.DB_PASSWORD, env.MQTT_PASSWORD];
  const print = (line: string) => process.stdout.write(`${redact(line, secrets)}\n`);
  print('parc-bridge doctor');
  const results = await runDoctor({ env, report: (r) => print(formatResult(r)) });
  print(summarize(results));
  return exitCode(results);
}
