/**
 * The Docker engine for the image test: found running or started (scripts/start-dockerd.sh),
 * the project's image built on a local stand-in for node:20-bookworm-slim
 * (scripts/node-base-image.sh), and containers removed when the test process ends.
 */
import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { atExit } from './cleanup.js';
import { REPO_ROOT } from './pki.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

const BUILD_TIMEOUT_MS = 15 * 60_000;

/** Runs a command; resolves with its exit code and output (never rejects on exit != 0). */
export function run(file: string, args: string[], timeoutMs = 120_000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr}`));
        return;
      }
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

/** `docker ...`; throws with the output when it exits non-zero. */
export async function docker(args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await run('docker', args, timeoutMs);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}

/** undefined when an engine answers (started if need be), else why there is none. */
export async function dockerEngineProblem(): Promise<string | undefined> {
  const started = await run(path.join(REPO_ROOT, 'scripts', 'start-dockerd.sh'), [], 60_000).catch((err: Error) => ({
    code: 1,
    stdout: '',
    stderr: err.message,
  }));
  if (started.code === 0) return undefined;
  const why = started.stderr.trim().split('\n').at(-1) || `exit ${started.code}`;
  return `no Docker engine could start here (${why}); scripts/start-dockerd.sh starts one as root`;
}

/** Builds the project's Dockerfile on the local base image; returns the image tag. */
export async function buildProjectImage(tag: string): Promise<string> {
  const base = await run(path.join(REPO_ROOT, 'scripts', 'node-base-image.sh'), [], BUILD_TIMEOUT_MS);
  if (base.code !== 0) throw new Error(`scripts/node-base-image.sh exited ${base.code}:\n${base.stderr}`);
  const baseTag = base.stdout.trim().split('\n').at(-1) ?? '';
  await docker(['build', '--quiet', '--build-arg', `NODE_IMAGE=${baseTag}`, '--tag', tag, REPO_ROOT], BUILD_TIMEOUT_MS);
  return tag;
}

/** Removes the container (or volume) when the test process ends, however it ends. */
export function removeAtExit(kind: 'container' | 'volume', name: string): void {
  atExit(() => {
    try {
      execFileSync('docker', kind === 'container' ? ['rm', '-f', '-v', name] : ['volume', 'rm', '-f', name], { stdio: 'ignore', timeout: 30_000 });
    } catch {
      // best effort: the engine may be gone
    }
  });
}

/** `docker inspect --format` of one container or image. */
export function inspect(name: string, format: string): Promise<string> {
  return docker(['inspect', '--format', format, name]);
}
