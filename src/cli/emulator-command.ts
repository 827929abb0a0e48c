/**
 * `ioc-enrich emulator`: runs the bundled VirusTotal-compatible server until SIGINT/SIGTERM. The URL is the
 * first line of stdout, so scripts can read it; everything else goes to stderr. Keys are never printed.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { IocEnrichError, OptionError } from '../errors.js';
import {
  FAULT_KINDS,
  isTier,
  startEmulator,
  TIER_LIMITS,
  type Emulator,
  type EmulatorKey,
  type EmulatorOptions,
  type EmulatorTls,
  type FaultKind,
  type FaultOptions,
  type Tier,
} from '../emulator/index.js';
import { unreadableFile } from './io.js';

/** `--help` text. */
const EMULATOR_HELP = `Usage: ioc-enrich emulator [options]

Run a local VirusTotal-compatible server (API v3 and v2) on 127.0.0.1, with VirusTotal's quotas and
optional injected faults. Prints its URL on the first line of stdout; stops on Ctrl-C or SIGTERM.
Point any VirusTotal client at it by replacing https://www.virustotal.com with that URL.

Options:
  --port N                 TCP port (default 0: a free port)
  --key KEY[:public|premium]
                           accept this key (repeatable); other keys get 401 WrongCredentialsError.
                           Without --key any non-empty key is accepted on --tier
  --tier public|premium    tier of keys given without one (default public)
  --per-minute N           lookups per sliding minute per key (public default 4)
  --per-day N              lookups per UTC day per key (public default 500)
  --per-month N            lookups per UTC month per key (public default 15500)
  --unlimited              no quotas at all
  --free-quota-endpoint    do not count overall_quotas requests against the minute limit (VirusTotal counts
                           requests "of any nature"; this is for experiments)
  --fixtures DIR           fixture objects to serve (default: the bundled fixtures/vt)
  --not-found-rate R       share of unknown observables answered 404 (default 0.1)
  --malicious-rate R       share of unknown observables that are malicious (default 0.2)
  --fault-rate SPEC        inject faults: a total probability spread over every kind (0.05), or
                           kind=p,... with kinds ${FAULT_KINDS.join(', ')} (repeatable)
  --slow-ms N              delay of a slow reply (default 2000)
  --analysis-delay SECONDS how long a submitted URL's analysis stays queued (default 20)
  --seed N                 seed of the fault draws (default 1)
  --tls-cert PEM --tls-key PEM
                           serve HTTPS with this certificate (it must name 127.0.0.1) and key; clients
                           then need its CA (ioc-enrich --ca-file, NODE_EXTRA_CA_CERTS)
  -h, --help               this help

Examples:
  ioc-enrich emulator --port 8990
  ioc-enrich emulator --key demo:public --key team:premium --per-minute 600
  ioc-enrich emulator --unlimited --fault-rate transient=0.02,reset=0.01 --seed 7
`;

const OPTIONS = {
  port: { type: 'string' },
  key: { type: 'string', multiple: true },
  tier: { type: 'string' },
  'per-minute': { type: 'string' },
  'per-day': { type: 'string' },
  'per-month': { type: 'string' },
  unlimited: { type: 'boolean' },
  'free-quota-endpoint': { type: 'boolean' },
  fixtures: { type: 'string' },
  'not-found-rate': { type: 'string' },
  'malicious-rate': { type: 'string' },
  'fault-rate': { type: 'string', multiple: true },
  'slow-ms': { type: 'string' },
  'analysis-delay': { type: 'string' },
  seed: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What the command needs from the process. */
export interface EmulatorCommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted to stop the server; without it the command listens for SIGINT and SIGTERM itself. */
  signal?: AbortSignal;
}

function integer(
  option: string,
  text: string | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (text === undefined) return undefined;
  // Decimal digits only: Number() would also take `0x50`, `1e3` and ` 80 `.
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new OptionError(
      option,
      text,
      max === Number.MAX_SAFE_INTEGER ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`,
    );
  return value;
}

function share(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1)
    throw new OptionError(option, text, 'a number from 0 to 1');
  return value;
}

/** `KEY[:public|premium]`: a key may itself hold colons, so only a trailing tier name is split off. */
function parseKey(spec: string, defaultTier: Tier): EmulatorKey {
  const colon = spec.lastIndexOf(':');
  const suffix = colon === -1 ? '' : spec.slice(colon + 1);
  const { key, tier } = isTier(suffix) ? { key: spec.slice(0, colon), tier: suffix } : { key: spec, tier: defaultTier };
  // The key is a secret: the error names the option, not the value.
  if (key === '') throw new OptionError('--key', '<empty>', 'KEY or KEY:public or KEY:premium');
  return { key, tier };
}

/** `--fault-rate 0.05` (spread over every kind) or `--fault-rate transient=0.02,reset=0.01`. */
function parseFaults(specs: readonly string[]): FaultOptions {
  const faults: Partial<Record<FaultKind, number>> = {};
  for (const spec of specs) {
    if (!spec.includes('=')) {
      const total = share('--fault-rate', spec) ?? 0;
      for (const kind of FAULT_KINDS) faults[kind] = (faults[kind] ?? 0) + total / FAULT_KINDS.length;
      continue;
    }
    for (const part of spec.split(',')) {
      const [kind = '', rate] = part.split('=');
      if (!(FAULT_KINDS as readonly string[]).includes(kind))
        throw new OptionError('--fault-rate', part, `kind=p with a kind among ${FAULT_KINDS.join(', ')}`);
      faults[kind as FaultKind] = (faults[kind as FaultKind] ?? 0) + (share('--fault-rate', rate ?? '') ?? 0);
    }
  }
  return faults;
}

function readPem(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw unreadableFile(file, `${option} file`, error);
  }
}

/** `--tls-cert` and `--tls-key`: both or neither. */
function tlsFiles(cert: string | undefined, key: string | undefined): EmulatorTls | undefined {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    const [missing, given] = cert === undefined ? ['--tls-cert', '--tls-key'] : ['--tls-key', '--tls-cert'];
    throw new OptionError(missing, '(not given)', `given together with ${given}`);
  }
  return { cert: readPem('--tls-cert', cert), key: readPem('--tls-key', key) };
}

function seconds(option: string, value: string | undefined): number | undefined {
  const whole = integer(option, value, 0);
  return whole === undefined ? undefined : whole * 1000;
}

/** Builds the emulator's options from the command line. Throws {@link OptionError}. */
export function emulatorOptions(args: string[]): EmulatorOptions | 'help' {
  const { values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help === true) return 'help';
  const tier = values.tier ?? 'public';
  if (!isTier(tier)) throw new OptionError('--tier', tier, '`public` or `premium`');
  const slowMs = integer('--slow-ms', values['slow-ms'], 0);
  const faults = parseFaults(values['fault-rate'] ?? []);
  // Typed as EmulatorOptions has it, but each may be undefined here (not given on the command line).
  const options: { -readonly [K in keyof EmulatorOptions]?: EmulatorOptions[K] | undefined } = {
    port: integer('--port', values.port, 0, 65_535),
    keys: (values.key ?? []).map((spec) => parseKey(spec, tier)),
    tier,
    perMinute: integer('--per-minute', values['per-minute'], 0),
    perDay: integer('--per-day', values['per-day'], 0),
    perMonth: integer('--per-month', values['per-month'], 0),
    unlimited: values.unlimited,
    freeQuotaEndpoint: values['free-quota-endpoint'],
    fixturesDir: values.fixtures,
    notFoundRate: share('--not-found-rate', values['not-found-rate']),
    maliciousRate: share('--malicious-rate', values['malicious-rate']),
    faults: slowMs === undefined ? faults : { ...faults, slowDelayMs: slowMs },
    analysisDelayMs: seconds('--analysis-delay', values['analysis-delay']),
    seed: integer('--seed', values.seed, Number.MIN_SAFE_INTEGER),
    tls: tlsFiles(values['tls-cert'], values['tls-key']),
  };
  // exactOptionalPropertyTypes: options not given are left out, not set to undefined.
  for (const name of Object.keys(options) as (keyof EmulatorOptions)[]) {
    if (options[name] === undefined) delete options[name];
  }
  return options as EmulatorOptions;
}

/** `public 4/min, 500/day, 15,500/month` for each tier in use, with the overrides applied. */
function describeLimits(options: EmulatorOptions): string {
  if (options.unlimited === true) return 'no quotas';
  const keys = options.keys ?? [];
  const tiers = new Set<Tier>(keys.length === 0 ? [options.tier ?? 'public'] : keys.map((key) => key.tier));
  const show = (value: number): string => (Number.isFinite(value) ? value.toLocaleString('en-US') : 'unlimited');
  const parts = [...tiers].map((tier) => {
    const base = TIER_LIMITS[tier];
    return `${tier} ${show(options.perMinute ?? base.perMinute)}/min, ${show(options.perDay ?? base.perDay)}/day, ${show(options.perMonth ?? base.perMonth)}/month`;
  });
  return `quotas per key: ${parts.join('; ')}`;
}

/** Resolves when `signal` aborts, or on SIGINT/SIGTERM when there is no signal. */
async function untilStopped(signal: AbortSignal | undefined): Promise<void> {
  if (signal !== undefined) {
    if (!signal.aborted) await once(signal, 'abort');
    return;
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Runs `ioc-enrich emulator`; returns the exit code (0 after a clean stop, 2 for bad options, 1 if it cannot listen). */
export async function emulatorCommand(args: string[], io: EmulatorCommandIo): Promise<number> {
  let options: EmulatorOptions | 'help';
  try {
    options = emulatorOptions(args);
  } catch (error) {
    // parseArgs explains some mistakes over several lines; the contract is one line.
    io.stderr.write(
      `ioc-enrich emulator: ${(error instanceof Error ? error.message : String(error)).replaceAll('\n', ' ')}\n`,
    );
    return 2;
  }
  if (options === 'help') {
    io.stdout.write(EMULATOR_HELP);
    return 0;
  }
  let emulator: Emulator;
  try {
    emulator = await startEmulator(options);
  } catch (error) {
    io.stderr.write(`ioc-enrich emulator: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof IocEnrichError && error.code === 'BAD_OPTION' ? 2 : 1;
  }
  io.stdout.write(`${emulator.url}\n`);
  const keys = options.keys ?? [];
  const accepted = keys.length === 0 ? `any non-empty key (${options.tier ?? 'public'})` : `${keys.length} key(s)`;
  io.stderr.write(
    `VirusTotal emulator on ${emulator.url} (API v3 /api/v3, v2 /vtapi/v2); accepts ${accepted}; ${describeLimits(options)}; stats at ${emulator.url}/__emulator/stats; Ctrl-C to stop\n`,
  );
  await untilStopped(io.signal);
  const stats = emulator.stats();
  await emulator.close();
  io.stderr.write(
    `emulator stopped: ${stats.requests} requests, ${stats.itemsLookedUp} items looked up, ${stats.quotaRefusals} quota refusals, ${stats.faultsInjected} faults injected\n`,
  );
  return 0;
}
