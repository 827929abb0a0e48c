/**
 * A local VirusTotal-compatible server (API v3 and v2) with quotas and fault injection: the offline
 * VirusTotal that tests, benchmarks and the demo run against. `ioc-enrich emulator` starts it from the CLI.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createSecureServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { OptionError } from '../errors.js';
import { FaultInjector } from './faults.js';
import { normalizeEmulatorOptions, type EmulatorOptions } from './options.js';
import { Router } from './server.js';
import type { EmulatorStats } from './stats.js';
import { ObjectStore } from './store.js';

export type {
  EmulatorOptions,
  EmulatorKey,
  EmulatorTls,
  FaultOptions,
  FaultKind,
  Tier,
  QuotaLimits,
} from './options.js';
export { FAULT_KINDS, TIER_LIMITS, V2_BATCH_LIMIT, DEFAULT_FIXTURES_DIR, isTier } from './options.js';
export type { EmulatorStats } from './stats.js';

/** A running emulator. */
export interface Emulator {
  /**
   * `http://127.0.0.1:PORT` (`https://` with the `tls` option): the base URL to give a VirusTotal client instead of
   * `https://www.virustotal.com`.
   */
  readonly url: string;
  /** Stops listening and closes every connection, idle or not. */
  close(): Promise<void>;
  /** A copy of the counters since start or the last {@link Emulator.resetStats}. */
  stats(): EmulatorStats;
  /** Zeroes the counters; quota usage is kept. */
  resetStats(): void;
}

/**
 * Starts the emulator on 127.0.0.1. Throws {@link OptionError} for a bad option or fixture.
 *
 * @example
 * const emulator = await startEmulator({ keys: [{ key: 'k', tier: 'public' }], now: () => clock });
 * await fetch(`${emulator.url}/api/v3/domains/example.com`, { headers: { 'x-apikey': 'k' } });
 * await emulator.close();
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const normalized = normalizeEmulatorOptions(options);
  const store = new ObjectStore(normalized.fixturesDir, normalized);
  const router = new Router(normalized, store, new FaultInjector(normalized.faults, normalized.seed));
  const { tls } = normalized;
  let server: Server;
  try {
    server =
      tls === undefined
        ? createServer({ keepAlive: true }, router.handle)
        : createSecureServer({ keepAlive: true, cert: tls.cert, key: tls.key }, router.handle);
  } catch (error) {
    // OpenSSL's reason (`no start line`, `key values mismatch`), without a stack.
    const reason = error instanceof Error ? error.message.replace(/^error:[0-9A-F]+:/, '') : String(error);
    throw new OptionError('tls', reason, 'a PEM certificate and its private key');
  }
  // Idle keep-alive connections stay open a minute, as clients pooling connections expect of VirusTotal.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(normalized.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  router.baseUrl = url;
  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        router.cancelPending();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      });
      return closing;
    },
    stats: () => router.stats(),
    resetStats: () => router.resetStats(),
  };
}
