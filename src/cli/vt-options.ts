/**
 * The VirusTotal options shared by `enrich` and `lookup`: API, key, pacing, cache, emulator and logging.
 * Flags win over the environment, which wins over defaults.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import type { ParseArgsConfig } from 'node:util';
import pino, { type Logger } from 'pino';
import { defaultCachePath, openResultCache, parseMaxAge, type ResultCache } from '../cache/index.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { OptionError } from '../errors.js';
import { RedisQuotaStore, type QuotaStore } from '../quota/index.js';
import type { LookupOptions } from '../vt/lookup-stage.js';
import { REDACTED, redact } from '../redact.js';
import { CONTEXT_HELP, CONTEXT_OPTIONS, contextLookupOptions, type ContextValues } from './context-options.js';
import { envValue, unreadableFile, type CommandIo } from './io.js';
import { PROXY_HELP, PROXY_OPTIONS, resolveNetwork, type ProxyValues } from './proxy-options.js';

/** parseArgs option definitions for lookups. */
export const VT_OPTIONS = {
  api: { type: 'string' },
  'api-key-file': { type: 'string' },
  'vt-url': { type: 'string' },
  emulator: { type: 'boolean' },
  tier: { type: 'string' },
  rate: { type: 'string' },
  daily: { type: 'string' },
  monthly: { type: 'string' },
  concurrency: { type: 'string' },
  retries: { type: 'string' },
  timeout: { type: 'string' },
  'max-reply-size': { type: 'string' },
  ...CONTEXT_OPTIONS,
  raw: { type: 'boolean' },
  cache: { type: 'string' },
  'no-cache': { type: 'boolean' },
  'max-age': { type: 'string' },
  'quota-store': { type: 'string' },
  'log-level': { type: 'string' },
  ...PROXY_OPTIONS,
} as const satisfies ParseArgsConfig['options'];

/** The parsed values of {@link VT_OPTIONS}. */
export interface VtValues extends ContextValues, ProxyValues {
  api?: string | undefined;
  'api-key-file'?: string | undefined;
  'vt-url'?: string | undefined;
  emulator?: boolean | undefined;
  tier?: string | undefined;
  rate?: string | undefined;
  daily?: string | undefined;
  monthly?: string | undefined;
  concurrency?: string | undefined;
  retries?: string | undefined;
  timeout?: string | undefined;
  'max-reply-size'?: string | undefined;
  raw?: boolean | undefined;
  cache?: string | undefined;
  'no-cache'?: boolean | undefined;
  'max-age'?: string | undefined;
  'quota-store'?: string | undefined;
  'log-level'?: string | undefined;
}

/** The help text of {@link VT_OPTIONS}. */
export const VT_HELP = `VirusTotal:
  VT_API_KEY=...             the key (environment), or --api-key-file FILE; never given on the command line
  --api v3|v2                default v3
  --vt-url URL               another VirusTotal-compatible server (default https://www.virustotal.com)
  --emulator                 start the bundled emulator in-process and use it (no key needed; premium pacing
                             unless --tier is given, so the demo runs in seconds)
  --tier public|premium      sets the defaults below (public: 4/min, 500/day, 15500/month, concurrency 1)
  --rate N/min  --daily N  --monthly N  --concurrency N   override the tier's limits
  --retries N                retries of a transient failure (429, 204, 503, 504, network, bad body), default 5
  --timeout SECONDS          per request, default 30
  --max-reply-size SIZE      largest reply read (bytes, or with KiB/MiB/GiB), default 16MiB; a larger one is
                             cut off and its items get 'Failed: reply too large'
${CONTEXT_HELP}  --raw                      fill RawResponse with the reply JSON (large)
${PROXY_HELP}Cache:
  --cache PATH|URL           a SQLite file, or postgres://user@host/db to share one cache with a team (else
                             IOC_ENRICH_CACHE_URL, else $XDG_CACHE_HOME/ioc-enrich/cache.db, else
                             ~/.cache/ioc-enrich/cache.db); with --emulator or --vt-url, no cache unless --cache
                             names one
  --no-cache                 neither read nor write the cache
  --max-age SPEC             freshness: 12h, 7d, or malicious=1d,clean=7d,notfound=1d (the defaults)
Team:
  --quota-store URL          redis://host:6379 (or IOC_ENRICH_QUOTA_URL): one per-minute window and one daily and
                             monthly budget for every process on this key, whatever host it runs on
Logging:
  --log-level LEVEL          pino level on stderr: fatal, error, warn, info, debug, silent
                             (default: warn on a terminal, info otherwise)
`;

/** The resources the VT options resolve to; `close()` releases them. */
export interface ResolvedVt {
  lookup: LookupOptions;
  cache: ResultCache | undefined;
  quotaStore: QuotaStore | undefined;
  emulator: Emulator | undefined;
  logger: Logger;
  close(): Promise<void>;
}

// The key a user gets with --emulator and no key of their own; the emulator accepts any non-empty key.
const EMULATOR_KEY = 'emulator-demo-key';

function positiveInteger(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new OptionError(option, value, 'a positive integer');
  return number;
}

/** A size: bytes, or a number with K/KB/KiB, M/MB/MiB or G/GB/GiB (all binary: 1 KiB = 1,024 bytes). */
function byteSize(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\s*(?:([KMG])(?:i?B)?|B)?$/i.exec(value.trim());
  const unit = match?.[2]?.toUpperCase();
  const number =
    match === null ? Number.NaN : Number(match[1]) * (unit === undefined ? 1 : 1024 ** ('KMG'.indexOf(unit) + 1));
  if (!Number.isSafeInteger(number) || number < 1024 || number > 1024 ** 3)
    throw new OptionError(option, value, 'a size from 1KiB to 1GiB (bytes, or e.g. 512KiB, 16MiB)');
  return number;
}

function rate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)(?:\/min)?$/.exec(value.trim());
  const number = match === null ? Number.NaN : Number(match[1]);
  if (!Number.isInteger(number) || number <= 0)
    throw new OptionError('--rate', value, 'N or N/min with N a positive integer');
  return number;
}

async function readKey(values: VtValues, io: CommandIo, required: boolean): Promise<string> {
  const file = values['api-key-file'];
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw unreadableFile(file, 'API key file', error);
    }
    const key = text.trim();
    if (key === '') throw new OptionError('--api-key-file', file, 'a file holding the API key');
    return key;
  }
  const key = io.env['VT_API_KEY']?.trim() ?? '';
  if (key !== '') return key;
  if (values.emulator === true || !required) return EMULATOR_KEY;
  throw new OptionError(
    'VT_API_KEY',
    '(unset)',
    'set to your VirusTotal API key (or use --api-key-file FILE, or --emulator to try the tool)',
  );
}

/** Resolves the VT options; starts the emulator and opens the cache when asked. */
export async function resolveVt(
  values: VtValues,
  io: CommandIo,
  options: { keyRequired: boolean },
): Promise<ResolvedVt> {
  const api = values.api ?? 'v3';
  if (api !== 'v3' && api !== 'v2') throw new OptionError('--api', api, 'v3 or v2');
  const tierGiven = values.tier;
  if (tierGiven !== undefined && tierGiven !== 'public' && tierGiven !== 'premium') {
    throw new OptionError('--tier', tierGiven, 'public or premium');
  }
  if (values.emulator === true && values['vt-url'] !== undefined) {
    throw new OptionError('--vt-url', values['vt-url'], 'not given together with --emulator');
  }
  // A person at a terminal gets the progress bar and the summary; a scheduled job gets JSON log lines.
  const level = values['log-level'] ?? ((io.stderr as { isTTY?: boolean }).isTTY === true ? 'warn' : 'info');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) {
    throw new OptionError('--log-level', level, 'one of fatal, error, warn, info, debug, trace, silent');
  }
  const apiKey = await readKey(values, io, options.keyRequired);
  // From here on every output and error of the command has the key cut out (see CommandIo.secrets).
  (io.secrets ??= []).push(apiKey);
  // The key is redacted wherever a logged object carries it; the client never puts it in a message.
  // Every line is also scrubbed as text (streamWrite), whatever field or message the key might reach.
  const logger = pino(
    {
      level,
      redact: { paths: ['apiKey', '*.apiKey', 'headers["x-apikey"]'], censor: REDACTED },
      hooks: { streamWrite: (line) => redact(line, apiKey) },
    },
    pino.destination({ dest: 2, sync: true }),
  );
  const tier = tierGiven ?? (values.emulator === true ? 'premium' : 'public');
  const perMinute = rate(values.rate);
  const perDay = positiveInteger('--daily', values.daily);
  const perMonth = positiveInteger('--monthly', values.monthly);
  const concurrency = positiveInteger('--concurrency', values.concurrency);
  const maxRetries = values.retries === undefined ? undefined : Number(values.retries);
  if (maxRetries !== undefined && (!Number.isInteger(maxRetries) || maxRetries < 0)) {
    throw new OptionError('--retries', values.retries, 'a non-negative integer');
  }
  const timeoutSeconds = positiveInteger('--timeout', values.timeout);
  const maxReplyBytes = byteSize('--max-reply-size', values['max-reply-size']);
  const maxAge = values['max-age'] === undefined ? undefined : parseMaxAge(values['max-age']);
  const beyondLookups = contextLookupOptions(values);

  let emulator: Emulator | undefined;
  let cache: ResultCache | undefined;
  let baseUrl = values['vt-url'] ?? 'https://www.virustotal.com';
  let network: Pick<LookupOptions, 'proxy' | 'noProxy' | 'ca'>;
  let quotaStore: QuotaStore | undefined;
  try {
    if (values.emulator === true) {
      emulator = await startEmulator({ tier });
      logger.info({ url: emulator.url }, 'started the bundled VirusTotal emulator');
      baseUrl = emulator.url;
    }
    network = await resolveNetwork(values, io.env, baseUrl, { emulator: emulator !== undefined, logger });
    // Answers from another server (the emulator, a test double) must never land in the cache of real
    // VirusTotal answers: with --emulator or --vt-url the cache is used only when --cache names one.
    const otherServer = values.emulator === true || values['vt-url'] !== undefined;
    const path =
      values.cache ??
      (otherServer ? undefined : (envValue(io, 'IOC_ENRICH_CACHE_URL') ?? defaultCachePath(io.env, homedir())));
    if (values['no-cache'] !== true && path !== undefined) {
      // The key is redacted from anything stored, should a server ever echo it in a reply.
      cache = await openResultCache(path, {
        redact: [apiKey],
        // A connection per lookup worker, one for the claims and one for the commits.
        poolSize: (concurrency ?? 8) + 2,
        ...(maxAge === undefined ? {} : { maxAge }),
      });
    }
    // A dry run sends nothing: it needs no shared quota.
    const quotaUrl = values['quota-store'] ?? envValue(io, 'IOC_ENRICH_QUOTA_URL');
    if (quotaUrl !== undefined && options.keyRequired) {
      quotaStore = await RedisQuotaStore.open(quotaUrl, { apiKey, logger });
      logger.info({ quotaStore: quotaStore.location }, 'the quota is shared through Redis');
    }
  } catch (error) {
    await cache?.close();
    await emulator?.close();
    throw error;
  }
  const lookup: LookupOptions = {
    api,
    baseUrl,
    apiKey,
    tier,
    ...beyondLookups,
    raw: values.raw === true,
    logger,
    ...network,
    ...(perMinute === undefined ? {} : { perMinute }),
    ...(perDay === undefined ? {} : { perDay }),
    ...(perMonth === undefined ? {} : { perMonth }),
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(maxRetries === undefined ? {} : { maxRetries }),
    ...(timeoutSeconds === undefined ? {} : { timeoutMs: timeoutSeconds * 1000 }),
    ...(maxReplyBytes === undefined ? {} : { maxReplyBytes }),
    ...(io.signal === undefined ? {} : { signal: io.signal }),
    ...(quotaStore === undefined ? {} : { quotaStore }),
  };
  return {
    lookup,
    cache,
    quotaStore,
    emulator,
    logger,
    close: async () => {
      try {
        await quotaStore?.close();
        await cache?.close();
      } finally {
        await emulator?.close();
      }
    },
  };
}
