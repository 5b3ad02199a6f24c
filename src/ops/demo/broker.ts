import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import { startChild, type Child } from './child.js';
import { REPO_ROOT, type DemoLayout } from './layout.js';

const SHIPPED_CONF = join(REPO_ROOT, 'mosquitto', 'config', 'mosquitto.conf');
const READY_TIMEOUT_MS = 20_000;

/**
 * The shipped mosquitto.conf with its container folders pointed at the demo's: certificates
 * from the demo PKI, the ACL from the repository, persistence in the demo folder, the one
 * listener on 127.0.0.1:port. Everything else (mTLS, ACL, queues) is the production setting.
 */
export function demoBrokerConfig(shipped: string, layout: DemoLayout, port: number, asRoot: boolean): string {
  const folders: Record<string, string> = {
    '/mosquitto/certs/': join(layout.pkiDir, 'server-certs') + '/',
    '/mosquitto/config/': join(REPO_ROOT, 'mosquitto', 'config') + '/',
    '/mosquitto/data/': layout.brokerDataDir + '/',
  };
  const lines = shipped.split('\n').map((line) => {
    if (line.startsWith('#')) return line;
    if (/^listener\b/.test(line)) return `listener ${port} 127.0.0.1`;
    return line.replace(/\/mosquitto\/[^/\s]+\//g, (folder) => {
      const local = folders[folder];
      if (local === undefined) throw new Error(`mosquitto.conf: no demo folder for ${folder}`);
      return local;
    });
  });
  // As root, Mosquitto 2 switches to the "mosquitto" user before reading the key, which the
  // demo's PKI leaves to the user who runs it.
  if (asRoot) lines.push('# demo, run as root: stay root', 'user root');
  return lines.join('\n') + '\n';
}

function mosquittoBinary(): string {
  return process.env.MOSQUITTO_BIN ?? (existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto');
}

function tlsHandshake(port: number, layout: DemoLayout): Promise<boolean> {
  const options = { host: '127.0.0.1', port, ca: readFileSync(layout.caFile), cert: readFileSync(layout.bridgeCert), key: readFileSync(layout.bridgeKey) };
  return new Promise((resolve) => {
    const socket = tls.connect(options, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Starts Mosquitto from the shipped config; resolves once it completes an mTLS handshake. */
export async function startDemoBroker(layout: DemoLayout, port: number): Promise<Child> {
  await mkdir(layout.brokerDataDir, { recursive: true });
  const shipped = await readFile(SHIPPED_CONF, 'utf8');
  await writeFile(layout.brokerConf, demoBrokerConfig(shipped, layout, port, process.getuid?.() === 0));
  const broker = await startChild('mosquitto', () => spawn(mosquittoBinary(), ['-c', layout.brokerConf], { detached: true, stdio: 'pipe' }), layout.logs.broker);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await tlsHandshake(port, layout))) {
    if (broker.exitCode() !== undefined || Date.now() > deadline) {
      await broker.stop();
      throw new Error(`Mosquitto did not accept mTLS on 127.0.0.1:${port}; see ${layout.logs.broker}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return broker;
}
