/**
 * A MariaDB server of the test's own, on its own port and data directory, that a test may
 * stop, kill and restart to play a database outage without touching the machine's server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { atExit } from './cleanup.js';
import type { DbServer } from './database.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

const running = new Set<ChildProcess>();
atExit(() => {
  for (const child of running) child.kill('SIGKILL');
});

export class PrivateMariadb {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly dir: string,
    readonly port: number,
    /** More mariadbd options (e.g. a binary log and a server id for replication). */
    private readonly args: string[],
  ) {}

  static async create(opts: { args?: string[] } = {}): Promise<PrivateMariadb> {
    const dir = mkdtempSync(join(tmpdir(), 'parc-mariadb-'));
    const install = spawnSync(
      'mariadb-install-db',
      ['--no-defaults', `--datadir=${join(dir, 'data')}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'],
      { encoding: 'utf8' },
    );
    if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr || install.stdout}`);
    const server = new PrivateMariadb(dir, await freePort(), opts.args ?? []);
    await server.start();
    return server;
  }

  get server(): DbServer {
    return { host: '127.0.0.1', port: this.port, user: 'root', password: '' };
  }

  log(): string {
    return this.output;
  }

  async start(): Promise<void> {
    const child = spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${join(this.dir, 'data')}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(this.dir, 'mysqld.sock')}`,
        `--pid-file=${join(this.dir, 'mysqld.pid')}`,
        '--user=root',
        ...(this.args.some((a) => a.startsWith('--log-bin')) ? [] : ['--skip-log-bin']),
        ...this.args,
        '--innodb-buffer-pool-size=64M',
        '--max-connections=200',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.on('exit', () => running.delete(child));
    running.add(child);
    this.child = child;
    await waitFor(
      `private mariadb on port ${this.port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`mariadbd exited: ${this.output.slice(-2000)}`);
        const conn = await mysql.createConnection({ ...this.server, connectTimeout: 1_000 });
        await conn.end();
        return true;
      },
      60_000,
      200,
    );
  }

  private async exit(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    // A shutdown that hangs must not hang the test run.
    const forced = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(forced);
    this.child = undefined;
  }

  /** A clean shutdown, as an operator would do. */
  stop(): Promise<void> {
    return this.exit('SIGTERM');
  }

  /** A crash: no shutdown at all. */
  kill(): Promise<void> {
    return this.exit('SIGKILL');
  }

  /** Frozen (SIGSTOP): connections stay open and nothing answers, as with a stopped VM. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    this.thaw();
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
