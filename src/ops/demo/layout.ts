import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository: dist/ops/demo/ and src/ops/demo/ are both 3 deep. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where the demo keeps what it makes, so that a second run reuses it. */
export interface DemoLayout {
  dir: string;
  /** PKI_DIR of mosquitto/*.sh: server-certs/ (CA, broker) and client-certs/ (bridge, devices). */
  pkiDir: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  bridgeCert: string;
  bridgeKey: string;
  deviceCertsDir: string;
  brokerConf: string;
  brokerDataDir: string;
  /** The bridge's DATA_DIR (its journal). */
  bridgeDataDir: string;
  logs: { broker: string; bridge: string; simulate: string };
}

export function demoLayout(dir: string): DemoLayout {
  const root = resolve(dir);
  const pkiDir = join(root, 'pki');
  return {
    dir: root,
    pkiDir,
    caFile: join(pkiDir, 'server-certs', 'ca.crt'),
    serverCert: join(pkiDir, 'server-certs', 'server.crt'),
    serverKey: join(pkiDir, 'server-certs', 'server.key'),
    bridgeCert: join(pkiDir, 'client-certs', 'client.crt'),
    bridgeKey: join(pkiDir, 'client-certs', 'client.key'),
    deviceCertsDir: join(pkiDir, 'client-certs'),
    brokerConf: join(root, 'mosquitto.conf'),
    brokerDataDir: join(root, 'mosquitto-data'),
    bridgeDataDir: join(root, 'data'),
    logs: { broker: join(root, 'mosquitto.log'), bridge: join(root, 'bridge.log'), simulate: join(root, 'simulate.log') },
  };
}
