import net from 'node:net';

/** Ports this process has handed out: never twice. */
const given = new Set<number>();

/**
 * A port that was free a moment ago on loopback, and not one handed out before by this process:
 * the system may give the same free port to two binds in a row, and two servers told to listen
 * on it would collide (seen in the fault suite: both API processes got one port).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port: p } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(p));
      });
    });
    if (!given.has(port)) {
      given.add(port);
      return port;
    }
  }
}
