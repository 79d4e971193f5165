// A round-robin HTTP load balancer in front of several service processes, as in production (N processes behind one
// public address): each request goes to the next process; one that does not accept the connection (it died) is
// skipped. Counts what each process was given. Listens on 127.0.0.1.
import { createServer, request, type Server } from 'node:http';

export interface Balancer {
  url: string;
  /** Where requests go: base URLs such as http://127.0.0.1:PORT (set once the processes listen). */
  targets: string[];
  /** Requests answered by each target, by its URL. */
  served: Map<string, number>;
  close(): Promise<void>;
}

export async function startBalancer(): Promise<Balancer> {
  const targets: string[] = [];
  const served = new Map<string, number>();
  let next = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const attempt = (tries: number) => {
        if (tries >= targets.length) {
          res.writeHead(502).end('no service process answered');
          return;
        }
        const target = targets[next++ % targets.length];
        const forward = request(`${target}${req.url ?? '/'}`, { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (answer) => {
          served.set(target, (served.get(target) ?? 0) + 1);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        // Refused or cut: the process is gone; the next one gets the request (an event delivered twice is one job).
        forward.on('error', () => (res.headersSent ? res.destroy() : attempt(tries + 1)));
        forward.end(body);
      };
      attempt(0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    targets,
    served,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
