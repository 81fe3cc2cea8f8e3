// A TCP proxy in front of several `nixca serve` instances, as a load balancer would be: each new
// connection goes to the next backend in turn (TLS passes through untouched). Loopback only.
import { connect, createServer, type Server, type Socket } from 'node:net';

export class RoundRobinProxy {
  #next = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  constructor(readonly backends: readonly number[]) {
    this.#server = createServer((client) => {
      const upstream = connect(this.backends[this.#next++ % this.backends.length]!, '127.0.0.1');
      this.#sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.once('error', drop).once('close', drop);
      upstream.once('error', drop).once('close', drop);
    });
  }
  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve());
    });
  }
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
