// A TCP proxy on 127.0.0.1 between the app and PostgreSQL, to drop real connections: `cut()` ends every
// connection it carries (as a failover or a network cut does), `refuse()` turns new ones away until
// `accept()`, and `hold()` stops passing on what the app sends over the connections open now (a query
// then waits in flight, to be cut under it).
import net from 'node:net';

export class TcpProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private readonly held = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private refusing = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = net.createServer((client) => this.carry(client));
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Connections carried now. */
  get open(): number {
    return this.pairs.size;
  }

  cut(): void {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
    this.held.clear();
  }

  refuse(): void {
    this.refusing = true;
  }

  accept(): void {
    this.refusing = false;
  }

  /** What the app sends over the connections open now stays in the proxy (new connections pass freely). */
  hold(): void {
    for (const pair of this.pairs) {
      pair.client.unpipe(pair.upstream);
      pair.client.pause();
      this.held.add(pair);
    }
  }

  /** Ends the connections hold() stopped; how many there were. */
  cutHeld(): number {
    const count = this.held.size;
    for (const pair of this.held) {
      pair.client.destroy();
      pair.upstream.destroy();
      this.pairs.delete(pair);
    }
    this.held.clear();
    return count;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private carry(client: net.Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const end = () => {
      this.pairs.delete(pair);
      this.held.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
