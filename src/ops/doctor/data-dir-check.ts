import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { errorText, fail, ok, type CheckResult } from './check.js';

/**
 * DATA_DIR holds the journal, the bridge's durable store. The check writes and removes a
 * temporary file; it never opens the journal, which a running bridge holds an exclusive lock on.
 */

export const DATA_DIR_LABEL = 'DATA_DIR';
const JOURNAL_FILES = ['journal.sqlite', 'journal.sqlite-wal'];
const FIX = "give the bridge's user write access to it (uid 1001 in the container), or set DATA_DIR to a writable folder";

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // ENOTDIR: a parent is a regular file; the walk up finds and reports it.
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** Bytes of the journal in `dir`, or undefined when there is none. */
async function journalBytes(dir: string): Promise<number | undefined> {
  let total: number | undefined;
  for (const name of JOURNAL_FILES) {
    const s = await statOrUndefined(join(dir, name));
    if (s) total = (total ?? 0) + s.size;
  }
  return total;
}

/** The journal of DATA_DIR, or those of its slot-N folders (MQTT_CLIENT_ID with `{slot}`). */
async function journalSize(dir: string): Promise<string> {
  const own = await journalBytes(dir);
  if (own !== undefined) return `journal.sqlite holds ${formatBytes(own)}`;
  const slots = (await readdir(dir).catch(() => [])).filter((name) => /^slot-\d+$/.test(name)).sort();
  let total = 0;
  const found: string[] = [];
  for (const slot of slots) {
    const bytes = await journalBytes(join(dir, slot));
    if (bytes === undefined) continue;
    found.push(slot);
    total += bytes;
  }
  return found.length > 0 ? `the journals of ${found.join(', ')} hold ${formatBytes(total)}` : 'no journal yet';
}

/** The nearest existing ancestor of a path that does not exist, or undefined at the root. */
async function nearestExisting(path: string): Promise<{ path: string; isDirectory: boolean } | undefined> {
  for (let current = dirname(path); ; current = dirname(current)) {
    const s = await statOrUndefined(current);
    if (s) return { path: current, isDirectory: s.isDirectory() };
    if (dirname(current) === current) return undefined;
  }
}

export async function checkDataDir(dataDir: string): Promise<CheckResult> {
  const dir = resolve(dataDir);
  try {
    const s = await statOrUndefined(dir);
    if (s && !s.isDirectory()) return fail(DATA_DIR_LABEL, `${dir} is not a directory`, 'set DATA_DIR to a folder');
    if (s) {
      const probe = join(dir, `.doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
      await writeFile(probe, 'parc-bridge doctor\n');
      await unlink(probe);
      return ok(DATA_DIR_LABEL, `${dir} is writable; ${await journalSize(dir)}`);
    }
    // The bridge creates DATA_DIR on start; the doctor only checks that it will be able to.
    const parent = await nearestExisting(dir);
    if (!parent) return fail(DATA_DIR_LABEL, `${dir} does not exist and no parent folder does`, 'create it, or set DATA_DIR to a writable folder');
    if (!parent.isDirectory) return fail(DATA_DIR_LABEL, `${dir} cannot be created: ${parent.path} is a file, not a folder`, 'set DATA_DIR to a writable folder');
    const probe = await mkdtemp(join(parent.path, '.doctor-'));
    await rmdir(probe);
    return ok(DATA_DIR_LABEL, `${dir} does not exist yet; the bridge will create it (${parent.path} is writable)`);
  } catch (err) {
    return fail(DATA_DIR_LABEL, `${dir} is not writable: ${errorText(err)}`, FIX);
  }
}
