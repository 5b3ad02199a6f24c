/**
 * Test PKI made by the project's own scripts (mosquitto/server-certs.sh, clients-certs.sh), so
 * the tests exercise exactly what a deployment runs. Also makes the certificates a broker must
 * refuse: one from another CA, one expired but signed by the real CA.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './cleanup.js';

export interface CertPair {
  certFile: string;
  keyFile: string;
}

export interface Pki {
  /** PKI_DIR: holds server-certs/ (CA, broker) and client-certs/ (bridge, devices). */
  dir: string;
  caFile: string;
  /** The broker's identity, CN=mosquitto, SAN 127.0.0.1 and localhost at least. */
  server: CertPair;
  /** The bridge's identity, CN=mqtt-bridge (clients-certs.sh --bridge). */
  bridge: CertPair;
  /** A device identity with CN=name (clients-certs.sh name), made once per name. */
  client(name: string): Promise<CertPair>;
}

export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type PkiScript = 'server-certs.sh' | 'clients-certs.sh' | 'check-cert.sh' | 'revoke-cert.sh' | 'update-crl.sh';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MOSQUITTO_DIR = path.join(REPO_ROOT, 'mosquitto');

/** A temporary directory removed when the test process ends (kept if KEEP_TEST_FILES is set). */
function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(error); // could not run at all (ENOENT, EACCES...), not an exit status
        return;
      }
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

/** Runs one of the scripts of mosquitto/ and returns its exit code and output (never throws on exit != 0). */
export function runScript(script: PkiScript, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ScriptResult> {
  return run(path.join(MOSQUITTO_DIR, script), args, env);
}

async function mustRun(script: PkiScript, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const r = await runScript(script, args, env);
  if (r.code !== 0) throw new Error(`${script} ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
}

async function openssl(args: string[]): Promise<void> {
  const r = await run('openssl', args);
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
}

/** Paths of a device identity made by clients-certs.sh <name>. */
export function clientPaths(dir: string, name: string): CertPair & { caFile: string; dir: string } {
  const clientDir = path.join(dir, 'client-certs', name);
  return {
    dir: clientDir,
    certFile: path.join(clientDir, 'client.crt'),
    keyFile: path.join(clientDir, 'client.key'),
    caFile: path.join(clientDir, 'ca.crt'),
  };
}

export async function makePki(opts: { dir?: string; serverNames?: string[] } = {}): Promise<Pki> {
  const dir = opts.dir ?? (tempDir('parc-pki-'));
  const env = { PKI_DIR: dir };
  await mustRun('server-certs.sh', ['127.0.0.1', 'localhost', ...(opts.serverNames ?? [])], env);
  const bridge = { certFile: path.join(dir, 'client-certs', 'client.crt'), keyFile: path.join(dir, 'client-certs', 'client.key') };
  // A reused dir keeps its identities (the scripts refuse to overwrite them).
  if (!existsSync(bridge.certFile)) await mustRun('clients-certs.sh', ['--bridge'], env);

  const clients = new Map<string, Promise<CertPair>>();
  const client = (name: string): Promise<CertPair> => {
    const cn = normaliseMac(name);
    let made = clients.get(cn);
    if (!made) {
      const { certFile, keyFile } = clientPaths(dir, cn);
      made = (existsSync(certFile) ? Promise.resolve() : mustRun('clients-certs.sh', [cn], env)).then(() => ({ certFile, keyFile }));
      clients.set(cn, made);
    }
    return made;
  };

  return {
    dir,
    caFile: path.join(dir, 'server-certs', 'ca.crt'),
    server: { certFile: path.join(dir, 'server-certs', 'server.crt'), keyFile: path.join(dir, 'server-certs', 'server.key') },
    bridge,
    client,
  };
}

/** clients-certs.sh upper-cases a MAC; other names are kept as given. */
function normaliseMac(name: string): string {
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(name) ? name.toUpperCase() : name;
}

/**
 * A device identity signed by a different CA (made by the same scripts in another PKI_DIR):
 * the broker must refuse it. caFile is that other CA.
 */
export async function makeForeignCert(name = 'AA:BB:CC:00:00:01'): Promise<CertPair & { caFile: string }> {
  const other = await makePki();
  const pair = await other.client(name);
  return { ...pair, caFile: other.caFile };
}

/**
 * A device certificate signed by the real CA whose validity ended in 2020: the broker must
 * refuse it. `openssl ca` accepts explicit start and end dates, which `x509 -req` does not on
 * OpenSSL 3.0, so no clock faking is needed.
 */
export async function makeExpiredCert(pki: Pki, name = 'AA:BB:CC:00:00:02'): Promise<CertPair> {
  const dir = path.join(pki.dir, 'test-certs', `expired-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
  await mkdir(dir, { recursive: true });
  const file = (f: string) => path.join(dir, f);
  await writeFile(file('index.txt'), '');
  await writeFile(file('serial'), '1000\n');
  await writeFile(
    file('ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `database = ${file('index.txt')}`,
      `new_certs_dir = ${dir}`,
      `serial = ${file('serial')}`,
      'default_md = sha256',
      'policy = policy_any',
      'unique_subject = no',
      '[policy_any]',
      'commonName = supplied',
      '[client_ext]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = clientAuth',
      '',
    ].join('\n'),
  );
  const pair = { certFile: file('client.crt'), keyFile: file('client.key') };
  await openssl(['genrsa', '-traditional', '-out', pair.keyFile, '2048']);
  await openssl(['req', '-new', '-key', pair.keyFile, '-subj', `/CN=${name}`, '-out', file('client.csr')]);
  await openssl([
    'ca', '-batch', '-notext', '-config', file('ca.cnf'), '-extensions', 'client_ext',
    '-cert', pki.caFile, '-keyfile', path.join(pki.dir, 'server-certs', 'ca.key'),
    '-startdate', '20200101000000Z', '-enddate', '20200201000000Z',
    '-in', file('client.csr'), '-out', pair.certFile,
  ]);
  return pair;
}
