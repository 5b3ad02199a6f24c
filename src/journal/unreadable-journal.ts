/**
 * What to do about a journal file that cannot be opened, for the bridge's log and `doctor`:
 * its entries were acknowledged to the broker and exist nowhere else, so it is never deleted.
 */

const ACCESS_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'SQLITE_CANTOPEN', 'SQLITE_PERM', 'SQLITE_AUTH']);

function code(err: unknown): string {
  const value = (err as { code?: unknown } | null)?.code;
  return typeof value === 'string' ? value : '';
}

/** True when the process lacks the rights to open the file, rather than the file being bad. */
export function isAccessProblem(err: unknown): boolean {
  const c = code(err);
  return ACCESS_CODES.has(c) || c.startsWith('SQLITE_READONLY');
}

export function unreadableJournalFix(err: unknown): string {
  const c = code(err);
  if (isAccessProblem(err)) {
    return "give the bridge's user (uid 1001 in the container) read and write access to the file and its folder, then restart the bridge: it writes that journal's entries first";
  }
  if (c === 'SQLITE_NOTADB' || c.startsWith('SQLITE_CORRUPT')) {
    return "the file is damaged: move it out of DATA_DIR and keep it, its entries exist nowhere else (sqlite3's .recover may save them into a new journal.sqlite, which the bridge then writes at its next start)";
  }
  return "move the file out of DATA_DIR and keep it, its entries exist nowhere else; put it back once it opens (e.g. with sqlite3) and restart the bridge";
}
