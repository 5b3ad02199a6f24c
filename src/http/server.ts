/**
 * Health and metrics over HTTP: `/healthz` (the process answers), `/readyz` (503 unless the
 * broker and the database are connected and the journal is under its budget; serving several
 * schools, one school's database down does not count, all of them do), `/metrics`.
 * Extra routes (the status page) plug in through `routes`; with a token they are closed to
 * requests without it, as is `/metrics` unless `metricsAuth` is off. `/healthz` and `/readyz`
 * stay open for the container's healthcheck and orchestrators: they show states and a redacted
 * cause only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { errorMessage } from '../error-message.js';
import { refuse, TokenGuard } from './auth.js';
import { publicDbProblem } from './redact.js';

/** Why the database takes no writes and what the operator must do (issue 15), as served. */
export interface DbProblemView {
  cause: string;
  fix: string | null;
  /** The same in French, for the status page. */
  aFaire: string | null;
  since: string;
}

export interface Readiness {
  mqtt: boolean;
  /** Serving several schools: at least one school's database takes writes (see `schools`). */
  db: boolean;
  journalUnderBudget: boolean;
  dbProblem?: DbProblemView;
  /** School mode (docs/schools.md): the schools served, and those whose database takes no writes. */
  schools?: { total: number; dbDown: string[] };
}

export interface HttpOptions {
  /** Address to bind: 127.0.0.1 (this machine only), 0.0.0.0 (every interface), … */
  host: string;
  /** 0 = any free port (tests). */
  port: number;
  /** HTTP_TOKEN; undefined leaves every route open. */
  token: string | undefined;
  /** Whether /metrics asks for the token too (when there is one). */
  metricsAuth: boolean;
}

export type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

export class HttpServer {
  private server: Server | undefined;
  private readonly guard: TokenGuard | undefined;

  constructor(
    private readonly options: HttpOptions,
    private readonly readiness: () => Readiness,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly routes: Record<string, Route> = {},
  ) {
    this.guard = options.token === undefined ? undefined : new TokenGuard(options.token);
  }

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log.error({ err: errorMessage(err), url: req.url }, 'http handler failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const { host, metricsAuth } = this.options;
    // Says whether a token is set, never the token.
    const auth = this.guard ? (metricsAuth ? 'token for /, /api/status, /metrics' : 'token for /, /api/status') : 'none';
    this.log.info({ host, port, auth }, 'http server listening (/healthz, /readyz, /metrics, /)');
    return port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method not allowed' });
      return;
    }
    if (path === '/healthz') {
      sendJson(res, 200, { status: 'alive' });
      return;
    }
    if (path === '/readyz') {
      const { dbProblem, ...r } = this.readiness();
      const ready = r.mqtt && r.db && r.journalUnderBudget;
      const problem = publicDbProblem(dbProblem);
      sendJson(res, ready ? 200 : 503, { ready, ...r, ...(problem && { dbProblem: problem }) });
      return;
    }
    const route = this.routes[path];
    const isMetrics = path === '/metrics';
    if ((route || (isMetrics && this.options.metricsAuth)) && this.guard && !this.guard.allows(req)) {
      refuse(res);
      return;
    }
    if (isMetrics) {
      const body = await this.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
      res.end(body);
      return;
    }
    if (route) {
      await route(req, res);
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  }
}
