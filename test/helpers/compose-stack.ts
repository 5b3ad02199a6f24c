/**
 * The Compose stack as a newcomer runs it, for the stack test: a copy of the repository's files
 * (what a clone holds: no .env, no certificates), Debian 12's own `docker-compose` 1.29 run in
 * it, the stand-in images of deploy/stand-ins (no registry here), and what the test looks at:
 * containers by service, their health and logs, the local database. Everything is removed when
 * the test process ends, volumes included: the named ones, and the anonymous ones the images'
 * VOLUME lines give each container (which Compose leaves behind when it re-creates one).
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2';
import { atExit, tempDir } from './cleanup.js';
import type { TestDatabase } from './database.js';
import type { CommandResult } from './docker.js';
import { REPO_ROOT } from './pki.js';
import { waitFor } from './wait.js';

const BUILD_TIMEOUT_MS = 20 * 60_000;

/** Runs a command in `cwd` with `env`; resolves with its exit code and output (never rejects on exit != 0). */
export function runIn(cwd: string, env: NodeJS.ProcessEnv, file: string, args: string[], timeoutMs = 300_000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr}`));
        return;
      }
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

/** NODE_IMAGE, MOSQUITTO_IMAGE and MARIADB_IMAGE of scripts/stand-in-images.sh (built, or found in the cache). */
export async function standInImages(): Promise<Record<string, string>> {
  const built = await runIn(REPO_ROOT, process.env, path.join(REPO_ROOT, 'scripts', 'stand-in-images.sh'), [], BUILD_TIMEOUT_MS);
  if (built.code !== 0) throw new Error(`scripts/stand-in-images.sh exited ${built.code}:\n${built.stderr}`);
  return Object.fromEntries(built.stdout.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
}

/** The repository's files as a clone has them (tracked, and new ones not ignored), in a new folder. */
export function cloneOfRepository(): string {
  const dir = path.join(tempDir('parc-stack-'), 'parc-bridge');
  mkdirSync(dir);
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const file of files) cpSync(path.join(REPO_ROOT, file), path.join(dir, file), { recursive: true });
  return dir;
}

export class ComposeStack {
  private readonly anonymousVolumes = new Set<string>();

  constructor(
    readonly dir: string,
    /** What the test's shell exports: the project name, the images, the published ports. */
    readonly env: NodeJS.ProcessEnv,
  ) {
    // If the test process ends before the test's own clean-up (destroy) could run.
    atExit(() => {
      if (this.destroyed) return;
      const quietly = (file: string, args: string[]) => {
        try {
          execFileSync(file, args, { cwd: dir, env, stdio: 'ignore', timeout: 120_000 });
        } catch {
          // best effort: the engine may be gone, a volume already removed
        }
      };
      quietly('docker-compose', ['down', '--volumes', '--remove-orphans', '--timeout', '5']);
      for (const volume of this.anonymousVolumes) quietly('docker', ['volume', 'rm', volume]);
    });
  }

  private destroyed = false;

  /** `down --volumes`, then the anonymous volumes Compose left behind; for the test's afterAll. */
  async destroy(): Promise<void> {
    await this.compose(['down', '--volumes', '--remove-orphans', '--timeout', '5']);
    for (const volume of this.anonymousVolumes) await runIn(this.dir, this.env, 'docker', ['volume', 'rm', volume]);
    this.destroyed = true;
  }

  /** `docker-compose <args>` in the folder, with the exported variables; `extraEnv` for one command. */
  async compose(args: string[], extraEnv: NodeJS.ProcessEnv = {}, timeoutMs = 300_000): Promise<CommandResult> {
    await this.noteAnonymousVolumes();
    try {
      return await runIn(this.dir, { ...this.env, ...extraEnv }, 'docker-compose', args, timeoutMs);
    } finally {
      await this.noteAnonymousVolumes();
    }
  }

  /** The anonymous volumes of the project's containers, before Compose re-creates or removes one. */
  private async noteAnonymousVolumes(): Promise<void> {
    const ids = (await this.docker(['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${this.env.COMPOSE_PROJECT_NAME}`])).split('\n').filter(Boolean);
    if (ids.length === 0) return;
    const names = await this.docker(['inspect', '--format', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', ...ids]);
    for (const name of names.split(/\s+/)) if (/^[0-9a-f]{64}$/.test(name)) this.anonymousVolumes.add(name);
  }

  /** The same, failing with its output when it exits non-zero; its output (stdout and stderr). */
  async mustCompose(args: string[], extraEnv: NodeJS.ProcessEnv = {}, timeoutMs = 300_000): Promise<string> {
    const r = await this.compose(args, extraEnv, timeoutMs);
    if (r.code !== 0) throw new Error(`docker-compose ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return r.stderr + r.stdout;
  }

  /** `docker <args>`, failing with its output when it exits non-zero; its stdout. */
  async docker(args: string[]): Promise<string> {
    const r = await runIn(this.dir, this.env, 'docker', args);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
    return r.stdout.trim();
  }

  /** The container ids of a service, stopped ones too, by the labels Compose gives them (faster than `docker-compose ps`). */
  async containers(service: string): Promise<string[]> {
    const project = `label=com.docker.compose.project=${this.env.COMPOSE_PROJECT_NAME}`;
    const ids = await this.docker(['ps', '-a', '-q', '--no-trunc', '--filter', project, '--filter', `label=com.docker.compose.service=${service}`]);
    return ids.split('\n').filter(Boolean);
  }

  async container(service: string): Promise<string> {
    const [id, ...more] = await this.containers(service);
    if (!id || more.length > 0) throw new Error(`expected one container of ${service}, found ${more.length + (id ? 1 : 0)}`);
    return id;
  }

  async inspect(service: string, format: string): Promise<string> {
    return this.docker(['inspect', '--format', format, await this.container(service)]);
  }

  /** The log of a service's container, stdout and stderr together. */
  async logs(service: string): Promise<string> {
    const r = await runIn(this.dir, this.env, 'docker', ['logs', await this.container(service)]);
    return r.stdout + r.stderr;
  }

  /** Waits until every long-running service is healthy and every one-shot exited 0. */
  async waitHealthy(services: string[], oneShots: string[], timeoutMs = 180_000): Promise<void> {
    for (const service of oneShots) {
      const state = await this.inspect(service, '{{.State.Status}} {{.State.ExitCode}}');
      if (state !== 'exited 0') throw new Error(`${service}: ${state}\n${await this.logs(service)}`);
    }
    for (const service of services) {
      await waitFor(
        `${service} healthy`,
        async () => {
          const state = await this.inspect(service, '{{.State.Status}} {{.State.Health.Status}}');
          if (!state.startsWith('running')) throw new Error(`${service} is ${state}:\n${await this.logs(service)}`);
          return state === 'running healthy';
        },
        timeoutMs,
        1_000,
      );
    }
  }

  /** The local MariaDB's `parc`, as root, on the container's address (Compose publishes no port of it). */
  async database(rootPassword: string, name = 'parc'): Promise<Pick<TestDatabase, 'query' | 'count'> & { end(): Promise<void> }> {
    const host = await this.inspect('mariadb', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}');
    const pool = mysql.createPool({ host, port: 3306, user: 'root', password: rootPassword, database: name, connectionLimit: 2, dateStrings: true });
    return {
      async query<T extends RowDataPacket[]>(sql: string, params: unknown[] = []) {
        const [rows] = await pool.query<T>(sql, params);
        return rows;
      },
      async count(table: string, where = '1', params: unknown[] = []) {
        const [rows] = await pool.query<RowDataPacket[]>(`SELECT count(*) AS n FROM \`${table}\` WHERE ${where}`, params);
        return Number(rows[0]?.n);
      },
      end: () => pool.end(),
    };
  }
}
