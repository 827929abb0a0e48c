/**
 * Helpers of the lookup-stage tests: observables of every type, a run that checks onResult is called exactly
 * once per observable, a pino logger that records its lines, and a canned HTTP server for replies the
 * emulator never gives (403, Retry-After).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { expect } from 'vitest';
import type { IocType, LookupResult, Observable } from '../../src/types.js';
import {
  lookupObservables,
  type LookupHooks,
  type LookupOptions,
  type LookupStats,
} from '../../src/vt/lookup-stage.js';

/** The key every test uses: long and distinctive, so a leak is easy to spot. */
export const KEY = 'k3y-0f-the-tests-5ecret-abcdef0123456789';

export function observable(type: IocType, value: string): Observable {
  return { type, value, key: `${type}:${value}` };
}

function hex(seed: string, length: number): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

/** `count` distinct observables of `type`, deterministic per `seed`. */
export function observables(type: IocType, count: number, seed = 'a'): Observable[] {
  return Array.from({ length: count }, (_, i) => {
    switch (type) {
      case 'md5_hash':
        return observable(type, hex(`${seed}${i}`, 32));
      case 'sha1_hash':
        return observable(type, hex(`${seed}${i}`, 40));
      case 'sha256_hash':
        return observable(type, hex(`${seed}${i}`, 64));
      case 'url':
        return observable(type, `http://site-${seed}${i}.example.net/path/${i}?q=${seed}`);
      case 'dns':
        return observable(type, `host-${seed}${i}.example.org`);
      case 'ipv4':
        return observable(type, `8.${(i >> 8) & 255}.${i & 255}.${7 + (seed.charCodeAt(0) % 200)}`);
      case 'ipv6':
        return observable(type, `2001:4860:${(i + 1).toString(16)}::${(seed.charCodeAt(0) % 200) + 1}`);
    }
  });
}

/** One of every type. */
export function everyType(seed = 'e'): Observable[] {
  return (['ipv4', 'ipv6', 'dns', 'url', 'md5_hash', 'sha1_hash', 'sha256_hash'] as const).flatMap((type) =>
    observables(type, 2, seed),
  );
}

export interface RunOutcome {
  stats: LookupStats;
  results: Map<string, LookupResult>;
}

/**
 * Runs the stage and checks the contract that holds whatever happens: exactly one result per observable, and
 * the accounting adds up.
 */
export async function run(
  input: Observable[],
  options: LookupOptions,
  hooks: Partial<LookupHooks> = {},
): Promise<RunOutcome> {
  const results = new Map<string, LookupResult>();
  const calls = new Map<string, number>();
  const stats = await lookupObservables(input, options, {
    ...hooks,
    onResult: (item, result) => {
      calls.set(item.key, (calls.get(item.key) ?? 0) + 1);
      results.set(item.key, result);
      hooks.onResult?.(item, result);
    },
  });
  expect([...calls.values()].every((count) => count === 1)).toBe(true);
  expect(results.size).toBe(new Set(input.map((item) => item.key)).size);
  expect(stats.lookedUp + stats.failed + stats.notSubmitted).toBe(input.length);
  return { stats, results };
}

/** Counts results by Status. */
export function byStatus(results: Map<string, LookupResult>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const result of results.values()) counts[result.status] = (counts[result.status] ?? 0) + 1;
  return counts;
}

/** A pino logger at debug level whose output is kept for inspection. */
export function recordingLogger(): { logger: Logger; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), text: () => chunks.join('') };
}

/** A canned reply for a request path. */
export type Canned = (request: IncomingMessage) => {
  status: number;
  /** JSON-encoded as the body. */
  body?: unknown;
  /** The body as it is (instead of `body`): text a JSON encoder would not write. */
  text?: string | Buffer;
  /** Sent without a content-length (chunked), so only the bytes tell the size. */
  chunked?: boolean;
  headers?: Record<string, string>;
};

/** An HTTP server on 127.0.0.1 answering with `handler`; records the paths it was asked for. */
export async function cannedServer(handler: Canned): Promise<{ url: string; paths: string[]; close(): Promise<void> }> {
  const paths: string[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    paths.push(request.url ?? '');
    const { status, body, text: raw, chunked = false, headers } = handler(request);
    const text = raw ?? (body === undefined ? '' : JSON.stringify(body));
    response.writeHead(status, {
      'content-type': 'application/json',
      ...(status === 204 || chunked ? {} : { 'content-length': Buffer.byteLength(text) }),
      ...headers,
    });
    response.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    paths,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A minimal v3 object reply. */
export function v3Object(type: string, id: string, attributes: Record<string, unknown> = {}): unknown {
  return {
    data: {
      type,
      id,
      attributes: { last_analysis_stats: { harmless: 60, malicious: 2, suspicious: 0, undetected: 8 }, ...attributes },
    },
  };
}
