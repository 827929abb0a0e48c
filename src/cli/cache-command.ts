/**
 * `ioc-enrich cache stats|purge|export`: look after the persistent result cache.
 */
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { homedir } from 'node:os';
import { parseArgs } from 'node:util';
import {
  defaultCachePath,
  displayUrl,
  isPostgresUrl,
  openResultCache,
  parseDuration,
  parseMaxAge,
  resolveMaxAge,
  type CacheStats,
  type ResolvedMaxAgePolicy,
  type ResultCache,
} from '../cache/index.js';
import { OptionError } from '../errors.js';
import { envValue, EXIT, openOutput, type CommandIo } from './io.js';

const CACHE_HELP = `Usage: ioc-enrich cache stats|purge|export [options]

The cache keeps every VirusTotal reply (never the API key) so that scheduled and resumed runs never pay twice.

Commands:
  stats                  entries by API and verdict, how many are stale, file size
  purge                  delete the stale entries (see --max-age), or those --older-than, or --all
  export                 every entry as one JSON object per line (reply body included)

Options:
  --cache PATH|URL       a SQLite file, or a shared postgres://user@host/db URL (else IOC_ENRICH_CACHE_URL,
                         else $XDG_CACHE_HOME/ioc-enrich/cache.db, else ~/.cache/ioc-enrich/cache.db)
  --max-age SPEC         when an entry is stale: one duration (12h) or per verdict
                         (malicious=1d,suspicious=1d,clean=7d,notfound=1d: the defaults)
  --older-than DURATION  purge: entries fetched at least this long ago (30m, 12h, 7d, 2w)
  --all                  purge: every entry
  --json                 stats: one JSON object instead of text
  -o, --output FILE      export: write to FILE (complete or not at all) instead of stdout

Examples:
  ioc-enrich cache stats
  ioc-enrich cache purge --older-than 30d
  ioc-enrich cache export --cache /var/cache/soc/vt.db -o vt-replies.jsonl
`;

const OPTIONS = {
  cache: { type: 'string' },
  'max-age': { type: 'string' },
  'older-than': { type: 'string' },
  all: { type: 'boolean' },
  json: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

const SUBCOMMANDS = ['stats', 'purge', 'export'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

/** Options that only one subcommand takes. */
const ONLY_FOR: Record<string, Subcommand> = { 'older-than': 'purge', all: 'purge', json: 'stats', output: 'export' };

/** `90000` → `90s`, `86400000` → `1d`: the largest unit that divides the duration (days, not weeks: `7d` reads better). */
function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function formatBytes(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function formatPolicy(policy: ResolvedMaxAgePolicy): string {
  const { malicious, suspicious, clean, notFound } = policy;
  return `malicious ${formatDuration(malicious)}, suspicious ${formatDuration(suspicious)}, clean ${formatDuration(clean)}, not found ${formatDuration(notFound)}`;
}

function formatStats(stats: CacheStats, policy: ResolvedMaxAgePolicy, exists: boolean): string {
  const count = (n: number): string => n.toLocaleString('en-US');
  const date = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString());
  const rows: [string, string][] = [
    ['cache', exists ? `${stats.path} (${formatBytes(stats.sizeBytes)})` : `${stats.path} (not created yet)`],
    ['entries', `${count(stats.entries)} (v3 ${count(stats.byApi.v3)}, v2 ${count(stats.byApi.v2)})`],
    ['malicious', count(stats.byVerdict.malicious)],
    ['suspicious', count(stats.byVerdict.suspicious)],
    ['clean', count(stats.byVerdict.clean)],
    ['not found', count(stats.byVerdict.not_found)],
    ['stale', `${count(stats.stale)} (max age: ${formatPolicy(policy)})`],
    ['file hashes', count(stats.fileAliases)],
    ['oldest', date(stats.oldestFetchedAt)],
    ['newest', date(stats.newestFetchedAt)],
  ];
  return rows.map(([name, value]) => `${name.padEnd(12)} ${value}\n`).join('');
}

async function exportLines(cache: ResultCache, stream: NodeJS.WritableStream): Promise<number> {
  let lines: string[] = [];
  let bytes = 0;
  let written = 0;
  const flush = async (): Promise<void> => {
    if (lines.length === 0) return;
    const ready = stream.write(lines.join(''));
    lines = [];
    bytes = 0;
    if (!ready) await once(stream, 'drain');
  };
  // Collected in batches: one write per record would cost a syscall-sized overhead per reply.
  for await (const record of cache.export()) {
    const line = `${JSON.stringify(record)}\n`;
    lines.push(line);
    bytes += line.length;
    written++;
    if (bytes >= 1 << 20) {
      // The export iterator keeps a statement open; waiting for drain does not touch the database.
      await flush();
    }
  }
  await flush();
  return written;
}

/** Runs `cache`; returns the exit code. */
export async function cacheCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  if (values.help === true) {
    io.stdout.write(CACHE_HELP);
    return EXIT.ok;
  }
  const [subcommand, ...extra] = positionals;
  if (subcommand === undefined || !(SUBCOMMANDS as readonly string[]).includes(subcommand) || extra.length > 0) {
    throw new OptionError('cache', positionals.join(' '), 'one of stats, purge, export (see ioc-enrich cache --help)');
  }
  for (const [option, only] of Object.entries(ONLY_FOR)) {
    if (values[option as keyof typeof values] !== undefined && subcommand !== only) {
      throw new OptionError(`--${option}`, values[option as keyof typeof values], `given only with \`cache ${only}\``);
    }
  }
  if (values.all === true && values['older-than'] !== undefined) {
    throw new OptionError('--all', true, 'not combined with --older-than');
  }
  const maxAge = values['max-age'] === undefined ? {} : parseMaxAge(values['max-age']);
  const olderThanMs =
    values['older-than'] === undefined ? undefined : parseDuration(values['older-than'], '--older-than');
  const location = values.cache ?? envValue(io, 'IOC_ENRICH_CACHE_URL') ?? defaultCachePath(io.env, homedir());
  const shared = isPostgresUrl(location);
  const path = shared ? displayUrl(location) : location;
  // Looking at a cache file that does not exist yet must not create one: an in-memory stand-in answers instead.
  const exists = shared || path === ':memory:' || existsSync(path);
  const cache = await openResultCache(exists ? location : ':memory:', { maxAge });
  try {
    switch (subcommand as Subcommand) {
      case 'stats': {
        const stats = { ...(await cache.stats()), path };
        io.stdout.write(
          values.json === true
            ? `${JSON.stringify({ ...stats, exists, maxAge: resolveMaxAge(maxAge) })}\n`
            : formatStats(stats, resolveMaxAge(maxAge), exists),
        );
        return EXIT.ok;
      }
      case 'purge': {
        const purged = await cache.purge({
          ...(olderThanMs === undefined ? {} : { olderThanMs }),
          ...(values.all === true ? { all: true } : {}),
        });
        io.stdout.write(`purged ${purged.toLocaleString('en-US')} entries from ${path}\n`);
        return EXIT.ok;
      }
      case 'export': {
        const output = openOutput(values.output, io);
        try {
          const written = await exportLines(cache, output.stream);
          await output.commit();
          io.stderr.write(`exported ${written.toLocaleString('en-US')} entries from ${path}\n`);
        } catch (error) {
          await output.abort();
          throw error;
        }
        return EXIT.ok;
      }
    }
  } finally {
    await cache.close();
  }
}
