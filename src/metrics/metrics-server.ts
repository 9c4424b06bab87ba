// The Prometheus listener: GET /metrics on its own port (METRICS_PORT), apart from the public one.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger';
import { StartupError } from '../infra/startup-error';

export const METRICS_PATH = '/metrics';

export interface MetricsServer {
  address: AddressInfo;
  close(): Promise<void>;
}

function metricsServer(registry: Registry, log: Logger): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== METRICS_PATH) {
      res
        .writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end('Not found: try GET /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end();
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (error) => {
        log.error({ err: error }, 'metrics scrape failed');
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('scrape failed\n');
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return server;
}

/** Listens on host:port (0: any free port); a port that cannot be taken is an error naming METRICS_PORT. */
export function startMetricsServer(
  registry: Registry,
  port: number,
  host: string,
  log: Logger,
): Promise<MetricsServer> {
  const server = metricsServer(registry, log);
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      const code = (error as NodeJS.ErrnoException).code;
      reject(
        new StartupError(
          code === 'EADDRINUSE'
            ? `METRICS_PORT: ${host}:${port} is already in use by another program; set METRICS_PORT to a free port, or 0 to turn the metrics listener off`
            : `METRICS_PORT: cannot listen on ${host}:${port} (${error.message}); change METRICS_PORT or METRICS_HOST`,
        ),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve({
        address: server.address() as AddressInfo,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Prometheus keeps its connection open between scrapes.
            server.closeIdleConnections();
          }),
      });
    });
  });
}
