/**
 * Synchronous clean-up run when the test process ends, however it ends: a normal exit, or the
 * SIGTERM with which Vitest stops its worker processes (that one skips 'exit' handlers, which
 * would leave brokers running and temporary directories behind).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tasks: Array<() => void> = [];
let installed = false;

function runAll(): void {
  for (const task of tasks.splice(0).reverse()) {
    try {
      task();
    } catch {
      // best effort: the process is going away
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', runAll);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      runAll();
      // Nobody else handles it: end the way the signal would have ended us.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/** Registers a synchronous task to run at process end (last registered, first run). */
export function atExit(task: () => void): void {
  install();
  tasks.push(task);
}

/** A new temporary directory, removed when the test process ends (unless KEEP_TEST_FILES is set). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (!process.env.KEEP_TEST_FILES) atExit(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
