import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

/** A process the demo started, its output appended to a log file. */
export interface Child {
  readonly name: string;
  /** undefined while it runs. */
  exitCode(): number | undefined;
  /** Resolves with the exit code (128 + signal number when killed) once it has exited. */
  readonly exited: Promise<number>;
  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit code. */
  stop(graceMs?: number): Promise<number>;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Starts a process in its own process group (`detached`), so that a Ctrl-C in the terminal
 * reaches the demo alone, which then stops each process in order.
 */
export async function startChild(name: string, spawnIt: () => ChildProcess, logFile: string): Promise<Child> {
  const log = createWriteStream(logFile, { flags: 'a' });
  const proc = spawnIt();
  proc.stdout?.pipe(log, { end: false });
  proc.stderr?.pipe(log, { end: false });
  let code: number | undefined;
  const exited = new Promise<number>((resolve) => {
    proc.once('exit', (exitCode, signal) => {
      code = exitCode ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0);
      resolve(code);
    });
  });
  await new Promise<void>((resolve, reject) => {
    proc.once('spawn', resolve);
    proc.once('error', (err) => reject(new Error(`could not start ${name}: ${err.message}`)));
  });
  // The demo must not leave it running if the demo itself dies.
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => {
    process.off('exit', killOnExit);
    // Let the pipes drain into the log before it is closed.
    setImmediate(() => log.end());
  });
  return {
    name,
    exitCode: () => code,
    exited,
    async stop(graceMs = 10_000) {
      if (code !== undefined) return code;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}
