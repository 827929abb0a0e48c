/**
 * Reaching VirusTotal through a corporate HTTP(S) proxy, and trusting a corporate CA: the proxy URL, `NO_PROXY`
 * matching, and the agents the HTTP client pools its connections in.
 *
 * Design decisions:
 * - Our own CONNECT agent rather than `https-proxy-agent`/`http-proxy-agent`. Once a connection is pooled both
 *   cost the same per request (a plain keep-alive `http.Agent` does the work), but those packages replay a
 *   proxy's refusal of the CONNECT (407, 403, 502) as if it were the server's reply, and a 403 from a proxy's
 *   policy is then indistinguishable from VirusTotal's 403 ForbiddenError; they also leave NO_PROXY to a third
 *   package. Here every failure of the proxy is a {@link ProxyError} that names the proxy (`host:port`, never its
 *   credentials) and says what happened, so a run reports `proxy 10.0.0.1:3128 refused the connection`.
 * - HTTPS goes through a CONNECT tunnel; plain HTTP (the emulator, a test server) is sent to the proxy with
 *   absolute-form request URIs (`GET http://host:port/path`), as every forward proxy expects.
 * - A tunnel is opened per pooled connection and kept alive with it: `concurrency` lookups use at most
 *   `concurrency` (+1 for the quota query) CONNECTs for the whole run.
 * - `NO_PROXY` as curl reads it (see {@link noProxyMatches}), plus two forms curl lacks that other clients
 *   accept and that corporate environments use: `*.example.com` (as `.example.com`) and `host:port` entries.
 * - A proxy URL without a port uses 1080 for http:// and 443 for https://, as curl does.
 * - The credentials live in one private field, sent only in `Proxy-Authorization`: the object prints, logs and
 *   serialises as `host:port`.
 */
import http from 'node:http';
import https from 'node:https';
import net, { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { inspect } from 'node:util';
import { ipaddr, type IPv6 } from '../ipaddr.js';
import { OptionError } from '../errors.js';

/** NetworkFailure code of a transient proxy failure (refused, reset, timed out, CONNECT 5xx): retried. */
export const PROXY_FAILURE = 'EPROXY';
/** NetworkFailure code of a CONNECT the proxy refuses for good (403 by policy, 400, ...): not retried. */
export const PROXY_DENIED = 'EPROXYDENIED';
/** NetworkFailure code of a 407: no request can pass without (other) credentials, so the run stops. */
export const PROXY_AUTHENTICATION = 'EPROXYAUTH';

/** A failure of the proxy, never of the server behind it. The message names the proxy, never its credentials. */
export class ProxyError extends Error {
  readonly code: typeof PROXY_FAILURE | typeof PROXY_DENIED | typeof PROXY_AUTHENTICATION;

  constructor(code: ProxyError['code'], message: string) {
    super(message);
    this.name = 'ProxyError';
    this.code = code;
  }
}

// OpenSSL's verdicts on a certificate chain: asking again gets the same answer, and no request can succeed.
export const UNTRUSTED_CERTIFICATE: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

// How long a proxy's reply to CONNECT may be before it is taken for garbage.
const MAX_CONNECT_REPLY = 16 * 1024;

/**
 * Cuts the `user:password@` part out of a URL-like text, for messages about a proxy URL that did not parse: all
 * up to the last `@`, since an unencoded `/`, `?` or `#` in a password is what makes such a URL unreadable.
 */
export function redactProxyCredentials(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^]*@/i, '$1[redacted]@');
}

function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** A parsed proxy URL. Prints, logs and serialises as its `host:port`: the credentials never leave it. */
export class ProxyEndpoint {
  readonly secure: boolean;
  /** Host name or IP literal, IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
  /** `host:port` (IPv6 bracketed): how every message names the proxy. */
  readonly display: string;
  readonly #authorization: string | undefined;
  readonly #secrets: readonly string[];

  constructor(secure: boolean, host: string, port: number, credentials: string | undefined) {
    this.secure = secure;
    this.host = host;
    this.port = port;
    this.display = `${bracketed(host)}:${port}`;
    const encoded = credentials === undefined ? undefined : Buffer.from(credentials, 'utf8').toString('base64');
    this.#authorization = encoded === undefined ? undefined : `Basic ${encoded}`;
    const password = credentials?.slice(credentials.indexOf(':') + 1) ?? '';
    this.#secrets = [password, encoded ?? ''].filter((secret) => secret.length >= 3);
  }

  /** `text` (from the network: a proxy's reason phrase) with the password and the encoded credentials cut out. */
  scrub(text: string): string {
    return this.#secrets.reduce((result, secret) => result.split(secret).join('[redacted]'), text);
  }

  /** Whether the URL carried credentials. */
  get hasCredentials(): boolean {
    return this.#authorization !== undefined;
  }

  /** The `Proxy-Authorization` header value, for the proxy alone. */
  authorization(): string | undefined {
    return this.#authorization;
  }

  toString(): string {
    return this.display;
  }

  toJSON(): string {
    return this.display;
  }

  [inspect.custom](): string {
    return `ProxyEndpoint(${this.display})`;
  }
}

/**
 * Parses a proxy URL: `http://[user:password@]host[:port]`, `https://...`, or `host:port` (http). Throws
 * {@link OptionError} naming the URL with its credentials cut out.
 */
export function parseProxyUrl(text: string, option = 'proxy'): ProxyEndpoint {
  const trimmed = text.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  const bad = (expected: string): OptionError => new OptionError(option, redactProxyCredentials(trimmed), expected);
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw bad('a proxy URL such as http://proxy.example.com:3128 or http://user:password@10.0.0.1:8080');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw bad('an http:// or https:// proxy URL (SOCKS proxies are not supported)');
  }
  if (url.hostname === '') throw bad('a proxy URL with a host');
  let credentials: string | undefined;
  if (url.username !== '' || url.password !== '') {
    try {
      credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    } catch {
      throw bad('a proxy URL whose user and password are validly %-encoded');
    }
  }
  const secure = url.protocol === 'https:';
  const port = url.port === '' ? (secure ? 443 : 1080) : Number(url.port);
  return new ProxyEndpoint(secure, url.hostname.replace(/^\[(.*)\]$/, '$1'), port, credentials);
}

interface NoProxyEntry {
  /** Lower-case host name without leading/trailing dots, or an IP literal. */
  readonly host: string;
  readonly port: number | undefined;
  /** CIDR prefix length for an IP entry (`10.0.0.0/8`); undefined for an exact address. */
  readonly bits: number | undefined;
}

function parseNoProxyEntry(token: string): NoProxyEntry | undefined {
  let host = token;
  let port: number | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?(\/\d+)?$/.exec(host);
  if (bracket !== null) {
    host = (bracket[1] as string) + (bracket[3] ?? '');
    port = bracket[2] === undefined ? undefined : Number(bracket[2]);
  } else if ((host.match(/:/g) ?? []).length === 1) {
    const colon = host.lastIndexOf(':');
    const digits = host.slice(colon + 1);
    if (!/^\d+$/.test(digits)) return undefined;
    port = Number(digits);
    host = host.slice(0, colon);
  }
  let bits: number | undefined;
  const slash = host.indexOf('/');
  if (slash !== -1) {
    bits = Number(host.slice(slash + 1));
    host = host.slice(0, slash);
    if (!Number.isInteger(bits) || !ipaddr().isValid(host)) return undefined;
  }
  // `*.example.com` is read as `.example.com`; leading and trailing dots are ignored, as curl does.
  host = host
    .replace(/^\*\./, '.')
    .replace(/^\.+|\.+$/g, '')
    .toLowerCase();
  if (host === '') return undefined;
  return { host, port, bits };
}

function ipMatches(address: string, entry: NoProxyEntry): boolean {
  if (!ipaddr().isValid(entry.host)) return false;
  let target = ipaddr().parse(address);
  let range = ipaddr().parse(entry.host);
  // An IPv4-mapped IPv6 address is its IPv4 address.
  if (target.kind() === 'ipv6' && (target as IPv6).isIPv4MappedAddress()) target = (target as IPv6).toIPv4Address();
  if (range.kind() === 'ipv6' && (range as IPv6).isIPv4MappedAddress()) range = (range as IPv6).toIPv4Address();
  if (target.kind() !== range.kind()) return false;
  const width = target.kind() === 'ipv4' ? 32 : 128;
  const bits = entry.bits === undefined ? width : entry.bits;
  // curl: a prefix longer than the address, or 0, means the whole address must match.
  return target.match(range, bits <= 0 || bits > width ? width : bits);
}

/**
 * Whether `NO_PROXY` (`list`) exempts `host:port` from the proxy. curl's rules: entries separated by commas
 * (and blanks); `*` alone exempts everything; a host name matches itself and its subdomains (`example.com` and
 * `.example.com` both match `www.example.com`, never `notexample.com`), case-insensitively, trailing dots
 * ignored; an IP target matches IP entries only, exactly or by CIDR (`10.0.0.0/8`, `fd00::/8`), and IPv6 may be
 * bracketed. Beyond curl: `*.example.com` and `host:port` (the entry then applies to that port only).
 */
export function noProxyMatches(host: string, port: number, list: string): boolean {
  const trimmed = list.trim();
  if (trimmed === '') return false;
  if (trimmed === '*') return true;
  const target = host
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.+$/, '')
    .toLowerCase();
  const targetIsIp = isIP(target) !== 0;
  for (const token of trimmed.split(/[,\s]+/)) {
    if (token === '') continue;
    if (token === '*') return true;
    const entry = parseNoProxyEntry(token);
    if (entry === undefined || (entry.port !== undefined && entry.port !== port)) continue;
    if (targetIsIp) {
      if (ipMatches(target, entry)) return true;
    } else if (entry.bits === undefined && (target === entry.host || target.endsWith(`.${entry.host}`))) {
      return true;
    }
  }
  return false;
}

/** The port a URL talks to, default ports included. */
export function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/**
 * The proxy to reach `baseUrl` through: `proxy` parsed, unless it is empty or `noProxy` exempts the server.
 * Throws {@link OptionError} for a bad proxy URL (checked even when exempted, so a typo never hides).
 */
export function resolveProxy(
  baseUrl: string,
  proxy: string | undefined,
  noProxy: string | undefined,
): ProxyEndpoint | undefined {
  if (proxy === undefined || proxy.trim() === '') return undefined;
  const endpoint = parseProxyUrl(proxy);
  const url = new URL(baseUrl);
  if (noProxy !== undefined && noProxyMatches(url.hostname, portOf(url), noProxy)) return undefined;
  return endpoint;
}

// ---- connections -------------------------------------------------------------------------------------------

function describeSocketError(proxy: ProxyEndpoint, error: NodeJS.ErrnoException): ProxyError {
  const code = error.code ?? 'error';
  switch (code) {
    case 'ECONNREFUSED':
      return new ProxyError(PROXY_FAILURE, `proxy ${proxy.display} refused the connection`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ProxyError(PROXY_FAILURE, `proxy ${proxy.display}: its host name does not resolve (${code})`);
    case 'ETIMEDOUT':
      return new ProxyError(PROXY_FAILURE, `proxy ${proxy.display} did not answer (ETIMEDOUT)`);
    case 'ECONNRESET':
    case 'EPIPE':
      return new ProxyError(PROXY_FAILURE, `proxy ${proxy.display} closed the connection (${code})`);
    default:
      // An https:// proxy's certificate not trusted: asking again cannot help.
      if (UNTRUSTED_CERTIFICATE.has(code)) {
        return new ProxyError(PROXY_DENIED, `proxy ${proxy.display}: its TLS certificate is not trusted (${code})`);
      }
      // A host unreachable and the like: the code says which.
      return new ProxyError(PROXY_FAILURE, `proxy ${proxy.display}: connection failed (${code})`);
  }
}

function connectToProxy(proxy: ProxyEndpoint, ca: readonly string[] | undefined): net.Socket {
  if (!proxy.secure) return net.connect({ host: proxy.host, port: proxy.port });
  return tls.connect({
    host: proxy.host,
    port: proxy.port,
    ...(isIP(proxy.host) === 0 ? { servername: proxy.host } : {}),
    ...(ca === undefined ? {} : { ca: ca as string[] }),
  });
}

/** What happens on a proxy connection once it is open: `done()` when it is ready for requests. */
type Handshake = (socket: net.Socket, fail: (error: ProxyError) => void, done: () => void) => void;

/**
 * Connects to the proxy, runs `handshake` on it (the CONNECT, or nothing), and calls back with the socket once it
 * is ready, or with a {@link ProxyError}. `timeoutMs` bounds the whole set-up.
 */
function openProxySocket(
  proxy: ProxyEndpoint,
  ca: readonly string[] | undefined,
  timeoutMs: number,
  handshake: Handshake,
  callback: (result: ProxyError | net.Socket) => void,
): void {
  const socket = connectToProxy(proxy, ca);
  let settled = false;
  const finish = (error: ProxyError | undefined): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.off('error', onError);
    socket.off('close', onClose);
    if (error !== undefined) socket.destroy();
    callback(error ?? socket);
  };
  const onError = (error: NodeJS.ErrnoException): void => finish(describeSocketError(proxy, error));
  const onClose = (): void =>
    finish(new ProxyError(PROXY_FAILURE, `proxy ${proxy.display} closed the connection before it was ready`));
  const timer = setTimeout(
    () => finish(new ProxyError(PROXY_FAILURE, `proxy ${proxy.display} did not answer within ${timeoutMs} ms`)),
    timeoutMs,
  );
  socket.on('error', onError);
  socket.on('close', onClose);
  socket.once(proxy.secure ? 'secureConnect' : 'connect', () => handshake(socket, finish, () => finish(undefined)));
}

/** `400 Bad Request` from a status line, printable ASCII only and short: it comes from the network. */
function statusText(line: string): string {
  return line
    .replace(/^HTTP\/\d(?:\.\d)?\s+/i, '')
    .replace(/[^\x20-\x7e]/g, '')
    .slice(0, 80);
}

/** Why a 407 ends the run; `proxy` undefined when a 407 came with no proxy configured. */
export function proxyAuthenticationMessage(proxy: ProxyEndpoint | undefined): string {
  if (proxy === undefined) return 'a proxy on the way requires authentication (407), and none is configured';
  return proxy.hasCredentials
    ? `proxy ${proxy.display} refused the credentials of the proxy URL (407)`
    : `proxy ${proxy.display} requires authentication (407): give user:password@ in the proxy URL`;
}

function authenticationRequired(proxy: ProxyEndpoint): ProxyError {
  return new ProxyError(PROXY_AUTHENTICATION, proxyAuthenticationMessage(proxy));
}

function connectRefusal(proxy: ProxyEndpoint, authority: string, status: number, line: string): ProxyError {
  if (status === 407) return authenticationRequired(proxy);
  const message = `proxy ${proxy.display} refused to CONNECT to ${authority} (${proxy.scrub(statusText(line))})`;
  // A gateway error or a busy proxy may pass; a refusal by policy or a bad request will not.
  const transient = status >= 500 || status === 408 || status === 429;
  return new ProxyError(transient ? PROXY_FAILURE : PROXY_DENIED, message);
}

/** Writes the CONNECT and reads the proxy's reply head; `done()` once the tunnel stands. */
function tunnel(proxy: ProxyEndpoint, authority: string): Handshake {
  return (socket, fail, done) => {
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > MAX_CONNECT_REPLY)
          fail(new ProxyError(PROXY_FAILURE, `proxy ${proxy.display} sent an unreadable reply to CONNECT`));
        return;
      }
      socket.off('data', onData);
      socket.pause();
      const line = head.slice(0, head.indexOf('\r\n'));
      const match = /^HTTP\/\d(?:\.\d)?\s+(\d{3})\b/i.exec(line);
      if (match === null) {
        fail(new ProxyError(PROXY_FAILURE, `proxy ${proxy.display} sent an unreadable reply to CONNECT`));
        return;
      }
      const status = Number(match[1]);
      if (status < 200 || status > 299) {
        fail(connectRefusal(proxy, authority, status, line));
        return;
      }
      // Nothing may follow the reply head before our TLS ClientHello; should anything, it belongs to the tunnel.
      const rest = head.slice(end + 4);
      if (rest !== '') socket.unshift(Buffer.from(rest, 'latin1'));
      done();
    };
    socket.on('data', onData);
    const authorization = proxy.authorization();
    socket.write(
      `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n` +
        (authorization === undefined ? '' : `Proxy-Authorization: ${authorization}\r\n`) +
        '\r\n',
    );
  };
}

/** Options of {@link createAgent}. */
export interface AgentSettings {
  readonly maxSockets: number;
  /** Bounds the connection set-up through the proxy (the request has its own deadline too). */
  readonly timeoutMs: number;
  readonly proxy: ProxyEndpoint | undefined;
  /** PEM certificates trusted beside Node's bundled roots; undefined: Node's default trust (with NODE_EXTRA_CA_CERTS). */
  readonly ca: readonly string[] | undefined;
}

/** HTTPS through a CONNECT tunnel per pooled connection. */
class TunnelAgent extends https.Agent {
  constructor(
    options: https.AgentOptions,
    private readonly proxy: ProxyEndpoint,
    private readonly proxyCa: readonly string[] | undefined,
    private readonly setupMs: number,
  ) {
    super(options);
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (error: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const host = options.host ?? options.hostname ?? 'localhost';
    const authority = `${bracketed(host)}:${options.port ?? 443}`;
    openProxySocket(this.proxy, this.proxyCa, this.setupMs, tunnel(this.proxy, authority), (result) => {
      if (result instanceof ProxyError) {
        callback?.(result, undefined as unknown as Duplex);
        return;
      }
      // The agent's options (servername, ca, the host the certificate must name) over the tunnel.
      const secure = tls.connect({ ...(options as tls.ConnectionOptions), socket: result });
      result.on('error', (error) => secure.destroy(error));
      callback?.(null, secure);
    });
    return undefined;
  }
}

/** Plain HTTP through a forward proxy: absolute-form request URIs on connections to the proxy. */
class ForwardAgent extends http.Agent {
  constructor(
    options: http.AgentOptions,
    private readonly proxy: ProxyEndpoint,
    private readonly proxyCa: readonly string[] | undefined,
    private readonly setupMs: number,
  ) {
    super(options);
  }

  /**
   * Node's Agent receives each request here (undeclared in its types) before the request's head is written, so
   * its path and headers can still change.
   */
  addRequest(request: http.ClientRequest, options: http.RequestOptions): void {
    const host = options.host ?? options.hostname ?? 'localhost';
    request.path = `http://${bracketed(host)}:${options.port ?? 80}${request.path}`;
    const authorization = this.proxy.authorization();
    if (authorization !== undefined) request.setHeader('proxy-authorization', authorization);
    // A 407 comes back as this request's reply: the client's classification knows it (only proxies send it).
    (http.Agent.prototype as unknown as { addRequest: ForwardAgent['addRequest'] }).addRequest.call(
      this,
      request,
      options,
    );
  }

  override createConnection(
    _options: http.ClientRequestArgs,
    callback?: (error: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    openProxySocket(
      this.proxy,
      this.proxyCa,
      this.setupMs,
      (_socket, _fail, done) => done(),
      (result) =>
        result instanceof ProxyError ? callback?.(result, undefined as unknown as Duplex) : callback?.(null, result),
    );
    return undefined;
  }
}

/**
 * The keep-alive agent for `target`'s origin: direct, or through `settings.proxy` (CONNECT for https://,
 * absolute-form for http://); `settings.ca` is trusted beside Node's roots, for the server and an https proxy.
 */
export function createAgent(target: URL, settings: AgentSettings): http.Agent {
  const secure = target.protocol === 'https:';
  const ca = settings.ca === undefined ? undefined : [...tls.rootCertificates, ...settings.ca];
  const options: https.AgentOptions = {
    keepAlive: true,
    maxSockets: settings.maxSockets,
    maxFreeSockets: settings.maxSockets,
    scheduling: 'lifo',
    ...(ca === undefined ? {} : { ca }),
  };
  const { proxy } = settings;
  if (proxy === undefined) return secure ? new https.Agent(options) : new http.Agent(options);
  return secure
    ? new TunnelAgent(options, proxy, ca, settings.timeoutMs)
    : new ForwardAgent(options, proxy, ca, settings.timeoutMs);
}
