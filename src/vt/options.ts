/**
 * Options of the lookup stage and their validation. `normalizeLookupOptions()` is the only place that reads
 * {@link LookupOptions}; the stage works on the resolved {@link NormalizedLookupOptions}.
 */
import type { Logger } from 'pino';
import { OptionError } from '../errors.js';
import type { QuotaStore } from '../quota/contract.js';
import type { ApiVersion } from '../types.js';
import { resolveProxy, type ProxyEndpoint } from './proxy.js';

/** A VirusTotal key tier: it decides the default quotas, the concurrency and the v2 batch size. */
export type Tier = 'public' | 'premium';

/** Time as the lookup stage sees it; injectable so that tests run an hour of pacing in milliseconds. */
export interface Clock {
  // Function-typed properties, not methods: a clock's functions are handed around on their own
  // (`{ now: clock.now }`), so they must not depend on `this`.
  /** Epoch milliseconds. */
  now: () => number;
  /** Resolves after `ms` (rejecting is not required: an aborted sleep may simply resolve early). */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The real clock: `Date.now` and a timer that an abort signal cuts short. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted === true || ms <= 0) {
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** Options of the lookup stage. Only `apiKey` is required. */
export interface LookupOptions {
  /** @default 'v3' */
  api?: ApiVersion;
  /** Server root; paths `/api/v3/...` and `/vtapi/v2/...` are appended. @default 'https://www.virustotal.com' */
  baseUrl?: string;
  /** The VirusTotal API key. Never appears in a message, a log line or a RawResponse. */
  apiKey: string;
  /** @default 'public' */
  tier?: Tier;
  /** Requests (v2 batch items each count) in any sliding 60 s window; `Infinity` for none. @default 4 public, 1000 premium */
  perMinute?: number;
  /** Lookups per UTC day; `Infinity` for none. @default 500 public, Infinity premium */
  perDay?: number;
  /** Lookups per UTC month; `Infinity` for none. @default 15500 public, Infinity premium */
  perMonth?: number;
  /** Requests in flight at once. @default 1 public, 8 premium */
  concurrency?: number;
  /** v2 file/url report batch size. @default 4 public, 25 premium */
  batchSize?: number;
  /**
   * v3: page an IP's or domain's resolutions beyond the first page (which comes with the object for free): one
   * more request for each that has more. @default false
   */
  resolutions?: boolean;
  /**
   * v3: for hits (Positives ≥ {@link LookupOptions.contextMinPositives}), one more request for the object's
   * context relationships: a file's contacted domains, IPs and URLs; a domain's or IP's communicating files and
   * URLs. @default false
   */
  context?: boolean;
  /** The Positives from which `context` asks for relationships. @default 1 */
  contextMinPositives?: number;
  /**
   * Submit a URL VirusTotal does not know for analysis (v3 `POST /urls`, v2 `scan=1`) and poll its analysis
   * until it completes or {@link LookupOptions.analysisTimeoutMs} passes. Never files. @default false
   */
  submitUnknownUrls?: boolean;
  /** How long to wait for a submitted URL's analysis, ms. @default 300000 */
  analysisTimeoutMs?: number;
  /** Time between polls of an analysis (the first one too), ms. @default 30000 */
  analysisPollMs?: number;
  /** Keep the reply JSON in RawResponse. @default false */
  raw?: boolean;
  /** Retries of one request after a transient failure. @default 5 */
  maxRetries?: number;
  /** Per-request timeout, ms. @default 30000 */
  timeoutMs?: number;
  /**
   * Largest reply read, in bytes; a larger one is cut off and its items get `Failed: reply too large`.
   * VirusTotal's largest object replies are a few hundred KB. @default 16 MiB
   */
  maxReplyBytes?: number;
  /**
   * HTTP(S) proxy URL, `http://[user:password@]host:port` (or https://); the credentials go to the proxy alone and
   * never into a message or log. The library reads no environment: the CLI resolves HTTPS_PROXY and the like.
   */
  proxy?: string;
  /** Hosts reached without the proxy, as curl's NO_PROXY (`.example.com,10.0.0.0/8,localhost,*`). */
  noProxy?: string;
  /**
   * PEM certificates to trust beside Node's bundled roots, for the server and an https:// proxy (a proxy that
   * inspects TLS signs with the company's CA). Node drops NODE_EXTRA_CA_CERTS once this is given: pass those too.
   */
  ca?: string | readonly string[];
  /** First backoff ceiling, ms (doubling per retry, full jitter). @default 1000 */
  backoffBaseMs?: number;
  /** Highest backoff ceiling, ms. @default 60000 */
  backoffMaxMs?: number;
  /** Stops submitting when aborted: the remaining observables get `NotSubmitted: interrupted`. */
  signal?: AbortSignal;
  logger?: Logger;
  /** @default systemClock */
  clock?: Clock;
  /** Random numbers in [0, 1) for the backoff jitter. @default Math.random */
  random?: () => number;
  /**
   * A quota shared with other runs on the same key (a Redis store for several hosts, see src/quota): every
   * request also takes its slots there. @default none: this run's own limits only
   */
  quotaStore?: QuotaStore;
}

/** {@link LookupOptions} after validation and defaults. */
export interface NormalizedLookupOptions {
  readonly api: ApiVersion;
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly tier: Tier;
  readonly perMinute: number;
  readonly perDay: number;
  readonly perMonth: number;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly resolutions: boolean;
  readonly context: boolean;
  readonly contextMinPositives: number;
  readonly submitUnknownUrls: boolean;
  readonly analysisTimeoutMs: number;
  readonly analysisPollMs: number;
  readonly raw: boolean;
  readonly maxRetries: number;
  readonly timeoutMs: number;
  readonly maxReplyBytes: number;
  /** The proxy to use for `baseUrl`: undefined without one, or when `noProxy` exempts the server. */
  readonly proxy: ProxyEndpoint | undefined;
  readonly ca: readonly string[] | undefined;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly signal: AbortSignal | undefined;
  readonly logger: Logger | undefined;
  readonly clock: Clock;
  readonly random: () => number;
  readonly quotaStore: QuotaStore | undefined;
}

/** The default cap of a reply's size: far above any real reply, far below what would strain memory. */
const DEFAULT_MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** The defaults each tier implies. Premium limits are per contract: these are a mid-size contract's. */
export const TIER_DEFAULTS: Readonly<
  Record<Tier, { perMinute: number; perDay: number; perMonth: number; concurrency: number; batchSize: number }>
> = {
  public: { perMinute: 4, perDay: 500, perMonth: 15_500, concurrency: 1, batchSize: 4 },
  premium: { perMinute: 1_000, perDay: Infinity, perMonth: Infinity, concurrency: 8, batchSize: 25 },
};

function limit(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === Infinity) return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new OptionError(option, value, 'a positive integer or Infinity');
  }
  return value;
}

function integer(option: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionError(option, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function certificates(ca: string | readonly string[] | undefined): readonly string[] | undefined {
  if (ca === undefined) return undefined;
  const list = typeof ca === 'string' ? [ca] : ca;
  if (list.some((pem) => typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE-----'))) {
    throw new OptionError('ca', '<not PEM>', 'PEM certificates (-----BEGIN CERTIFICATE-----)');
  }
  return list;
}

function isNormalized(options: LookupOptions | NormalizedLookupOptions): options is NormalizedLookupOptions {
  return normalizedMarker.has(options);
}

// Normalized objects are remembered so that normalizing twice (the pipeline normalizes, then calls the stage)
// is free and never re-validates derived values.
const normalizedMarker = new WeakSet<object>();

/** Validates every option (throws {@link OptionError}) and applies the tier's defaults. Idempotent. */
export function normalizeLookupOptions(options: LookupOptions | NormalizedLookupOptions): NormalizedLookupOptions {
  if (isNormalized(options)) return options;
  const api = options.api ?? 'v3';
  if (api !== 'v3' && api !== 'v2') throw new OptionError('api', api, '`v3` or `v2`');
  const tier = options.tier ?? 'public';
  if (tier !== 'public' && tier !== 'premium') throw new OptionError('tier', tier, '`public` or `premium`');
  // The key itself is never echoed: it is a secret.
  if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '')
    throw new OptionError('apiKey', '<empty>', 'a non-empty API key');
  const baseUrl = (options.baseUrl ?? 'https://www.virustotal.com').replace(/\/+$/, '');
  let parsed: URL | undefined;
  try {
    parsed = new URL(baseUrl);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new OptionError('baseUrl', baseUrl, 'an http:// or https:// URL');
  }
  const defaults = TIER_DEFAULTS[tier];
  const perMinute = limit('perMinute', options.perMinute, defaults.perMinute);
  const batchSize = integer('batchSize', options.batchSize, defaults.batchSize, 1, 25);
  const normalized: NormalizedLookupOptions = {
    api,
    baseUrl,
    apiKey: options.apiKey.trim(),
    tier,
    perMinute,
    perDay: limit('perDay', options.perDay, defaults.perDay),
    perMonth: limit('perMonth', options.perMonth, defaults.perMonth),
    concurrency: integer('concurrency', options.concurrency, defaults.concurrency, 1, 256),
    // A batch larger than the per-minute limit could never be sent whole.
    batchSize: Math.min(batchSize, perMinute),
    resolutions: options.resolutions ?? false,
    context: options.context ?? false,
    contextMinPositives: integer('contextMinPositives', options.contextMinPositives, 1, 0, 1_000),
    submitUnknownUrls: options.submitUnknownUrls ?? false,
    analysisTimeoutMs: integer('analysisTimeoutMs', options.analysisTimeoutMs, 300_000, 0, 86_400_000),
    analysisPollMs: integer('analysisPollMs', options.analysisPollMs, 30_000, 1_000, 3_600_000),
    raw: options.raw ?? false,
    maxRetries: integer('maxRetries', options.maxRetries, 5, 0, 100),
    timeoutMs: integer('timeoutMs', options.timeoutMs, 30_000, 1, 3_600_000),
    maxReplyBytes: integer('maxReplyBytes', options.maxReplyBytes, DEFAULT_MAX_REPLY_BYTES, 1_024, 1 << 30),
    proxy: resolveProxy(baseUrl, options.proxy, options.noProxy),
    ca: certificates(options.ca),
    backoffBaseMs: integer('backoffBaseMs', options.backoffBaseMs, 1_000, 0, 3_600_000),
    backoffMaxMs: integer('backoffMaxMs', options.backoffMaxMs, 60_000, 0, 3_600_000),
    signal: options.signal,
    logger: options.logger,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    quotaStore: options.quotaStore,
  };
  if (normalized.api === 'v2' && normalized.context) {
    // v2 has no relationships; its domain and IP reports already carry what it has (detected_urls, resolutions).
    throw new OptionError('context', true, 'used with API v3 (v2 has no relationships)');
  }
  if (normalized.backoffMaxMs < normalized.backoffBaseMs) {
    throw new OptionError(
      'backoffMaxMs',
      normalized.backoffMaxMs,
      `at least backoffBaseMs (${normalized.backoffBaseMs})`,
    );
  }
  normalizedMarker.add(normalized);
  return normalized;
}
