/**
 * Mosquitto's acl_file format and how Mosquitto 2 applies it, enough to answer "may this
 * username read this topic filter?" without a broker. Rules, as Mosquitto 2.0 has them:
 * - `user <name>` starts the entries of that username (the rest of the line, trimmed); `topic`
 *   lines before any `user` line belong to clients without a username;
 * - `topic [read|write|readwrite|deny] <filter>` (no access word = readwrite) for the current
 *   user; `pattern …` for every client, with %u = its username and %c = its client id;
 * - a line starting with `#` is a comment; trailing blanks are ignored;
 * - per message, the client's own entries are tried first, then the patterns; in each list the
 *   `deny` entries come first; the first entry whose filter matches the topic and that is `deny`
 *   or grants the access decides; nothing matching means denied;
 * - with any pattern present, a username or client id holding + or # skips the patterns (denied).
 */

export type AclAccess = 'read' | 'write' | 'readwrite' | 'deny';

export interface AclEntry {
  access: AclAccess;
  filter: string;
  /** 1-based line in the file, for the doctor's message. */
  line: number;
}

export interface AclFile {
  /** Entries by username; the key '' holds the entries before any `user` line (no username). */
  users: Map<string, AclEntry[]>;
  patterns: AclEntry[];
  /** Lines Mosquitto would refuse to start with. */
  problems: string[];
}

const ACCESS_WORDS = new Set<AclAccess>(['read', 'write', 'readwrite', 'deny']);

export function parseAclFile(text: string): AclFile {
  const users = new Map<string, AclEntry[]>();
  const patterns: AclEntry[] = [];
  const problems: string[] = [];
  let user = '';
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/\s+$/, '');
    if (content.startsWith('#')) return;
    const words = content.split(' ').filter((w) => w.length > 0);
    const keyword = words[0];
    if (keyword === undefined) return;
    if (keyword === 'user') {
      const name = content.slice(content.indexOf('user') + 4).trim();
      if (name.length === 0) problems.push(`line ${line}: user without a name`);
      else user = name;
      return;
    }
    if (keyword !== 'topic' && keyword !== 'pattern') {
      problems.push(`line ${line}: unknown line "${content.trim()}"`);
      return;
    }
    const entry = entryOf(words.slice(1), line);
    if (typeof entry === 'string') {
      problems.push(`line ${line}: ${entry}`);
      return;
    }
    if (keyword === 'pattern') patterns.push(entry);
    else users.set(user, [...(users.get(user) ?? []), entry]);
  });
  return { users, patterns, problems };
}

function entryOf(words: string[], line: number): AclEntry | string {
  const [first, ...rest] = words;
  if (first === undefined) return 'a topic line without a topic';
  // Mosquitto takes the first word as the access only when a topic follows it.
  const access: AclAccess = rest.length > 0 ? (first as AclAccess) : 'readwrite';
  if (rest.length > 0 && !ACCESS_WORDS.has(access)) return `unknown access "${first}" (read, write, readwrite or deny)`;
  const filter = rest.length > 0 ? rest.join(' ') : first;
  if (!isValidFilter(filter)) return `invalid topic filter "${filter}"`;
  return { access, filter, line };
}

function isValidFilter(filter: string): boolean {
  const levels = filter.split('/');
  return levels.every((level, i) => (level.includes('#') ? level === '#' && i === levels.length - 1 : !level.includes('+') || level === '+'));
}

/** Whether every topic that `filter` matches also matches `acl` (both MQTT topic filters). */
export function filterCovers(acl: string, filter: string): boolean {
  return compare(acl.split('/'), filter.split('/'), 'covers');
}

/** Whether at least one topic matches both filters. */
export function filtersOverlap(acl: string, filter: string): boolean {
  return compare(acl.split('/'), filter.split('/'), 'overlaps');
}

function compare(a: string[], f: string[], mode: 'covers' | 'overlaps'): boolean {
  for (let i = 0; ; i++) {
    const al = a[i];
    const fl = f[i];
    if (al === undefined && fl === undefined) return true;
    // "x/#" also matches "x" itself.
    if (al === undefined) return fl === '#' && i === f.length - 1 && mode === 'overlaps';
    if (fl === undefined) return al === '#';
    if (al === '#') return true;
    if (fl === '#') return mode === 'overlaps';
    if (al === '+') continue;
    if (fl === '+') {
      if (mode === 'covers') return false;
      continue;
    }
    if (al !== fl) return false;
  }
}

export interface ReadVerdict {
  verdict: 'allowed' | 'partly' | 'denied';
  /** The lines that decided (allowing, denying, or allowing only part of the filter). */
  lines: number[];
  /** Why, when the verdict is not 'allowed'. */
  reason?: string;
}

export interface AclClient {
  username: string;
  clientId: string;
}

function substitute(filter: string, client: AclClient): string {
  return filter.replace(/%([cu])/g, (_, which: string) => (which === 'c' ? client.clientId : client.username));
}

/** The entries Mosquitto tries for this client, in its order, patterns already substituted. */
function orderedEntries(acl: AclFile, client: AclClient): { entries: AclEntry[]; patternsSkipped: boolean } {
  const denyFirst = (list: AclEntry[]) => [...list.filter((e) => e.access === 'deny'), ...list.filter((e) => e.access !== 'deny')];
  const own = denyFirst(acl.users.get(client.username) ?? []);
  const patternsSkipped = acl.patterns.length > 0 && /[+#]/.test(client.username + client.clientId);
  const patterns = patternsSkipped ? [] : denyFirst(acl.patterns).map((e) => ({ ...e, filter: substitute(e.filter, client) }));
  return { entries: [...own, ...patterns], patternsSkipped };
}

/**
 * May `client` receive the messages of `filter`? 'allowed' when an entry grants read on every
 * topic of the filter before anything denies one; 'partly' when only some of its topics are.
 */
export function readVerdict(acl: AclFile, client: AclClient, filter: string): ReadVerdict {
  const { entries, patternsSkipped } = orderedEntries(acl, client);
  const partial: number[] = [];
  for (const entry of entries) {
    if (entry.access === 'write' || !filtersOverlap(entry.filter, filter)) continue;
    const covers = filterCovers(entry.filter, filter);
    if (entry.access === 'deny') {
      if (covers) return { verdict: 'denied', lines: [entry.line], reason: `denied by "deny ${entry.filter}"` };
      partial.push(entry.line);
      continue;
    }
    if (covers) {
      return partial.length === 0
        ? { verdict: 'allowed', lines: [entry.line] }
        : { verdict: 'partly', lines: [...partial, entry.line], reason: 'an earlier line denies or limits part of it' };
    }
    partial.push(entry.line);
  }
  if (partial.length > 0) return { verdict: 'partly', lines: partial, reason: 'only some of its topics are readable' };
  const reason = patternsSkipped ? 'no line allows it (patterns never apply to a name holding + or #)' : 'no line allows it';
  return { verdict: 'denied', lines: [], reason };
}
