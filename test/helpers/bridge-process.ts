/**
 * The bridge as users run it: `node dist/cli.js start` in its own process, configured only by
 * the environment, stopped with real signals.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { atExit, tempDir } from './cleanup.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

/** The V8 settings the Docker image runs the bridge with: the tests run it the same way. */
export const IMAGE_NODE_OPTIONS = (() => {
  const dockerfile = readFileSync(resolve(import.meta.dirname, '../../Dockerfile'), 'utf8');
  const options = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(dockerfile)?.[1];
  if (options === undefined) throw new Error('the Dockerfile has no ENV NODE_OPTIONS="…" line');
  return options;
})();

const running = new Set<ChildProcess>();
atExit(() => {
  for (const child of running) child.kill('SIGKILL');
});

export interface BridgeProcess {
  readonly httpPort: number;
  readonly dataDir: string;
  readonly env: Record<string, string>;
  readonly child: ChildProcess;
  logs(): string;
  /** Parsed JSON log lines. */
  logLines(): Array<Record<string, unknown>>;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  waitReady(timeoutMs?: number): Promise<void>;
  get(path: string): Promise<{ status: number; body: string }>;
  /** Sends a signal and waits for the exit; resolves with the exit code (null when killed). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Exit code of `parc-bridge healthcheck` (the image's HEALTHCHECK) with this HTTP_PORT. */
export function healthcheck(httpPort: number): number | null {
  return spawnSync(process.execPath, [CLI, 'healthcheck'], { env: { PATH: process.env.PATH ?? '', HTTP_PORT: String(httpPort) }, timeout: 30_000 }).status;
}

export function newDataDir(): string {
  return tempDir('parc-bridge-data-');
}

/** Starts the bridge with `env` on top of a clean environment (PATH, TZ, the image's NODE_OPTIONS) and a fresh HTTP port. */
export async function startBridge(env: Record<string, string>, opts: { waitReady?: boolean } = {}): Promise<BridgeProcess> {
  const httpPort = env.HTTP_PORT ? Number(env.HTTP_PORT) : await freePort();
  const dataDir = env.DATA_DIR ?? newDataDir();
  const fullEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TZ: 'Europe/Paris',
    LOG_LEVEL: 'INFO',
    MQTT_RETRY_DELAY: '0.5',
    DB_RETRY_DELAY: '0.5',
    NODE_OPTIONS: IMAGE_NODE_OPTIONS,
    ...env,
    HTTP_PORT: String(httpPort),
    DATA_DIR: dataDir,
  };
  // BRIDGE_NODE_ARGS (e.g. "--cpu-prof") lets a benchmark profile the bridge process.
  const nodeArgs = process.env.BRIDGE_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'start'], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  child.on('exit', () => running.delete(child));
  // 'close', not 'exit': what the process wrote before it died is read to the end first.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));

  const bridge: BridgeProcess = {
    httpPort,
    dataDir,
    env: fullEnv,
    child,
    exited,
    logs: () => output,
    logLines: () =>
      output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    waitForLog: (pattern, timeoutMs = 30_000) => waitFor(`log ${pattern}`, () => pattern.test(output), timeoutMs).then(() => undefined),
    async waitReady(timeoutMs = 30_000) {
      await waitFor(
        'bridge /readyz',
        async () => {
          if (child.exitCode !== null) throw new Error(`bridge exited with ${child.exitCode}:\n${output}`);
          return (await bridge.get('/readyz')).status === 200;
        },
        timeoutMs,
      );
    },
    async get(path) {
      const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, { signal: AbortSignal.timeout(5_000) });
      return { status: res.status, body: await res.text() };
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  if (opts.waitReady ?? true) await bridge.waitReady();
  return bridge;
}
