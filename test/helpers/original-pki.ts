/**
 * A PKI made the way schools running the original bridge.py made theirs: by hand, with the
 * original README's openssl commands (PKCS#1 keys from `genrsa -traditional`, `req` then
 * `x509 -req`, a v3.ext with the SAN for the broker only), laid out as that README lists it:
 * mosquitto/server-certs/{ca.crt,ca.key,server.crt,server.key} and
 * mosquitto/client-certs/{client.crt,client.key} for the bridge.
 *
 * Such a PKI has no revocation list, which the shipped mosquitto.conf requires: by default the
 * helper then does what upgrading does (the compose pki service, or by hand):
 * mosquitto/update-crl.sh --if-missing on that folder.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from './cleanup.js';
import { runScript, type CertPair, type Pki } from './pki.js';

export interface OriginalPki extends Pki {
  /** mosquitto/server-certs: CA and broker. */
  serverCerts: string;
  /** mosquitto/client-certs: the bridge's client.crt and client.key. */
  clientCerts: string;
}

function openssl(cwd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`openssl ${args.join(' ')} failed:\n${stderr}`));
      else resolve();
    });
  });
}

/** The broker's v3.ext as the original README has it: SAN DNS:mosquitto plus the broker's IP. */
function v3Ext(ip: string): string {
  return [
    'authorityKeyIdentifier=keyid,issuer',
    'basicConstraints=CA:FALSE',
    'keyUsage = digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment',
    'subjectAltName = @alt_names',
    '',
    '[alt_names]',
    'DNS.1 = mosquitto',
    `IP.1 = ${ip}`,
    '',
  ].join('\n');
}

/** genrsa -traditional, req, x509 -req signed by the CA in `caDir`: one key and certificate. */
async function signedByHand(dir: string, caDir: string, name: string, cn: string, extfile?: string): Promise<CertPair> {
  await openssl(dir, ['genrsa', '-traditional', '-out', `${name}.key`, '2048']);
  await openssl(dir, ['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  await openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', path.join(caDir, 'ca.crt'), '-CAkey', path.join(caDir, 'ca.key'),
    '-CAcreateserial', '-out', `${name}.crt`, '-days', '365', '-sha256', ...(extfile ? ['-extfile', extfile] : []),
  ]);
  return { certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
}

/** Runs mosquitto/update-crl.sh --if-missing on an original PKI, as an upgrade does. */
export async function addRevocationList(pki: OriginalPki): Promise<void> {
  const r = await runScript('update-crl.sh', ['--if-missing'], { PKI_DIR: path.dirname(pki.serverCerts) });
  if (r.code !== 0) throw new Error(`update-crl.sh exited ${r.code}:\n${r.stderr}`);
}

export async function makeOriginalPki(opts: { brokerIp?: string; revocationList?: boolean } = {}): Promise<OriginalPki> {
  const brokerIp = opts.brokerIp ?? '127.0.0.1';
  const dir = tempDir('parc-original-pki-');
  const serverCerts = path.join(dir, 'mosquitto', 'server-certs');
  const clientCerts = path.join(dir, 'mosquitto', 'client-certs');
  const devices = path.join(dir, 'devices');
  for (const d of [serverCerts, clientCerts, devices]) await mkdir(d, { recursive: true });

  await openssl(serverCerts, ['genrsa', '-traditional', '-out', 'ca.key', '2048']);
  await openssl(serverCerts, ['req', '-new', '-x509', '-days', '3650', '-key', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=SIGACS-Parc-CA']);
  await writeFile(path.join(serverCerts, 'v3.ext'), v3Ext(brokerIp));
  const server = await signedByHand(serverCerts, serverCerts, 'server', 'mosquitto', 'v3.ext');
  const bridge = await signedByHand(clientCerts, serverCerts, 'client', 'mqtt-bridge');

  const made = new Map<string, Promise<CertPair>>();
  const client = (cn: string): Promise<CertPair> => {
    let pair = made.get(cn);
    if (!pair) {
      const deviceDir = path.join(devices, cn.replace(/[^A-Za-z0-9_.-]/g, '_'));
      pair = mkdir(deviceDir).then(() => signedByHand(deviceDir, serverCerts, 'client', cn));
      made.set(cn, pair);
    }
    return pair;
  };

  const pki = { dir, serverCerts, clientCerts, caFile: path.join(serverCerts, 'ca.crt'), server, bridge, client };
  if (opts.revocationList ?? true) await addRevocationList(pki);
  return pki;
}
