/**
 * The routes of the status page: `/` (the page) and `/api/status` (its data, also handy for
 * scripts). The page's only inline script and style are allowed by hash, so nothing else can
 * run even if a device managed to get markup into a value.
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendJson, type Route } from '../http/server.js';
import { PAGE_HTML, PAGE_STYLE } from './page-document.js';
import { PAGE_SCRIPT } from './page-script.js';
import type { StatusService } from './status-service.js';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${sha256(PAGE_SCRIPT)}`,
  `style-src ${sha256(PAGE_STYLE)}`,
  "connect-src 'self'",
  // data: only for the coloured dot used as favicon, drawn by the page itself.
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE_BODY = Buffer.from(PAGE_HTML, 'utf8');

function commonHeaders(res: ServerResponse): void {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cache-control', 'no-store');
}

export function statusRoutes(service: StatusService): Record<string, Route> {
  return {
    '/': (_req, res) => {
      commonHeaders(res);
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': PAGE_BODY.length,
        'content-security-policy': CONTENT_SECURITY_POLICY,
        'x-frame-options': 'DENY',
      });
      res.end(PAGE_BODY);
    },
    '/api/status': async (_req, res) => {
      const snapshot = await service.snapshot();
      commonHeaders(res);
      sendJson(res, 200, snapshot);
    },
  };
}
