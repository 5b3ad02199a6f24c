import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MOSQUITTO_DIR } from './args.js';

/**
 * Device identities for the simulated controllers, in the layout mosquitto/clients-certs.sh
 * writes: <certs-dir>/<MAC>/client.crt, client.key, ca.crt. The certificate's CN is the MAC,
 * which the broker's ACL checks against controleur/<MAC>.
 */

export const CLIENTS_CERTS_SCRIPT = join(MOSQUITTO_DIR, 'clients-certs.sh');
const FILES = ['client.crt', 'client.key', 'ca.crt'] as const;

/** Serre s gets 02:00:00:00:HH:LL: "02" marks a locally administered address, never a real NIC's. */
export function controllerMac(serre: number): string {
  if (!Number.isInteger(serre) || serre < 1 || serre > 0xffff) throw new RangeError(`serre ${serre} has no simulated MAC`);
  const hex = serre.toString(16).toUpperCase().padStart(4, '0');
  return `02:00:00:00:${hex.slice(0, 2)}:${hex.slice(2)}`;
}

export interface DeviceIdentity {
  mac: string;
  dir: string;
  certFile: string;
  keyFile: string;
  caFile: string;
}

export function deviceIdentity(certsDir: string, mac: string): DeviceIdentity {
  const dir = join(certsDir, mac);
  return { mac, dir, certFile: join(dir, 'client.crt'), keyFile: join(dir, 'client.key'), caFile: join(dir, 'ca.crt') };
}

export function missingFiles(identity: DeviceIdentity): string[] {
  return FILES.filter((f) => !existsSync(join(identity.dir, f)));
}

/** clients-certs.sh writes to $PKI_DIR/client-certs/<name> with the CA of $PKI_DIR/server-certs. */
export function pkiDirFor(certsDir: string): string | undefined {
  return basename(certsDir) === 'client-certs' ? dirname(certsDir) : undefined;
}

export function missingCertsMessage(certsDir: string, missing: DeviceIdentity[]): string {
  const pkiDir = pkiDirFor(certsDir);
  const env = pkiDir ? `PKI_DIR=${pkiDir} ` : '';
  const lines = [
    `simulate: no complete device identity for ${missing.length} controller(s) in ${certsDir}:`,
    ...missing.map((id) => `  ${id.mac}: missing ${missingFiles(id).join(', ')}`),
    'Make each one with:',
    ...missing.map((id) => `  ${env}mosquitto/clients-certs.sh ${id.mac}`),
    'or run simulate again with --make-certs.',
  ];
  if (!pkiDir) lines.push(`(clients-certs.sh writes to $PKI_DIR/client-certs/<MAC>: use that folder as --certs-dir)`);
  return lines.join('\n');
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: typeof error?.code === 'number' ? error.code : 0, output: `${stdout}${stderr}`.trim() });
    });
  });
}

/** Runs clients-certs.sh for each identity, one after the other (each generates an RSA key). */
export async function makeCerts(certsDir: string, identities: DeviceIdentity[], say: (line: string) => void): Promise<void> {
  const pkiDir = pkiDirFor(certsDir);
  if (!pkiDir) {
    throw new Error(`--make-certs needs --certs-dir to be <PKI_DIR>/client-certs (where clients-certs.sh writes), got ${certsDir}`);
  }
  if (!existsSync(CLIENTS_CERTS_SCRIPT)) throw new Error(`--make-certs needs ${CLIENTS_CERTS_SCRIPT}, which is not there`);
  for (const id of identities) {
    // --force: a half-made folder (some files missing) would otherwise stop the script.
    const args = existsSync(id.dir) ? ['--force', id.mac] : [id.mac];
    const r = await run(CLIENTS_CERTS_SCRIPT, args, { ...process.env, PKI_DIR: pkiDir });
    if (r.code !== 0) throw new Error(`clients-certs.sh ${id.mac} failed (exit ${r.code}): ${r.output}`);
    say(`simulate: made the device identity ${id.mac} in ${id.dir}`);
  }
}
