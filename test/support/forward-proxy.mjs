// A small forward proxy for the proxy tests, run as its own process: CONNECT tunnels and plain-HTTP forwarding
// (absolute-form request URIs), optional Basic authentication, optional TLS on its own port (an https:// proxy).
// It records what it saw; GET /__proxy/log (origin-form, to the proxy itself) returns the record as JSON.
// It forwards to 127.0.0.1 and ::1 only, and answers 403 for any other target.
//
// Environment: PROXY_AUTH=user:password (require it), PROXY_TLS_CERT / PROXY_TLS_KEY (PEM files: serve TLS).
// Prints its URL on the first line of stdout. Stops on SIGTERM.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

const auth = process.env.PROXY_AUTH;
const expected = auth === undefined ? undefined : `Basic ${Buffer.from(auth, 'utf8').toString('base64')}`;
const tls =
  process.env.PROXY_TLS_CERT === undefined
    ? undefined
    : { cert: readFileSync(process.env.PROXY_TLS_CERT), key: readFileSync(process.env.PROXY_TLS_KEY) };

const log = { connections: 0, connects: [], requests: [] };
const upstream = new http.Agent({ keepAlive: true });

function authorization(header) {
  if (expected === undefined) return 'not required';
  if (header === undefined) return 'missing';
  return header === expected ? 'ok' : 'wrong';
}

function loopback(host) {
  return host === '127.0.0.1' || host === '::1';
}

const handler = (request, response) => {
  if (request.url === '/__proxy/log') {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(log));
    return;
  }
  if (!/^http:\/\//i.test(request.url ?? '')) {
    response.writeHead(400).end('absolute-form request URI expected\n');
    return;
  }
  const target = new URL(request.url);
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const verdict = authorization(request.headers['proxy-authorization']);
  const record = { method: request.method, url: request.url, authorization: verdict, status: 0 };
  log.requests.push(record);
  if (verdict !== 'ok' && verdict !== 'not required') {
    record.status = 407;
    response.writeHead(407, { 'proxy-authenticate': 'Basic realm="test proxy"' }).end();
    return;
  }
  if (!loopback(host)) {
    record.status = 403;
    response.writeHead(403).end('only loopback targets\n');
    return;
  }
  const headers = { ...request.headers };
  delete headers['proxy-authorization'];
  delete headers['proxy-connection'];
  const forwarded = http.request(
    {
      host,
      port: target.port || 80,
      path: target.pathname + target.search,
      method: request.method,
      headers,
      agent: upstream,
    },
    (reply) => {
      record.status = reply.statusCode;
      response.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(response);
    },
  );
  forwarded.on('error', () => {
    record.status = 502;
    if (!response.headersSent) response.writeHead(502).end();
    else response.destroy();
  });
  request.pipe(forwarded);
};

const server = tls === undefined ? http.createServer(handler) : https.createServer(tls, handler);
server.keepAliveTimeout = 60_000;
server.on('connection', () => log.connections++);

server.on('connect', (request, socket, head) => {
  const verdict = authorization(request.headers['proxy-authorization']);
  const record = { target: request.url, authorization: verdict, status: 0 };
  log.connects.push(record);
  const refuse = (status, text, extra = '') => {
    record.status = status;
    socket.end(`HTTP/1.1 ${status} ${text}\r\n${extra}Content-Length: 0\r\n\r\n`);
  };
  if (verdict !== 'ok' && verdict !== 'not required') {
    refuse(407, 'Proxy Authentication Required', 'Proxy-Authenticate: Basic realm="test proxy"\r\n');
    return;
  }
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(request.url ?? '');
  if (match === null || !loopback(match[1])) {
    refuse(403, 'Forbidden');
    return;
  }
  const outbound = net.connect({ host: match[1], port: Number(match[2]) });
  outbound.once('connect', () => {
    record.status = 200;
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) outbound.write(head);
    outbound.pipe(socket);
    socket.pipe(outbound);
  });
  outbound.on('error', () => {
    if (record.status === 0) refuse(502, 'Bad Gateway');
    else socket.destroy();
  });
  socket.on('error', () => outbound.destroy());
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${tls === undefined ? 'http' : 'https'}://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections?.();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
