/**
 * What a doctor check produces and how it is shown: one line per check, a symbol first so the
 * eye finds failures, then what was checked and, when something is wrong, what to do about it.
 */

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  status: CheckStatus;
  /** What was checked, e.g. "Database connection". */
  label: string;
  /** What was found: the evidence on success, the error on failure. */
  detail: string;
  /** What to do about a failure or warning. */
  fix?: string;
}

export const SYMBOLS: Record<CheckStatus, string> = { ok: '✔', warn: '⚠', fail: '✘', skip: '-' };

export const ok = (label: string, detail: string): CheckResult => ({ status: 'ok', label, detail });
export const warn = (label: string, detail: string, fix: string): CheckResult => ({ status: 'warn', label, detail, fix });
export const fail = (label: string, detail: string, fix: string): CheckResult => ({ status: 'fail', label, detail, fix });
export const skip = (label: string, why: string): CheckResult => ({ status: 'skip', label, detail: `skipped: ${why}` });

/** Line breaks inside a detail (driver errors often have them) would break "one line per check". */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

export function formatResult(result: CheckResult): string {
  const fix = result.fix && result.status !== 'ok' ? ` → ${result.fix}` : '';
  return oneLine(`${SYMBOLS[result.status]} ${result.label}: ${result.detail}${fix}`);
}

export function summarize(results: CheckResult[]): string {
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const failed = count('fail');
  const parts = [`${count('ok')} passed`, `${failed} failed`, `${count('warn')} warning(s)`];
  if (count('skip') > 0) parts.push(`${count('skip')} skipped`);
  return failed === 0 ? `All checks passed (${parts.join(', ')}).` : `Some checks failed (${parts.join(', ')}).`;
}

export function exitCode(results: CheckResult[]): number {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}

/**
 * Removes secret values from text that is about to be printed. The checks never put a secret in
 * a line on purpose; this guards against a driver echoing one back in an error message. Very
 * short values are left alone: masking every "a" in the output would hide more than it protects.
 */
export function redact(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}

export class CheckTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms / 1000} s`);
    this.name = 'CheckTimeout';
  }
}

/** Runs `work` with a deadline; `onTimeout` releases what it holds (sockets) when it is late. */
export async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new CheckTimeout(ms));
    }, ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * OpenSSL errors read "80DC...:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown
 * ca:../deps/openssl/...:1601:SSL alert number 48"; only the reason tells the user anything.
 */
export function tidyMessage(message: string): string {
  const reason = /^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):/.exec(message)?.[1];
  return reason ?? message;
}

export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const message = tidyMessage(err.message);
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
  }
  return String(err);
}
