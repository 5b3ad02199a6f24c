import { createServer } from 'node:net';

/** Resolves with the port actually bound (port 0: any free one), or undefined if it is taken. */
function bind(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

/** `preferred` when it is free, else any free port. */
export async function freePortPreferring(preferred?: number): Promise<number> {
  const port = (preferred !== undefined ? await bind(preferred) : undefined) ?? (await bind(0));
  if (port === undefined) throw new Error('no free TCP port');
  return port;
}
