/**
 * A minimal keep-alive HTTP client (GET, and POST of a form) over node:http/node:https.
 *
 * Design: node:http with a keep-alive Agent rather than `fetch`: at thousands of small requests per second
 * undici's per-request overhead (streams, Headers objects, promises per chunk) dominates, and a plain Agent
 * whose socket pool is sized to the concurrency keeps every connection reused. The timeout is a whole-request
 * deadline on the real clock (network time is real even when the pacing clock is fake).
 */
import http from 'node:http';
import https from 'node:https';
import { createAgent, ProxyError, type ProxyEndpoint } from './proxy.js';

/** A complete reply. */
export interface HttpReply {
  readonly status: number;
  /** The Retry-After header, when present. */
  readonly retryAfter: string | undefined;
  readonly body: Buffer;
}

/** The request failed below HTTP: no complete reply. `code` is short and safe to show (never holds the URL). */
export class NetworkFailure extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'NetworkFailure';
    this.code = code;
  }
}

/** The {@link NetworkFailure} code of a reply cut off at the size cap. */
export const REPLY_TOO_LARGE = 'EREPLYTOOLARGE';

/** GETs (and POSTs forms to) paths under one origin over pooled keep-alive connections. */
export class HttpClient {
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly hostname: string;
  private readonly port: number | undefined;
  private readonly basePath: string;
  private readonly timeoutMs: number;
  private readonly maxReplyBytes: number;
  /** The last headers given and their merge with `accept`: callers pass the same object for every lookup. */
  private lastHeaders: Readonly<Record<string, string>> | undefined;
  private lastMerged: Record<string, string> = {};

  /** `route`: the proxy (already matched against NO_PROXY) and extra CA certificates; see proxy.ts. */
  constructor(
    baseUrl: string,
    options: { maxSockets: number; timeoutMs: number; maxReplyBytes: number },
    route: { readonly proxy: ProxyEndpoint | undefined; readonly ca: readonly string[] | undefined },
  ) {
    const url = new URL(baseUrl);
    const secure = url.protocol === 'https:';
    this.agent = createAgent(url, { maxSockets: options.maxSockets, timeoutMs: options.timeoutMs, ...route });
    this.request = secure ? https.request : http.request;
    // URL keeps IPv6 literals bracketed; the request API wants them bare.
    this.hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = url.port === '' ? undefined : Number(url.port);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs;
    this.maxReplyBytes = options.maxReplyBytes;
  }

  /** GETs `path` (with its query). Rejects with {@link NetworkFailure} when no complete reply arrives. */
  get(path: string, headers: Readonly<Record<string, string>>): Promise<HttpReply> {
    return this.exchange('GET', path, this.merged(headers), undefined);
  }

  /** POSTs a form (`application/x-www-form-urlencoded`) to `path`; replies and failures as {@link get}. */
  post(path: string, headers: Readonly<Record<string, string>>, form: URLSearchParams): Promise<HttpReply> {
    const body = Buffer.from(form.toString(), 'utf8');
    return this.exchange(
      'POST',
      path,
      {
        accept: 'application/json',
        ...headers,
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': String(body.length),
      },
      body,
    );
  }

  private exchange(
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
  ): Promise<HttpReply> {
    return new Promise<HttpReply>((resolve, reject) => {
      let settled = false;
      const fail = (code: string, message: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.destroy();
        reject(new NetworkFailure(code, message));
      };
      const request = this.request(
        {
          agent: this.agent,
          hostname: this.hostname,
          ...(this.port === undefined ? {} : { port: this.port }),
          path: this.basePath + path,
          method,
          headers,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let received = 0;
          const tooLarge = (): void =>
            fail(REPLY_TOO_LARGE, `the reply is larger than the ${this.maxReplyBytes}-byte limit`);
          // A reply that announces more than the cap is refused before its body is read; one that only grows
          // past it is cut off there. Either way the connection is dropped, never drained.
          const announced = Number(response.headers['content-length']);
          if (Number.isFinite(announced) && announced > this.maxReplyBytes) {
            tooLarge();
            return;
          }
          response.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received > this.maxReplyBytes) {
              chunks.length = 0;
              tooLarge();
              return;
            }
            chunks.push(chunk);
          });
          response.on('aborted', () => fail('ECONNRESET', 'the connection was cut before the reply was complete'));
          response.on('error', (error: NodeJS.ErrnoException) =>
            fail(error.code ?? 'ECONNRESET', 'the reply was cut short'),
          );
          response.on('end', () => {
            if (settled) return;
            if (!response.complete) {
              fail('ECONNRESET', 'the connection was cut before the reply was complete');
              return;
            }
            settled = true;
            clearTimeout(timer);
            resolve({
              status: response.statusCode ?? 0,
              // A single string: Node keeps the first Retry-After of a reply and discards duplicates.
              retryAfter: response.headers['retry-after'],
              body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks),
            });
          });
        },
      );
      const timer = setTimeout(
        () => fail('ETIMEDOUT', `no complete reply within ${this.timeoutMs} ms`),
        this.timeoutMs,
      );
      request.on('error', (error: NodeJS.ErrnoException) =>
        fail(
          error.code ?? 'ENETWORK',
          error instanceof ProxyError ? error.message : `network error ${error.code ?? ''}`.trim(),
        ),
      );
      request.end(body);
    });
  }

  private merged(headers: Readonly<Record<string, string>>): Record<string, string> {
    if (headers !== this.lastHeaders) {
      this.lastMerged = { accept: 'application/json', ...headers };
      this.lastHeaders = headers;
    }
    return this.lastMerged;
  }

  /** Closes the pooled connections. */
  close(): void {
    this.agent.destroy();
  }
}
