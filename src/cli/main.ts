#!/usr/bin/env node
/**
 * The `ioc-enrich` command: dispatches to a sub-command and turns failures into one-line errors and exit codes.
 * No stack trace reaches the user for an expected failure; an unexpected one still prints one line (and the
 * stack only with IOC_ENRICH_DEBUG=1), since a crash dump helps no analyst.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { IocEnrichError } from '../errors.js';
import { redactText, secretForms } from '../redact.js';
import { EXIT, type CommandIo } from './io.js';

const HELP = `Usage: ioc-enrich <command> [options]

Commands:
  extract INPUT           extract, refang, screen and dedup IoCs from CSV, text or JSON lines (offline)
  enrich INPUT            the whole pipeline: extract, then look each distinct IoC up in VirusTotal, paced to the quota
  lookup VALUE...         one-off lookups
  join --results R SRC    add verdict columns to the source table, matched by SourceIndex
  report RESULTS          an HTML report, a STIX 2.1 bundle, a MISP event of an enrich output
  cache stats|purge|export  the persistent result cache
  emulator                run the bundled VirusTotal-compatible server on 127.0.0.1

Run 'ioc-enrich <command> --help' for a command's options.
The API key comes from VT_API_KEY or --api-key-file; it is never printed, logged or stored.

Exit codes: 0 complete, 1 failed, 2 usage error, 3 finished with observables not submitted (quota), 130 interrupted.
`;

type Command = (args: string[], io: CommandIo) => Promise<number>;

// Each command's module is loaded only when it runs: `extract` should not pay for the HTTP client, SQLite or
// the emulator at start-up.
const COMMANDS: Record<string, () => Promise<Command>> = {
  extract: async () => (await import('./extract-command.js')).extractCommand,
  enrich: async () => (await import('./enrich-command.js')).enrichCommand,
  lookup: async () => (await import('./lookup-command.js')).lookupCommand,
  join: async () => (await import('./join-command.js')).joinCommand,
  report: async () => (await import('./report-command.js')).reportCommand,
  cache: async () => (await import('./cache-command.js')).cacheCommand,
  emulator: async () => {
    const { emulatorCommand } = await import('./emulator-command.js');
    return (args, io) => emulatorCommand(args, io);
  },
};

function version(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], given: CommandIo): Promise<number> {
  // The key in the environment is a secret of every command (an input line may hold it: a proxy log of the
  // user's own VirusTotal calls); commands add the ones they read (a key file). Nothing on stderr shows them.
  const secrets = given.secrets ?? [];
  const envKey = given.env['VT_API_KEY']?.trim();
  if (envKey !== undefined && envKey !== '') secrets.push(envKey);
  const io: CommandIo = { ...given, secrets, stderr: redactingWrites(given.stderr, secrets) };
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(HELP);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    io.stderr.write(`ioc-enrich: unknown command \`${name}\`; expected one of ${Object.keys(COMMANDS).join(', ')}\n`);
    return EXIT.usage;
  }
  try {
    const command = await load();
    return await command(args, io);
  } catch (error) {
    return reportFailure(error, io);
  }
}

/** `stream` with every text written to it redacted of `secrets` (read at each write: commands add to it). */
function redactingWrites(stream: NodeJS.WritableStream, secrets: readonly string[]): NodeJS.WritableStream {
  return new Proxy(stream, {
    get(target, property) {
      if (property === 'write') {
        return (chunk: unknown, ...rest: unknown[]) =>
          (target.write as (...args: unknown[]) => boolean)(
            typeof chunk === 'string' && secrets.length > 0 ? redactText(chunk, secretForms(secrets)) : chunk,
            ...rest,
          );
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function reportFailure(error: unknown, io: CommandIo): number {
  if (error instanceof IocEnrichError) {
    io.stderr.write(`ioc-enrich: ${error.message}\n`);
    if (error.code === 'BAD_OPTION') return EXIT.usage;
    if (error.code === 'INTERRUPTED') return EXIT.interrupted;
    return EXIT.failed;
  }
  // node:util parseArgs throws TypeErrors with a code for unknown or malformed options.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    io.stderr.write(`ioc-enrich: ${(error as Error).message}\n`);
    return EXIT.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`ioc-enrich: unexpected failure: ${message.split('\n')[0] ?? ''}\n`);
  if (io.env['IOC_ENRICH_DEBUG'] === '1' && error instanceof Error && error.stack !== undefined) {
    io.stderr.write(`${error.stack}\n`);
  }
  return EXIT.failed;
}

// Run when executed directly (the bin), not when imported by tests.
const invokedAs = process.argv[1];
if (invokedAs !== undefined && import.meta.url === pathToFileURL(realpathSync(invokedAs)).href) {
  // Design decision: a batch job's memory should follow what it holds (the distinct observables), not V8's
  // appetite. By default V8 lets the old generation grow to about twice what survived the last full collection
  // before collecting again; extracting 500 MB then peaked at 175 MB for 41 MB of live data. Growing by 20 %
  // instead kept it at 146 MB at the same speed (README, "Performance"). The flag is read each time V8 sets a
  // new limit, so setting it here, before any work, applies to the whole run. A library caller keeps its own
  // process's settings: this runs only as the command.
  setFlagsFromString('--heap-growing-percent=20');
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    // First Ctrl-C: stop submitting and write what is known. Second: give up at once.
    if (interrupts > 1) process.exit(EXIT.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A reader that goes away (`| head`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT.ok);
  });
  main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    stdin: process.stdin,
    signal: controller.signal,
    limitYoungGeneration: true,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`ioc-enrich: unexpected failure: ${String(error)}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}
