/**
 * A small fake MISP on 127.0.0.1 for the export tests: it records each request and answers as told.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A recorded request. */
export interface MispRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** The running fake. */
export interface FakeMisp {
  readonly url: string;
  readonly requests: MispRequest[];
  /** What the next requests get. */
  reply: { status: number; body: string };
  close(): Promise<void>;
}

/** Starts a fake MISP on a free port of 127.0.0.1. */
export async function startFakeMisp(): Promise<FakeMisp> {
  const requests: MispRequest[] = [];
  let closed = false;
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      requests.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body });
      response.writeHead(fake.reply.status, { 'content-type': 'application/json' });
      response.end(fake.reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fake: FakeMisp = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    reply: { status: 200, body: '{"Event":{"id":"1","uuid":""}}' },
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}
