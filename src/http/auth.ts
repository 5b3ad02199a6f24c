/**
 * The optional token of the HTTP server (HTTP_TOKEN): accepted as `Authorization: Bearer <token>`
 * (scripts, Prometheus) and as the password of HTTP Basic with any user name (a browser asks for
 * it by itself after a 401). Both sides are hashed before the comparison, so that
 * timingSafeEqual compares equal lengths and the time taken says nothing about the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a browser shows in its login box; also the protection space it keeps the password for. */
const REALM = 'parc-bridge';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** The secret the request presents, or undefined without an Authorization header of either scheme. */
export function presentedSecret(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^(\S+)\s+(\S+)\s*$/.exec(header);
  if (!match) return undefined;
  const [, scheme = '', credentials = ''] = match;
  if (scheme.toLowerCase() === 'bearer') return credentials;
  if (scheme.toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  // RFC 7617: the user name cannot contain a colon, the password can.
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

export class TokenGuard {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = digest(token);
  }

  allows(req: IncomingMessage): boolean {
    const secret = presentedSecret(req.headers.authorization);
    // No credentials are compared as an empty secret, which never matches (HTTP_TOKEN has 16
    // characters at least): every refusal takes the same path.
    return timingSafeEqual(digest(secret ?? ''), this.expected);
  }
}

/** 401 with the Basic challenge, so that a browser asks the team for the token. */
export function refuse(res: ServerResponse): void {
  const body = JSON.stringify({ error: 'authentication required (HTTP_TOKEN)' });
  res.writeHead(401, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'www-authenticate': `Basic realm="${REALM}", charset="UTF-8"`,
  });
  res.end(body);
}
