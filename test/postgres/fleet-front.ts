import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * The load balancer before a fleet of daemons, as PartPay and a wallet partner reach it: one
 * URL on loopback that forwards each request to the next daemon in turn and, when that daemon
 * refuses the connection (it is down), to the one after it. A daemon that dies while a request
 * is with it answers nothing: the caller gets a 502 and retries as it would through a real one.
 */
export interface FleetFront {
  url: string;
  /** Requests forwarded to each daemon (by index), and those no daemon took. */
  counts(): { forwarded: number[]; refused: number; cut: number };
  close(): Promise<void>;
}

/** A request's body, read whole (callbacks and scans are small). */
async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Starts the front on 127.0.0.1 at a free port; `ports()` is asked per request (the daemons keep their ports across restarts).
 * @example const front = await startFleetFront(() => daemons.map((d) => d.port)); … await front.close();
 */
export async function startFleetFront(ports: () => readonly number[]): Promise<FleetFront> {
  let turn = 0;
  const forwarded: number[] = [];
  let refused = 0;
  let cut = 0;

  /** Sends the request to the daemon at `port`; resolves false when it refused the connection (nothing reached it). */
  const forward = (port: number, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<boolean> =>
    new Promise((done) => {
      const out = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${port}`, connection: 'close' } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => done(true));
        answer.on('error', () => {
          res.destroy();
          done(true);
        });
      });
      out.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNREFUSED') return done(false);
        // The daemon died with the request: nobody knows whether it was taken.
        cut += 1;
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"the daemon went away"}');
        else res.destroy();
        done(true);
      });
      out.end(body);
    });

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await bodyOf(req);
      const all = ports();
      const first = turn++;
      for (let k = 0; k < all.length; k += 1) {
        const index = (first + k) % all.length;
        if (await forward(all[index] as number, req, body, res)) {
          forwarded[index] = (forwarded[index] ?? 0) + 1;
          return;
        }
      }
      refused += 1;
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"no daemon is up"}');
    })();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    counts: () => ({ forwarded: [...forwarded], refused, cut }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
