/**
 * Static checks of the container files: docker-compose.yml, docker-compose.local-db.yml, the
 * Dockerfile, .dockerignore and .env.example agree with each other, with the scripts that make
 * the mounted certificates, and with DESIGN.md section 6. Debian 12's own docker-compose 1.29
 * reads both files (`docker-compose config`, no engine needed); the pki service's command runs
 * for real. The stack itself runs in compose-stack.test.ts, the image in image.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempDir } from '../helpers/cleanup.js';
import { REPO_ROOT } from '../helpers/pki.js';

interface Healthcheck {
  test: string[];
  interval?: string;
}
interface DependsOn {
  condition: string;
  required?: boolean;
}
interface Service {
  image?: string;
  user?: string;
  working_dir?: string;
  build?: { context: string; args?: Record<string, string> };
  env_file?: string | string[];
  environment?: Record<string, string>;
  command?: string[];
  ports?: Array<string | { host_ip?: string; published: number; target: number }>;
  volumes?: string[];
  networks?: string[];
  depends_on?: Record<string, DependsOn>;
  profiles?: string[];
  healthcheck?: Healthcheck;
  restart?: string;
  container_name?: string;
  stop_grace_period?: string;
}
interface Compose {
  services: Record<string, Service>;
  networks?: Record<string, unknown>;
  volumes: Record<string, { name?: string }>;
}

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;
const services = compose.services;
/** The second file, added by .env.example's COMPOSE_FILE line. */
const localDb = parse(read('docker-compose.local-db.yml'), { merge: true }) as Compose;
const BRIDGE_IMAGE = '${BRIDGE_IMAGE:-parc-bridge:local}';

function service(name: string, file: Compose = compose): Service {
  const s = file.services[name];
  if (!s) throw new Error(`no service ${name}`);
  return s;
}

/** `[address:]published:target` of a port in either of the forms `docker-compose config` prints. */
function published(ports: Service['ports']): string[] {
  return (ports ?? []).map((p) => (typeof p === 'string' ? p.replace(/\/tcp$/, '') : `${p.host_ip ? `${p.host_ip}:` : ''}${p.published}:${p.target}`));
}

/**
 * What Debian 12's docker-compose 1.29 makes of the files with this .env, in a folder holding
 * them: its exit code, its messages, and the merged configuration. Needs no Docker engine.
 */
function composeConfig(envFile: string, args: string[] = []): { code: number | null; stderr: string; config: Compose } {
  const dir = tempDir('parc-compose-config-');
  for (const file of ['docker-compose.yml', 'docker-compose.local-db.yml']) copyFileSync(path.join(REPO_ROOT, file), path.join(dir, file));
  writeFileSync(path.join(dir, '.env'), envFile);
  // Only what the shell of a fresh session has: no COMPOSE_* or image variable of the test machine.
  const run = spawnSync('docker-compose', [...args, 'config'], { cwd: dir, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  if (run.error) throw new Error(`docker-compose: ${run.error.message} (apt-get install docker-compose; scripts/test-prerequisites.sh does it)`);
  return { code: run.status, stderr: run.stderr, config: (run.status === 0 ? parse(run.stdout) : { services: {}, volumes: {} }) as Compose };
}

/** [host, container, mode] of a "host:container[:mode]" volume entry. */
function mount(entry: string): [string, string, string | undefined] {
  const [host = '', container = '', mode] = entry.split(':');
  return [host, container, mode];
}

/** Where the pki service's scripts put what Compose mounts from ./mosquitto/{server-certs,client-certs}. */
function hostPath(pkiDir: string, host: string): string {
  const generated = host.match(/^\.\/mosquitto\/((?:server-certs|client-certs)(?:\/.*)?)$/);
  return generated?.[1] ? path.join(pkiDir, generated[1]) : path.join(REPO_ROOT, host);
}

/** Resolves a container path through a service's bind mounts to the file on the host. */
function throughMounts(pkiDir: string, svc: Service, containerPath: string): string | undefined {
  for (const entry of svc.volumes ?? []) {
    const [host, container] = mount(entry);
    if (!host.startsWith('./')) continue;
    if (containerPath === container) return hostPath(pkiDir, host);
    if (containerPath.startsWith(`${container}/`)) return path.join(hostPath(pkiDir, host), containerPath.slice(container.length + 1));
  }
  return undefined;
}

/** Runs the pki service's command as Compose runs it (its environment from .env.example), in pkiDir. */
function pkiService(pkiDir: string, env: Record<string, string> = {}): { status: number | null; stderr: string } {
  const pki = service('pki');
  const [script = '', ...args] = pki.command ?? [];
  const run = spawnSync(path.join(REPO_ROOT, script), args, {
    env: { PATH: process.env.PATH ?? '', ...envExample(), PKI_DIR: pkiDir, ...env },
    encoding: 'utf8',
  });
  return { status: run.status, stderr: run.stderr };
}

/** The pki service's command, which must succeed; its messages. */
function runPkiService(pkiDir: string, env: Record<string, string> = {}): string {
  const { status, stderr } = pkiService(pkiDir, env);
  if (status !== 0) throw new Error(`the pki service's command exited ${status}: ${stderr}`);
  return stderr;
}

/** The uncommented settings of .env.example, as Compose's env_file reads them. */
function envExample(): Record<string, string> {
  const entries = [...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']);
  return Object.fromEntries(entries);
}

const asRoot = process.getuid?.() === 0;

describe('docker-compose.yml', () => {
  let pkiDir: string;
  beforeAll(() => {
    // What `docker compose up` does first on a fresh clone: the pki service's command.
    pkiDir = tempDir('parc-compose-pki-');
    runPkiService(pkiDir);
  });

  it('has the services, the parc-net network and the named volumes, in both files', () => {
    expect(Object.keys(services).sort()).toEqual(['bridge', 'db-user', 'migrate', 'mosquitto', 'pki']);
    expect(Object.keys(localDb.services).sort()).toEqual(['bridge', 'demo-serre', 'local-db-migrate', 'local-db-user', 'mariadb']);
    expect(Object.keys(compose.networks ?? {})).toEqual(['parc-net']);
    expect(localDb.networks).toBeUndefined();
    for (const file of [compose, localDb]) {
      for (const [name, svc] of Object.entries(file.services)) {
        // The local-db file's bridge only adds to docker-compose.yml's.
        if (file !== localDb || name !== 'bridge') expect(svc.networks, name).toEqual(['parc-net']);
        for (const entry of svc.volumes ?? []) {
          const [host] = mount(entry);
          if (!host.startsWith('./')) expect(Object.keys(file.volumes), `${name}: ${entry}`).toContain(host);
        }
      }
      // Named after the project, parc_* by default as with the former `name: parc`: the data of an
      // installation stays its own whatever the folder, and the project's alone.
      for (const [key, volume] of Object.entries(file.volumes)) expect(volume.name).toBe(`\${COMPOSE_PROJECT_NAME:-parc}_${key}`);
    }
  });

  it('is read by Debian 12 docker-compose 1.29: with .env.example, the stack with its local database', () => {
    const { code, stderr, config } = composeConfig(read('.env.example'));
    expect(code, stderr).toBe(0);
    // No "variable is not set" or other warning.
    expect(stderr).toBe('');
    expect(Object.keys(config.services).sort()).toEqual(['bridge', 'db-user', 'demo-serre', 'local-db-migrate', 'local-db-user', 'mariadb', 'migrate', 'mosquitto', 'pki']);
    expect(Object.values(config.volumes).map((v) => v.name).sort()).toEqual(['parc_bridge-data', 'parc_mariadb-data', 'parc_mosquitto-data']);
    // The local-db file adds to the bridge's dependencies; it keeps docker-compose.yml's.
    expect(Object.keys(config.services.bridge?.depends_on ?? {}).sort()).toEqual(['demo-serre', 'local-db-user', 'mosquitto', 'pki']);
    expect(published(config.services.bridge?.ports)).toEqual(['127.0.0.1:8080:8080']);
    expect(published(config.services.mosquitto?.ports)).toEqual(['8883:8883']);
  });

  it("is read by docker-compose 1.29 with a school's existing .env too: its own database, the volumes it had", () => {
    // The .env of an installation made before: no COMPOSE_* line, the school's MySQL.
    const existing = 'DB_HOST=192.168.42.5\nDB_USER=bridge\nDB_PASSWORD=secret\nMQTT_HOST=mosquitto\nTZ=Europe/Paris\n';
    const { code, stderr, config } = composeConfig(existing);
    expect(code, stderr).toBe(0);
    expect(stderr).toBe('');
    expect(Object.keys(config.services).sort()).toEqual(['bridge', 'db-user', 'migrate', 'mosquitto', 'pki']);
    expect(Object.values(config.volumes).map((v) => v.name).sort()).toEqual(['parc_bridge-data', 'parc_mosquitto-data']);
    // The ports and the address a newcomer may change in .env.
    const moved = composeConfig(`${existing}MQTT_PUBLISHED_PORT=18883\nHTTP_PUBLISHED_PORT=18080\nHTTP_PUBLISHED_ADDRESS=192.168.42.10\n`).config;
    expect(published(moved.services.mosquitto?.ports)).toEqual(['18883:8883']);
    expect(published(moved.services.bridge?.ports)).toEqual(['192.168.42.10:18080:8080']);
    expect(moved.services.bridge?.environment?.HTTP_PUBLISHED_ADDRESS).toBe('192.168.42.10');
    // For --scale bridge=N: a range (one port each) or empty (random ports).
    expect(published(composeConfig(`${existing}HTTP_PUBLISHED_PORT=8080-8082\n`).config.services.bridge?.ports)).toEqual(['127.0.0.1:8080-8082:8080']);
    expect(published(composeConfig(`${existing}HTTP_PUBLISHED_PORT=\n`).config.services.bridge?.ports)).toEqual(['127.0.0.1::8080']);
  });

  it('runs Mosquitto 2 as its own user with the shipped config and the four certificate files it reads, never ca.key', () => {
    const mosquitto = service('mosquitto');
    expect(mosquitto.image).toBe('${MOSQUITTO_IMAGE:-eclipse-mosquitto:2}');
    expect(mosquitto.ports).toEqual(['${MQTT_PUBLISHED_PORT:-8883}:8883']);
    // The image's entrypoint chowns /mosquitto only when run as root (every read-only file: an error line).
    expect(mosquitto.user).toBe('1883:1883');
    expect(mosquitto.restart).toBe('unless-stopped');
    expect(mosquitto.volumes).toEqual([
      './mosquitto/config:/mosquitto/config:ro',
      './mosquitto/server-certs/ca.crt:/mosquitto/certs/ca.crt:ro',
      './mosquitto/server-certs/ca.crl:/mosquitto/certs/ca.crl:ro',
      './mosquitto/server-certs/server.crt:/mosquitto/certs/server.crt:ro',
      './mosquitto/server-certs/server.key:/mosquitto/certs/server.key:ro',
      'mosquitto-data:/mosquitto/data',
    ]);
    // ca.key is mounted into pki only (its whole mosquitto/ folder).
    for (const file of [compose, localDb]) {
      for (const [name, svc] of Object.entries(file.services)) {
        const hosts = (svc.volumes ?? []).map((v) => mount(v)[0]);
        if (name === 'pki') continue;
        expect(hosts.filter((h) => h === './mosquitto' || h === './mosquitto/server-certs' || h.includes('ca.key')), name).toEqual([]);
      }
    }
    expect(mosquitto.healthcheck?.test[0]).toBe('CMD');
  });

  it('mounts every file the broker config names, and each exists once the scripts have run', () => {
    const mosquitto = service('mosquitto');
    const conf = read('mosquitto/config/mosquitto.conf');
    // Every file setting, the revocation list too: Mosquitto does not start without it.
    const named = [...conf.matchAll(/^(?:[a-z_]*file) (\S+)$/gm)].map((m) => m[1] ?? '');
    expect(named).toEqual(expect.arrayContaining(['/mosquitto/certs/ca.crt', '/mosquitto/certs/server.key', '/mosquitto/config/acl']));
    // The image's default config path, replaced by ours through the mount.
    for (const file of [...named, '/mosquitto/config/mosquitto.conf']) {
      const local = throughMounts(pkiDir, mosquitto, file);
      expect(local, file).toBeDefined();
      expect(existsSync(local ?? ''), `${file} -> ${local}`).toBe(true);
    }
    expect(conf).toMatch(/^persistence_location \/mosquitto\/data\/$/m);
    const healthFiles = mosquitto.healthcheck?.test.filter((a) => a.startsWith('/mosquitto/')) ?? [];
    expect(healthFiles).toHaveLength(3);
    for (const file of healthFiles) expect(existsSync(throughMounts(pkiDir, mosquitto, file) ?? ''), file).toBe(true);
  });

  it('gives the bridge its certificates read-only where its defaults expect them', () => {
    const bridge = service('bridge');
    const certMounts = (bridge.volumes ?? []).filter((v) => v.includes(':/certs/'));
    expect(certMounts.sort()).toEqual([
      './mosquitto/client-certs/client.crt:/certs/client.crt:ro',
      './mosquitto/client-certs/client.key:/certs/client.key:ro',
      './mosquitto/server-certs/ca.crt:/certs/ca.crt:ro',
    ]);
    for (const entry of certMounts) expect(existsSync(hostPath(pkiDir, mount(entry)[0])), entry).toBe(true);
    for (const key of ['MQTT_CA_FILE', 'MQTT_CERT_FILE', 'MQTT_KEY_FILE']) {
      const file = bridge.environment?.[key];
      expect(certMounts.some((m) => mount(m)[1] === file), `${key}=${file}`).toBe(true);
    }
    expect(bridge.environment?.DATA_DIR).toBe('/data');
    expect(bridge.volumes).toContain('bridge-data:/data');
  });

  it('binds nothing from the repository that does not exist or is not made by the scripts', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const entry of svc.volumes ?? []) {
        const [host] = mount(entry);
        if (host.startsWith('./')) expect(existsSync(hostPath(pkiDir, host)), `${name}: ${entry}`).toBe(true);
      }
    }
  });

  it('starts the bridge after a healthy broker, restartable, scalable, its page on the loopback, with time to flush', () => {
    const bridge = service('bridge');
    expect(bridge.image).toBe(BRIDGE_IMAGE);
    expect(bridge.build).toBeUndefined();
    expect(bridge.env_file).toBe('.env');
    expect(bridge.restart).toBe('unless-stopped');
    expect(bridge.depends_on?.mosquitto).toEqual({ condition: 'service_healthy' });
    expect(bridge.depends_on?.pki).toEqual({ condition: 'service_completed_successfully' });
    expect(bridge.healthcheck?.test).toEqual(['CMD', 'node', 'dist/cli.js', 'healthcheck']);
    // --scale bridge=N: no fixed name; the host port may be a range or empty (random).
    expect(bridge.container_name).toBeUndefined();
    expect(bridge.ports).toEqual(['${HTTP_PUBLISHED_ADDRESS:-127.0.0.1}:${HTTP_PUBLISHED_PORT-8080}:${HTTP_PORT:-8080}']);
    // Whatever .env says for a run outside Docker, the container listens on every interface of
    // its own; what the host publishes is the bridge's to check (HTTP_TOKEN beyond the loopback).
    expect(bridge.environment?.HTTP_HOST).toBe('0.0.0.0');
    expect(bridge.environment?.HTTP_PUBLISHED_ADDRESS).toBe('${HTTP_PUBLISHED_ADDRESS:-127.0.0.1}');
    const grace = Number(bridge.stop_grace_period?.replace(/s$/, ''));
    const shutdown = Number(read('.env.example').match(/^SHUTDOWN_TIMEOUT=(\d+)$/m)?.[1]);
    expect(grace).toBeGreaterThan(shutdown);
  });

  it('makes the PKI in a one-shot pki service, as root, before the broker and the bridge start', () => {
    const pki = service('pki');
    expect(pki.image).toBe(BRIDGE_IMAGE);
    expect(pki.profiles).toBeUndefined();
    expect(pki.user).toBe('0:0');
    expect(pki.restart).toBe('no');
    expect(pki.command).toEqual(['scripts/pki-once.sh']);
    expect(pki.volumes).toEqual(['./mosquitto:/repo/mosquitto', './scripts/pki-once.sh:/repo/scripts/pki-once.sh:ro']);
    // The script finds the project's scripts next to it, in ../mosquitto, as in the repository.
    for (const file of ['scripts/pki-once.sh', 'mosquitto/server-certs.sh', 'mosquitto/clients-certs.sh']) {
      const local = throughMounts(pkiDir, pki, path.posix.join(pki.working_dir ?? '', file));
      expect(local, file).toBe(path.join(REPO_ROOT, file));
    }
    for (const name of ['mosquitto', 'bridge']) {
      expect(service(name).depends_on?.pki, name).toEqual({ condition: 'service_completed_successfully' });
    }
  });

  it.skipIf(!asRoot)('leaves each key to the one container user that reads it, mode 600', () => {
    const key = (file: string) => {
      const st = statSync(path.join(pkiDir, file));
      return `${st.uid}:${st.gid} ${(st.mode & 0o777).toString(8)}`;
    };
    expect(key('server-certs/server.key')).toBe('1883:1883 600');
    expect(key('client-certs/client.key')).toBe('1001:1001 600');
    expect(key('server-certs/ca.key')).toBe('0:0 600');
  });

  it('keeps the PKI at the next up, and re-issues only the broker certificate when BROKER_LAN_IP changes', () => {
    const dir = tempDir('parc-compose-pki-again-');
    const files = ['server-certs/ca.crt', 'server-certs/server.crt', 'client-certs/client.crt'];
    const contents = () => files.map((f) => readFileSync(path.join(dir, f), 'utf8'));
    runPkiService(dir);
    const first = contents();
    runPkiService(dir);
    expect(contents()).toEqual(first);
    runPkiService(dir, { BROKER_LAN_IP: '192.168.42.10' });
    const [ca, server, bridge] = contents();
    expect([ca, bridge]).toEqual([first[0], first[2]]);
    expect(server).not.toBe(first[1]);
    const check = execFileSync('openssl', ['x509', '-in', path.join(dir, 'server-certs/server.crt'), '-noout', '-checkip', '192.168.42.10'], { encoding: 'utf8' });
    expect(check).toContain('does match');
  });

  it("keeps a school's complete PKI when its .env (from the original bridge.py) has no BROKER_LAN_IP, and asks for it only to make one", () => {
    const dir = tempDir('parc-compose-pki-no-ip-');
    runPkiService(dir);
    const first = issued(dir);
    expect(runPkiService(dir, { BROKER_LAN_IP: '' })).toMatch(/keeping the broker certificate .*BROKER_LAN_IP not set/);
    expect(issued(dir)).toEqual(first);
    const empty = tempDir('parc-compose-pki-none-');
    const { status, stderr } = pkiService(empty, { BROKER_LAN_IP: '' });
    expect(status).toBe(2);
    expect(stderr).toMatch(/the broker certificate must be made \(there is no CA yet\), and BROKER_LAN_IP is not set: set it in \.env.*Nothing was changed/);
    expect(existsSync(path.join(empty, 'server-certs/ca.crt'))).toBe(false);
  });

  /** What the broker and the bridge load: a change in any of them is a re-issue. */
  const ISSUED = ['server-certs/ca.crt', 'server-certs/server.crt', 'server-certs/server.key', 'server-certs/ca.crl', 'client-certs/client.crt', 'client-certs/client.key'];
  const issued = (dir: string) => ISSUED.map((f) => readFileSync(path.join(dir, f), 'utf8'));

  it('keeps everything at the next up once ca.key was moved off the server, as the guide advises', () => {
    const dir = tempDir('parc-compose-pki-offline-ca-');
    runPkiService(dir);
    const first = issued(dir);
    renameSync(path.join(dir, 'server-certs/ca.key'), path.join(tempDir('parc-compose-ca-key-'), 'ca.key'));
    const messages = runPkiService(dir);
    expect(issued(dir)).toEqual(first);
    expect(messages).toContain('pki: keeping the broker certificate');
    expect(existsSync(path.join(dir, 'server-certs/ca.key'))).toBe(false);
  });

  it('says what to do without ca.key when something must be signed, and changes nothing', () => {
    const dir = tempDir('parc-compose-pki-no-ca-key-');
    runPkiService(dir);
    renameSync(path.join(dir, 'server-certs/ca.key'), path.join(tempDir('parc-compose-ca-key-'), 'ca.key'));
    renameSync(path.join(dir, 'server-certs/ca.crl'), path.join(tempDir('parc-compose-crl-'), 'ca.crl'));
    const withoutCrl = () => ISSUED.filter((f) => f !== 'server-certs/ca.crl').map((f) => readFileSync(path.join(dir, f), 'utf8'));
    const before = withoutCrl();

    const missingCrl = pkiService(dir);
    expect(missingCrl.status).toBe(1);
    expect(missingCrl.stderr).toContain('ca.key is not on this machine');
    expect(missingCrl.stderr).toMatch(/revocation list server-certs\/ca\.crl.*run mosquitto\/update-crl\.sh there, then copy/);
    expect(missingCrl.stderr).not.toContain('new broker certificate');

    const newAddress = pkiService(dir, { BROKER_LAN_IP: '192.168.42.10' });
    expect(newAddress.status).toBe(1);
    expect(newAddress.stderr).toContain('a new broker certificate (server.crt does not name 192.168.42.10)');
    expect(existsSync(path.join(dir, 'server-certs/ca.crl'))).toBe(false);
    expect(withoutCrl()).toEqual(before);
  });

  it('keeps the broker certificate at the next up when BROKER_LAN_IP also holds a host name', () => {
    const dir = tempDir('parc-compose-pki-name-');
    // The name first: the script hands server-certs.sh the IP first, as it requires.
    const env = { BROKER_LAN_IP: 'serre.lycee.local, 192.168.42.10' };
    runPkiService(dir, env);
    const first = issued(dir);
    const check = (flag: string, name: string) =>
      execFileSync('openssl', ['x509', '-in', path.join(dir, 'server-certs/server.crt'), '-noout', flag, name], { encoding: 'utf8' });
    expect(check('-checkhost', 'serre.lycee.local')).toContain('does match');
    expect(check('-checkip', '192.168.42.10')).toContain('does match');
    expect(runPkiService(dir, env)).toContain('pki: keeping the broker certificate');
    expect(issued(dir)).toEqual(first);
    // A name it does not hold yet is a new broker certificate, same CA.
    runPkiService(dir, { BROKER_LAN_IP: '192.168.42.10 serre2.lycee.local' });
    expect(check('-checkhost', 'serre2.lycee.local')).toContain('does match');
    expect(issued(dir)[0]).toBe(first[0]);
  });

  it('needs no variable that .env.example does not give, and selects the local database', () => {
    const env = envExample();
    // Every ${VAR} has a default: a .env without it (a school's) gets no "variable is not set".
    for (const file of ['docker-compose.yml', 'docker-compose.local-db.yml']) {
      expect([...read(file).matchAll(/\$\{[A-Z][A-Z0-9_]*\}/g)].map((m) => m[0]), file).toEqual([]);
    }
    expect(env.BROKER_LAN_IP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(env.COMPOSE_PROJECT_NAME).toBe('parc');
    expect(env.COMPOSE_FILE).toBe('docker-compose.yml:docker-compose.local-db.yml');
    // The local MariaDB, administered as root.
    expect(env.DB_HOST).toBe('mariadb');
    expect(env.DB_ADMIN_USER).toBe('root');
  });

  it('builds the image in pki alone, which every service running it at `up` waits for', () => {
    // Compose v2 fails when two services build one tag; 1.29 pulls an image another service builds.
    const all = { ...localDb.services, ...services };
    expect(Object.entries(all).filter(([, s]) => s.build).map(([name]) => name)).toEqual(['pki']);
    expect(service('pki').build).toEqual({ context: '.', args: { NODE_IMAGE: '${NODE_IMAGE:-node:20-bookworm-slim}' } });
    const users = Object.entries(all).filter(([, s]) => s.image === BRIDGE_IMAGE).map(([name]) => name);
    expect(users.sort()).toEqual(['bridge', 'db-user', 'local-db-migrate', 'local-db-user', 'migrate', 'pki']);
    const dependsOn = (name: string): string[] => {
      const deps = Object.keys({ ...services[name]?.depends_on, ...localDb.services[name]?.depends_on });
      return [...deps, ...deps.flatMap(dependsOn)];
    };
    // migrate and db-user run only by hand (`run --rm --no-deps`), once the image is built.
    for (const name of users.filter((n) => !['pki', 'migrate', 'db-user'].includes(n))) expect(dependsOn(name), name).toContain('pki');
  });

  it('makes the local database, its schema, the account and the demo serre before the bridge starts', () => {
    const svc = (name: string) => service(name, localDb);
    expect(svc('mariadb').image).toBe('${MARIADB_IMAGE:-mariadb:11}');
    expect(svc('mariadb').environment).toEqual({ MARIADB_ROOT_PASSWORD: '${DB_ADMIN_PASSWORD-}', MARIADB_DATABASE: '${DB_NAME:-parc}' });
    expect(svc('mariadb').volumes).toEqual(['mariadb-data:/var/lib/mysql', './deploy/local-db/initdb:/docker-entrypoint-initdb.d:ro']);
    expect(svc('mariadb').healthcheck?.test).toEqual(['CMD', 'healthcheck.sh', '--connect', '--innodb_initialized']);
    expect(svc('local-db-migrate').command).toEqual(['node', 'dist/cli.js', 'migrate']);
    expect(svc('local-db-migrate').environment).toEqual({ DB_USER: '${DB_ADMIN_USER:-root}', DB_PASSWORD: '${DB_ADMIN_PASSWORD-}' });
    expect(svc('local-db-migrate').depends_on?.mariadb).toEqual({ condition: 'service_healthy' });
    expect(svc('local-db-user').command).toEqual(['node', 'dist/cli.js', 'create-db-user']);
    expect(svc('local-db-user').depends_on).toEqual({ 'local-db-migrate': { condition: 'service_completed_successfully' } });
    expect(svc('demo-serre').image).toBe('${MARIADB_IMAGE:-mariadb:11}');
    expect(svc('demo-serre').depends_on).toEqual({ 'local-db-migrate': { condition: 'service_completed_successfully' } });
    expect(svc('demo-serre').command).toContain('--execute=SOURCE /demo-serre.sql');
    expect(svc('demo-serre').volumes).toEqual(['./deploy/local-db/demo-serre.sql:/demo-serre.sql:ro']);
    expect(svc('bridge').depends_on).toEqual({
      'local-db-user': { condition: 'service_completed_successfully' },
      'demo-serre': { condition: 'service_completed_successfully' },
    });
    for (const name of ['mariadb', 'local-db-migrate', 'local-db-user', 'demo-serre']) expect(svc(name).profiles, name).toBeUndefined();
    for (const file of ['deploy/local-db/initdb/demo-marker.sql', 'deploy/local-db/demo-serre.sql']) expect(existsSync(path.join(REPO_ROOT, file)), file).toBe(true);
  });

  it("keeps the school's one-shot jobs out of `up`: migrate and db-user run by hand", () => {
    for (const name of ['migrate', 'db-user']) expect(service(name).profiles, name).toEqual(['db-admin']);
    for (const name of ['pki', 'mosquitto', 'bridge']) expect(service(name).profiles, name).toBeUndefined();
    expect(service('migrate').command).toEqual(['node', 'dist/cli.js', 'migrate']);
    expect(service('migrate').environment).toEqual({ DB_USER: '${DB_ADMIN_USER:-root}', DB_PASSWORD: '${DB_ADMIN_PASSWORD-}' });
    expect(service('db-user').command).toEqual(['node', 'dist/cli.js', 'create-db-user']);
  });

  it('never makes a service depend on a profile service it may run without', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const [dep, how] of Object.entries(svc.depends_on ?? {})) {
        const target = service(dep);
        const sameProfile = (target.profiles ?? []).every((p) => (svc.profiles ?? []).includes(p));
        if (!sameProfile) expect(how.required, `${name} -> ${dep}`).toBe(false);
      }
    }
  });

  it('only runs bridge commands that src/cli.ts provides', () => {
    const cli = read('src/cli.ts');
    const commands = [...Object.values(services), ...Object.values(localDb.services)].flatMap((s) => [s.command, s.healthcheck?.test.slice(1)]);
    for (const cmd of commands) {
      if (cmd?.[0] !== 'node') continue;
      expect(cmd[1]).toBe('dist/cli.js');
      // A key of its command table: `migrate: ...`, `'create-db-user': ...` or shorthand `healthcheck,`.
      const name = (cmd[2] ?? '').replace(/[^a-z-]/g, '');
      expect(cli, `command ${name}`).toMatch(new RegExp(`^\\s*(['"]?)${name}\\1\\s*[:,]`, 'm'));
    }
  });
});

describe('Dockerfile', () => {
  const lines = read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const runtimeStart = lines.findIndex((l) => /^FROM .* AS runtime$/.test(l));
  const runtime = lines.slice(runtimeStart);

  it('builds in one Node LTS stage and runs in another from the same base', () => {
    const arg = lines.find((l) => l.startsWith('ARG NODE_IMAGE='));
    expect(arg).toMatch(/^ARG NODE_IMAGE=node:(20|22|24)-bookworm-slim$/);
    expect(lines.filter((l) => l.startsWith('FROM '))).toEqual(['FROM ${NODE_IMAGE} AS build', 'FROM ${NODE_IMAGE} AS runtime']);
    const build = lines.slice(0, runtimeStart).join('\n');
    expect(build).toMatch(/apt-get install .*python3 make g\+\+/);
    expect(build).toMatch(/RUN npm ci\b/);
    expect(build).toMatch(/npm run build && npm prune --omit=dev/);
  });

  it('copies only the built app into a non-root runtime with a data volume and a healthcheck', () => {
    expect(runtime.filter((l) => l.startsWith('COPY '))).toEqual([
      'COPY --from=build /app/package.json ./',
      'COPY --from=build /app/node_modules ./node_modules',
      'COPY --from=build /app/dist ./dist',
    ]);
    expect(runtime).toContain('USER 1001');
    expect(runtime.findIndex((l) => l === 'USER 1001')).toBeGreaterThan(runtime.findLastIndex((l) => l.startsWith('RUN ')));
    expect(runtime.join('\n')).toMatch(/chown 1001:1001 \/data/);
    expect(runtime.join('\n')).toMatch(/DATA_DIR=\/data/);
    expect(runtime).toContain('VOLUME /data');
    expect(runtime).toContain('EXPOSE 8080');
    expect(runtime.find((l) => l.startsWith('HEALTHCHECK'))).toMatch(/CMD \["node", "dist\/cli\.js", "healthcheck"\]$/);
    expect(runtime.at(-1)).toBe('CMD ["node", "dist/cli.js", "start"]');
  });

  it('targets dist/cli.js, which the build compiles from src/cli.ts', () => {
    const build = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(build.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    expect(existsSync(path.join(REPO_ROOT, 'src', 'cli.ts'))).toBe(true);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json');
  });

  it('.dockerignore lets in what the build copies and keeps keys and .env out', () => {
    const rules = read('.dockerignore')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(rules[0]).toBe('*');
    const allowed = rules.filter((r) => r.startsWith('!')).map((r) => r.slice(1).replace(/\/$/, ''));
    const copied = lines.flatMap((l) => (l.startsWith('COPY ') && !l.includes('--from') ? l.split(/\s+/).slice(1, -1) : []));
    expect(copied.sort()).toEqual(['package-lock.json', 'package.json', 'src', 'tsconfig.build.json', 'tsconfig.json']);
    expect(allowed.sort()).toEqual(copied.sort());
  });
});

describe('.env.example and .gitignore', () => {
  const example = read('.env.example');
  const listed = new Set([...example.matchAll(/^#?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));

  const SECTION_6 = [
    'DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER', 'DB_PASSWORD', 'MQTT_HOST', 'MQTT_PORT', 'MQTT_KEEPALIVE',
    'MQTT_USER', 'MQTT_PASSWORD', 'DB_RETRY_DELAY', 'MQTT_RETRY_DELAY', 'LOG_LEVEL', 'MQTT_TLS', 'MQTT_CA_FILE',
    'MQTT_CERT_FILE', 'MQTT_KEY_FILE', 'MQTT_CLIENT_ID', 'DATA_DIR', 'HTTP_PORT', 'TZ',
  ];
  const DEPLOYMENT = ['DB_ADMIN_USER', 'DB_ADMIN_PASSWORD', 'JOURNAL_MAX_BYTES', 'MAX_PAYLOAD_BYTES', 'SHUTDOWN_TIMEOUT', 'MQTT_SHARED_GROUP'];

  it('lists every variable of DESIGN.md section 6 and of the deployment', () => {
    for (const name of [...SECTION_6, ...DEPLOYMENT]) expect(listed.has(name), name).toBe(true);
    expect(example).toMatch(/^DB_HOST=mariadb$/m);
    expect(example).toMatch(/^MQTT_HOST=mosquitto$/m);
    expect(example).toMatch(/^TZ=Europe\/Paris$/m);
  });

  const design = path.join(REPO_ROOT, '..', 'shared', 'DESIGN.md');
  it.skipIf(!existsSync(design))('still matches DESIGN.md section 6 as it is now', () => {
    const text = readFileSync(design, 'utf8');
    const section = text.slice(text.indexOf('## 6.'), text.indexOf('## 7.'));
    const names = [...section.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] ?? '');
    expect(names.length).toBeGreaterThan(15);
    for (const name of names) expect(listed.has(name), name).toBe(true);
  });

  it('keeps .env and every generated key out of git', () => {
    const ignored = read('.gitignore').split('\n');
    for (const entry of ['.env', 'mosquitto/server-certs/', 'mosquitto/client-certs/', '/demo/']) expect(ignored, entry).toContain(entry);
  });

  it('keeps the generated ACL (a school\'s MACs) out of git, and the temporary file `acl --out` writes it through', () => {
    // The name src/ops/acl/command.ts gives its temporary file, next to the one it replaces.
    expect(read('src/ops/acl/command.ts')).toContain('const tmp = `${file}.tmp-${process.pid}`;');
    const generated = 'mosquitto/config/acl.generated';
    const checked = execFileSync('git', ['check-ignore', generated, `${generated}.tmp-${process.pid}`], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(checked.trim().split('\n')).toEqual([generated, `${generated}.tmp-${process.pid}`]);
  });
});

describe('deployment guides', () => {
  const en = read('docs/deployment.md');
  const fr = read('docs/fr/deploiement.md');
  const headings = (md: string) => md.split('\n').filter((l) => /^#{1,3} /.test(l)).map((l) => l.split(' ')[0]);
  // Code blocks without their comments, which are translated (and without ```text diagrams).
  const code = (md: string) => {
    const blocks: string[][] = [];
    let block: string[] | undefined;
    let skip = false;
    for (const line of md.split('\n')) {
      const fence = line.match(/^```(\w*)$/);
      if (fence && !block) {
        block = [];
        skip = fence[1] === 'text';
      } else if (fence && block) {
        if (!skip) blocks.push(block);
        block = undefined;
      } else if (block) {
        const stripped = line.replace(/(^|\s)(#|\/\/).*$/, '').trimEnd();
        if (stripped) block.push(stripped);
      }
    }
    return blocks.map((b) => b.join('\n'));
  };

  it('the French guide follows the English one section by section, command by command', () => {
    expect(headings(fr)).toEqual(headings(en));
    expect(code(en).length).toBeGreaterThan(5);
    expect(code(fr)).toEqual(code(en));
  });

  it('covers the scripts, both ways to start and the checks', () => {
    for (const doc of [en, fr]) {
      for (const needle of [
        'server-certs.sh 192.168.42.10',
        'clients-certs.sh --bridge',
        'clients-certs.sh 24:6F:28:AB:CD:EF',
        'check-cert.sh',
        'docker compose up -d',
        'docker-compose',
        'COMPOSE_FILE=docker-compose.yml:docker-compose.local-db.yml',
        '/readyz',
        'openssl s_client',
        'mosquitto_sub',
        'controleur/<MAC>/disconnect',
        'PKCS#1',
      ]) {
        expect(doc, needle).toContain(needle);
      }
    }
  });
});
