/**
 * A school's backup and restore, with the real tools: `mariadb-dump --single-transaction` (the
 * rows and the bridge's position row from one instant) and `mariadb < dump` into the database
 * dropped and made again, as after the loss of the database's disk.
 */
import { spawn } from 'node:child_process';
import { finished } from 'node:stream/promises';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './cleanup.js';
import type { TestDatabase } from './database.js';

function serverArgs(db: TestDatabase): string[] {
  return [`--host=${db.server.host}`, `--port=${db.server.port}`, `--user=${db.server.user}`, `--password=${db.server.password}`, '--protocol=tcp'];
}

/** Runs `command` with stdin from a file and stdout to one; resolves once the output file is written. */
async function run(command: string, args: string[], stdin?: string, stdout?: string): Promise<void> {
  const child = spawn(command, args, { stdio: ['pipe', stdout ? 'pipe' : 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const written = stdout ? finished(child.stdout!.pipe(createWriteStream(stdout))) : Promise.resolve();
  if (stdin) createReadStream(stdin).pipe(child.stdin!);
  else child.stdin!.end();
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  await written;
  if (code !== 0) throw new Error(`${command} exited with ${code}: ${stderr}`);
}

/** `mariadb-dump --single-transaction` of the whole database; returns the dump's path. */
export async function dumpDatabase(db: TestDatabase): Promise<string> {
  const file = join(tempDir('parc-dump-'), `${db.name}.sql`);
  await run('mariadb-dump', [...serverArgs(db), '--single-transaction', '--routines', db.name], undefined, file);
  if (statSync(file).size === 0) throw new Error('mariadb-dump wrote nothing');
  return file;
}

/** The database dropped, made again, and filled from `dump` with `mariadb < dump`. */
export async function restoreDatabase(db: TestDatabase, dump: string): Promise<void> {
  await run('mariadb', [...serverArgs(db), '-e', `DROP DATABASE \`${db.name}\`; CREATE DATABASE \`${db.name}\` CHARACTER SET utf8mb4`]);
  await run('mariadb', [...serverArgs(db), db.name], dump);
}
