/**
 * Static checks of the container files: docker-compose.yml, the Dockerfile, .dockerignore and
 * .env.example agree with each other, with the scripts that make the mounted certificates, and
 * with DESIGN.md section 6. Compose v2 is not installable here, so what Compose itself adds
 * (dependency order, healthcheck gating) is checked in the file; the pki service's command runs
 * for real. The image itself is built and run in image.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
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
  build?: string;
  env_file?: string | string[];
  environment?: Record<string, string>;
  command?: string[];
  ports?: string[];
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
  networks: Record<string, unknown>;
  volumes: Record<string, unknown>;
}

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;
const services = compose.services;

function service(name: string): Service {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
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

  it('has the services, the parc-net network and the named volumes', () => {
    expect(Object.keys(services).sort()).toEqual(['bridge', 'db-user', 'mariadb', 'migrate', 'mosquitto', 'pki']);
    expect(Object.keys(compose.networks)).toEqual(['parc-net']);
    for (const [name, svc] of Object.entries(services)) {
      expect(svc.networks, name).toEqual(['parc-net']);
      for (const entry of svc.volumes ?? []) {
        const [host] = mount(entry);
        if (!host.startsWith('./')) expect(Object.keys(compose.volumes), `${name}: ${entry}`).toContain(host);
      }
    }
  });

  it('runs Mosquitto 2 with the shipped config and the certificates, port 8883 only', () => {
    const mosquitto = service('mosquitto');
    expect(mosquitto.image).toBe('eclipse-mosquitto:2');
    expect(mosquitto.ports).toEqual(['8883:8883']);
    expect(mosquitto.restart).toBe('unless-stopped');
    expect(mosquitto.volumes).toEqual([
      './mosquitto/config:/mosquitto/config:ro',
      './mosquitto/server-certs:/mosquitto/certs:ro',
      'mosquitto-data:/mosquitto/data',
    ]);
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

  it('starts the bridge after a healthy broker, restartable, scalable, with time to flush', () => {
    const bridge = service('bridge');
    expect(bridge.build).toBe('.');
    expect(bridge.env_file).toBe('.env');
    expect(bridge.restart).toBe('unless-stopped');
    expect(bridge.depends_on?.mosquitto).toEqual({ condition: 'service_healthy' });
    expect(bridge.depends_on?.pki).toEqual({ condition: 'service_completed_successfully' });
    expect(bridge.healthcheck?.test).toEqual(['CMD', 'node', 'dist/cli.js', 'healthcheck']);
    // --scale bridge=N: no fixed name, no host port.
    expect(bridge.container_name).toBeUndefined();
    expect(bridge.ports).toBeUndefined();
    const grace = Number(bridge.stop_grace_period?.replace(/s$/, ''));
    const shutdown = Number(read('.env.example').match(/^SHUTDOWN_TIMEOUT=(\d+)$/m)?.[1]);
    expect(grace).toBeGreaterThan(shutdown);
  });

  it('makes the PKI in a one-shot pki service, as root, before the broker and the bridge start', () => {
    const pki = service('pki');
    expect(pki.image).toBe('parc-bridge:local');
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

  it('needs nothing for a first local run that .env.example does not give', () => {
    const env = envExample();
    const text = read('docker-compose.yml');
    // ${VAR} without a default (${VAR:-x}) must come from .env, non-empty.
    const needed = [...text.matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)].map((m) => m[1] ?? '');
    expect(needed.length).toBeGreaterThan(0);
    for (const name of needed) expect(env[name], name).toBeTruthy();
    expect(env.BROKER_LAN_IP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // With --profile local-db: the local MariaDB, administered as root.
    expect(env.DB_HOST).toBe('mariadb');
    expect(env.DB_ADMIN_USER).toBe('root');
  });

  it('puts the local database and its one-shot jobs in the local-db profile, in order', () => {
    for (const name of ['mariadb', 'migrate', 'db-user']) expect(service(name).profiles, name).toEqual(['local-db']);
    for (const name of ['mosquitto', 'bridge']) expect(service(name).profiles, name).toBeUndefined();
    expect(service('mariadb').image).toBe('mariadb:11');
    expect(service('mariadb').healthcheck?.test[0]).toBe('CMD');
    expect(service('migrate').command).toEqual(['node', 'dist/cli.js', 'migrate']);
    expect(service('migrate').depends_on?.mariadb).toEqual({ condition: 'service_healthy' });
    expect(service('db-user').command).toEqual(['node', 'dist/cli.js', 'create-db-user']);
    expect(service('db-user').depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
    expect(service('bridge').depends_on?.['db-user']).toEqual({ condition: 'service_completed_successfully', required: false });
    for (const name of ['bridge', 'migrate', 'db-user']) expect(service(name).image, name).toBe('parc-bridge:local');
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
    const commands = Object.values(services).flatMap((s) => [s.command, s.healthcheck?.test.slice(1)]);
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
