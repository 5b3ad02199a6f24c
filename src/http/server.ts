/**
 * Health and metrics over HTTP: `/healthz` (the process answers), `/readyz` (503 unless the
 * broker and the database are connected and the journal is under its budget), `/metrics`.
 * Extra routes (the status page) plug in through `routes`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { errorMessage } from '../error-message.js';

export interface Readiness {
  mqtt: boolean;
  db: boolean;
  journalUnderBudget: boolean;
}

export type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

export class HttpServer {
  private server: Server | undefined;

  constructor(
    private readonly port: number,
    private readonly readiness: () => Readiness,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly routes: Record<string, Route> = {},
  ) {}

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
      server.listen(this.port, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    this.log.info({ port }, 'http server listening (/healthz, /readyz, /metrics, /)');
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
      const r = this.readiness();
      const ready = r.mqtt && r.db && r.journalUnderBudget;
      sendJson(res, ready ? 200 : 503, { ready, ...r });
      return;
    }
    if (path === '/metrics') {
      const body = await this.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
      res.end(body);
      return;
    }
    const route = this.routes[path];
    if (route) {
      await route(req, res);
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  }
}
