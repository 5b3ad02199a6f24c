/**
 * What HTTP serves never names the database account: MySQL's messages quote it
 * ("INSERT command denied to user 'parc_bridge'@'10.0.0.4' for table 'mesure'", "Access denied
 * for user …"), and the page and /readyz may be open to the whole network. The logs keep the full
 * text: they are the operator's.
 */
import type { DbProblemView } from './server.js';

export const ACCOUNT_MASK = '[compte masqué]';
export const SECRET_MASK = '[masqué]';

// 'user'@'host' with any of MySQL's quotes; the host part may be cut off by a length limit.
const QUOTED_ACCOUNT = /(['"`])[^'"`\n]*\1@(?:(['"`])[^'"`\n]*(?:\2|$)|[^\s'"`,;)]*)/g;
// `IDENTIFIED BY 'secret'` (also `… WITH plugin AS 'hash'`), should a statement ever be quoted.
const IDENTIFIED = /\b(IDENTIFIED\s+(?:WITH\s+\S+\s+)?(?:BY|AS)(?:\s+PASSWORD)?)\s+(['"])(?:(?!\2).)*(?:\2|$)/gi;
// password=…, pwd: … (a connection string or a setting); MySQL's own "(using password: YES)" says nothing.
const PASSWORD_SETTING = /\b(password|passwd|pwd|mot de passe)(\s*[=:]\s*)(?!(?:YES|NO)\b)[^\s,;)]+/gi;
// The user:password@ of a URL (mysql://user:pass@host). Up to the last @ before a blank or a
// quote: a password with an unescaped @ or / is masked whole, at worst with part of the host.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s'"`<>]*@/gi;

export function redactSecrets(text: string): string {
  return text
    .replace(URL_CREDENTIALS, `$1${ACCOUNT_MASK}@`)
    .replace(QUOTED_ACCOUNT, ACCOUNT_MASK)
    .replace(IDENTIFIED, `$1 ${SECRET_MASK}`)
    .replace(PASSWORD_SETTING, `$1$2${SECRET_MASK}`);
}

export function redactNullable(text: string | null): string | null {
  return text === null ? null : redactSecrets(text);
}

/** The database problem of readiness (issue 15) as /readyz and /api/status serve it. */
export function publicDbProblem(problem: DbProblemView | undefined): DbProblemView | null {
  if (!problem) return null;
  return { cause: redactSecrets(problem.cause), fix: redactNullable(problem.fix), aFaire: redactNullable(problem.aFaire), since: problem.since };
}
