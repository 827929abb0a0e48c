/**
 * The emulator's options and their validation. `normalizeEmulatorOptions()` is the only place that reads
 * `EmulatorOptions`; everything else works on the resolved {@link NormalizedEmulatorOptions}.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OptionError } from '../errors.js';

/** A VirusTotal key tier: it decides the default quotas and the v2 batch size. */
export type Tier = 'public' | 'premium';

/** One API key the emulator accepts. */
export interface EmulatorKey {
  readonly key: string;
  readonly tier: Tier;
}

/** The fault kinds the emulator can inject, each with its probability per request (0..1). */
export interface FaultOptions {
  /** 429 TooManyRequestsError (v2: 204 empty body). @default 0 */
  readonly tooManyRequests?: number;
  /** 503 TransientError. @default 0 */
  readonly transient?: number;
  /** 504 DeadlineExceededError. @default 0 */
  readonly deadline?: number;
  /** The connection is destroyed without a reply. @default 0 */
  readonly reset?: number;
  /** The correct reply, sent after {@link FaultOptions.slowDelayMs}. @default 0 */
  readonly slow?: number;
  /** The reply's headers announce the whole body, half of it is sent, then the connection is cut. @default 0 */
  readonly truncated?: number;
  /** A complete 200 reply whose body is not valid JSON. @default 0 */
  readonly malformed?: number;
  /** Delay of a slow reply, in milliseconds. @default 2000 */
  readonly slowDelayMs?: number;
}

/** The fault kinds, in the order the seeded draw tests them. */
export const FAULT_KINDS = [
  'tooManyRequests',
  'transient',
  'deadline',
  'reset',
  'slow',
  'truncated',
  'malformed',
] as const;

/** One of {@link FAULT_KINDS}. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Options of {@link startEmulator}; all optional. */
export interface EmulatorOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Accepted keys. When empty, any non-empty key is accepted on {@link EmulatorOptions.tier}. @default [] */
  readonly keys?: readonly EmulatorKey[];
  /** Tier of keys accepted when {@link EmulatorOptions.keys} is empty. @default 'public' */
  readonly tier?: Tier;
  /** Lookups per sliding minute, per key; overrides the tier's default for every key. `Infinity` disables it. */
  readonly perMinute?: number;
  /** Lookups per UTC day, per key; overrides the tier's default. `Infinity` disables it. */
  readonly perDay?: number;
  /** Lookups per UTC month, per key; overrides the tier's default. `Infinity` disables it. */
  readonly perMonth?: number;
  /** Disables every quota (the premium throughput benchmark runs unthrottled). @default false */
  readonly unlimited?: boolean;
  /**
   * Leaves `overall_quotas` requests out of the per-minute count. VirusTotal documents its minute limit as
   * requests "of any nature", so by default every authenticated request counts; this is for experiments.
   * @default false
   */
  readonly freeQuotaEndpoint?: boolean;
  /** Directory of fixture objects. @default the project's `fixtures/vt` */
  readonly fixturesDir?: string;
  /**
   * How long a submitted URL's analysis stays `queued` before it is `completed` (v3 `/analyses/{id}`, v2
   * url/report), in milliseconds on {@link EmulatorOptions.now}. @default 20000
   */
  readonly analysisDelayMs?: number;
  /** Share of unknown observables that VirusTotal "does not know" (404). @default 0.1 */
  readonly notFoundRate?: number;
  /** Share of unknown observables that are malicious. @default 0.2 */
  readonly maliciousRate?: number;
  /** Share of unknown observables that are suspicious. @default 0.05, or what the other two shares leave */
  readonly suspiciousRate?: number;
  /** Fault probabilities per request. @default no faults */
  readonly faults?: FaultOptions;
  /** Seed of the fault draws (synthetic objects do not depend on it). @default 1 */
  readonly seed?: number;
  /**
   * Keep the time of every item (and every overall_quotas request) charged to a quota in `stats().chargeTimes`, so that a test can check every
   * sliding 60 s window the server saw. Memory grows with the requests. @default false
   */
  readonly recordCharges?: boolean;
  /** Clock, epoch milliseconds; quota windows use it. @default Date.now */
  readonly now?: () => number;
  /**
   * Serve HTTPS with this PEM certificate (chain) and key instead of HTTP, as VirusTotal does: for testing a
   * client's trust settings and proxies' CONNECT. The certificate must name 127.0.0.1 (an IP subjectAltName).
   */
  readonly tls?: EmulatorTls;
}

/** The emulator's certificate and key, PEM. */
export interface EmulatorTls {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/** Quota limits of one key; `Infinity` means no limit. */
export interface QuotaLimits {
  readonly perMinute: number;
  readonly perDay: number;
  readonly perMonth: number;
}

/** The options after validation and defaults. */
export interface NormalizedEmulatorOptions {
  readonly port: number;
  readonly keys: ReadonlyMap<string, Tier>;
  readonly tier: Tier;
  readonly limits: Readonly<Record<Tier, QuotaLimits>>;
  readonly freeQuotaEndpoint: boolean;
  readonly fixturesDir: string;
  readonly analysisDelayMs: number;
  readonly notFoundRate: number;
  readonly maliciousRate: number;
  readonly suspiciousRate: number;
  readonly faults: Readonly<Record<FaultKind, number>>;
  readonly slowDelayMs: number;
  readonly seed: number;
  readonly recordCharges: boolean;
  readonly now: () => number;
  readonly tls: EmulatorTls | undefined;
}

/**
 * Default limits per tier. Public: VirusTotal's documented 4/min, 500/day, 15.5K/month. Premium limits are
 * per contract; these are a mid-size contract's, meant to be overridden.
 */
export const TIER_LIMITS: Readonly<Record<Tier, QuotaLimits>> = {
  public: { perMinute: 4, perDay: 500, perMonth: 15_500 },
  premium: { perMinute: 1_000, perDay: 1_000_000, perMonth: 30_000_000 },
};

/** How many resources of a v2 file/url batch VirusTotal answers, per tier; the rest are silently dropped. */
export const V2_BATCH_LIMIT: Readonly<Record<Tier, number>> = { public: 4, premium: 25 };

/** The project's `fixtures/vt`, found from this module so that it works from `src/` (vitest) and from `dist/`. */
export const DEFAULT_FIXTURES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'vt');

/** True for 'public' and 'premium'. */
export function isTier(value: string): value is Tier {
  return value === 'public' || value === 'premium';
}

function checkRate(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new OptionError(option, value, 'a number from 0 to 1');
  return value;
}

function checkLimit(option: string, value: number | undefined): number | undefined {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return value;
  if (!Number.isInteger(value) || value < 0) throw new OptionError(option, value, 'a non-negative integer or Infinity');
  return value;
}

function resolveLimits(options: EmulatorOptions): Record<Tier, QuotaLimits> {
  const perMinute = checkLimit('perMinute', options.perMinute);
  const perDay = checkLimit('perDay', options.perDay);
  const perMonth = checkLimit('perMonth', options.perMonth);
  const limitsFor = (tier: Tier): QuotaLimits => {
    if (options.unlimited === true) return { perMinute: Infinity, perDay: Infinity, perMonth: Infinity };
    const base = TIER_LIMITS[tier];
    return {
      perMinute: perMinute ?? base.perMinute,
      perDay: perDay ?? base.perDay,
      perMonth: perMonth ?? base.perMonth,
    };
  };
  return { public: limitsFor('public'), premium: limitsFor('premium') };
}

function resolveFaults(faults: FaultOptions | undefined): Record<FaultKind, number> {
  const resolved = {} as Record<FaultKind, number>;
  let sum = 0;
  for (const kind of FAULT_KINDS) {
    resolved[kind] = checkRate(`faults.${kind}`, faults?.[kind], 0);
    sum += resolved[kind];
  }
  if (sum > 1) throw new OptionError('faults', sum, 'probabilities that add up to at most 1');
  return resolved;
}

function checkTls(tls: EmulatorTls | undefined): EmulatorTls | undefined {
  if (tls === undefined) return undefined;
  const pem = (value: unknown): boolean => (typeof value === 'string' || Buffer.isBuffer(value)) && value.length > 0;
  if (!pem(tls.cert) || !pem(tls.key)) throw new OptionError('tls', '<incomplete>', 'a PEM `cert` and `key`');
  return tls;
}

/** Validates every option and fills in the defaults. Throws {@link OptionError}. */
export function normalizeEmulatorOptions(options: EmulatorOptions = {}): NormalizedEmulatorOptions {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new OptionError('port', port, 'an integer from 0 to 65535');
  const tier = options.tier ?? 'public';
  if (!isTier(tier)) throw new OptionError('tier', tier, '`public` or `premium`');
  const keys = new Map<string, Tier>();
  for (const { key, tier: keyTier } of options.keys ?? []) {
    // The key itself is never echoed in an error: it is a secret.
    if (typeof key !== 'string' || key.trim() === '') throw new OptionError('keys', '<empty>', 'non-empty key strings');
    if (!isTier(keyTier)) throw new OptionError('keys[].tier', keyTier, '`public` or `premium`');
    keys.set(key, keyTier);
  }
  const notFoundRate = checkRate('notFoundRate', options.notFoundRate, 0.1);
  const maliciousRate = checkRate('maliciousRate', options.maliciousRate, 0.2);
  // The default suspicious share gives way when the other two shares leave less room.
  const suspiciousRate = checkRate(
    'suspiciousRate',
    options.suspiciousRate,
    Math.min(0.05, Math.max(0, 1 - notFoundRate - maliciousRate)),
  );
  if (notFoundRate + maliciousRate + suspiciousRate > 1) {
    throw new OptionError(
      'notFoundRate + maliciousRate + suspiciousRate',
      notFoundRate + maliciousRate + suspiciousRate,
      'at most 1',
    );
  }
  const slowDelayMs = options.faults?.slowDelayMs ?? 2_000;
  if (!Number.isFinite(slowDelayMs) || slowDelayMs < 0)
    throw new OptionError('faults.slowDelayMs', slowDelayMs, 'a non-negative number');
  const analysisDelayMs = options.analysisDelayMs ?? 20_000;
  if (!Number.isFinite(analysisDelayMs) || analysisDelayMs < 0)
    throw new OptionError('analysisDelayMs', analysisDelayMs, 'a non-negative number');
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed)) throw new OptionError('seed', seed, 'an integer');
  return {
    port,
    keys,
    tier,
    limits: resolveLimits(options),
    freeQuotaEndpoint: options.freeQuotaEndpoint ?? false,
    fixturesDir: options.fixturesDir ?? DEFAULT_FIXTURES_DIR,
    analysisDelayMs,
    notFoundRate,
    maliciousRate,
    suspiciousRate,
    faults: resolveFaults(options.faults),
    slowDelayMs,
    seed,
    recordCharges: options.recordCharges ?? false,
    now: options.now ?? Date.now,
    tls: checkTls(options.tls),
  };
}
