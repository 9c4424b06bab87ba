// A TCP port free on 127.0.0.1 at the moment of asking, for servers this project starts itself
// (embedded PostgreSQL, Azurite, throwaway clusters, test servers).
import { createServer, type AddressInfo } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
