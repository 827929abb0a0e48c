/**
 * `ioc-enrich extract`: a SIEM export to typed, screened, deduplicated observables, offline.
 */
import { parseArgs } from 'node:util';
import { InputError } from '../errors.js';
import { extractParallel } from '../parallel/parallel-extract.js';
import { extractOccurrenceBatches, extractedRow, newExtractStats, type ExtractStats } from '../extract-stage.js';
import { createRowWriter } from '../io/writers.js';
import { EXTRACT_COLUMNS } from '../types.js';
import { INPUT_OPTIONS, checkSomethingRead, outputFormat, resolveInput, type ResolvedInput } from './input-options.js';
import { EXIT, openOutput, type CommandIo } from './io.js';
import { nativeEngineWanted, partExtractOptions, sayNativeLoadError } from './part-extract.js';
import { formatExtractSummary } from './render.js';
import { capYoungGeneration } from './young-generation.js';

export const EXTRACT_HELP = `Usage: ioc-enrich extract [options] INPUT

Extract IoCs (ipv4, ipv6, dns, url, md5_hash, sha1_hash, sha256_hash) from a CSV, text, JSON or Zeek file
(- for stdin; gzip'd or zip'd too), refang them, screen them with msticpy's rules and mark duplicates. No lookups,
no key needed.

Input:
  --input-format csv|text|jsonl|json|zeek
                                 default from the name (.csv, .tsv, .jsonl/.ndjson/.json; inside .gz and zip
                                 members too), then the content (a Zeek header, a JSON object line), else text
  --delimiter ,|;|tab|'|'        CSV: the field delimiter (default: sniffed, said on stderr when not a comma)
  --encoding utf-8|utf-16le|utf-16be|windows-1252|latin1
                                 default: by BOM, else UTF-8, falling back to Windows-1252 (said on stderr)
  --columns a,b                  CSV, Zeek: scan only these columns (default: all; duplicates are ip#2, empty #N)
  --fields a,b.c                 JSON: scan only these dotted paths, through arrays (default: every string)
  --index-col NAME               SourceIndex from this column (default: 0-based data row / line / element number)
  --strict-csv                   stop at the first malformed CSV record (default: read it as Python's csv does,
                                 and count the repairs in the summary)
  --skip-bad-rows                skip malformed rows (counted in the summary) instead of stopping
  --observable-col COL --type-col COL
                                 pre-typed CSV (msticpy's lookup_iocs table): screen each row's value as its type
  --allowlist FILE               domains (with subdomains), IPs, CIDRs and hashes never looked up
  --url-hosts-as-dns             also report each URL's host as a dns observable
Environment:
  IOC_ENRICH_ENGINE=js           extract in the JavaScript engine even where the native one is built
Output:
  --format csv|jsonl             default csv (spreadsheet-safe)
  -o, --output FILE              default stdout; written to a temporary name and renamed when complete

Examples:
  ioc-enrich extract firewall.csv -o iocs.csv
  ioc-enrich extract --input-format text --format jsonl report.txt
  zcat proxy.log.gz | ioc-enrich extract -
`;

/**
 * What `--jobs N` says: the option ran JavaScript worker threads, removed because one thread in the native engine
 * is faster (README, Performance). It is still accepted, with any value, so that scheduled scripts that pass it
 * keep running.
 */
const JOBS_IGNORED =
  'ioc-enrich: --jobs is no longer used: extraction runs on one thread (in the native engine where it is built, ' +
  'faster than the former JavaScript workers); ignored\n';

/** Runs `extract`; returns the exit code. */
export async function extractCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...INPUT_OPTIONS, jobs: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.jobs !== undefined) io.stderr.write(JOBS_IGNORED);
  if (values.help === true) {
    io.stdout.write(EXTRACT_HELP);
    return EXIT.ok;
  }
  const format = outputFormat(values.format, ['csv', 'jsonl'] as const);
  const nativeEngine = nativeEngineWanted(io.env);
  const input = await resolveInput(values, positionals, io);
  const output = openOutput(values.output, io);
  const stats: ExtractStats = newExtractStats();
  // Design decision: text and CSV go through the part engine (src/parallel), in the native engine where it is built
  // (src/native/engine.ts): it formats rows straight into bytes rather than building row objects per occurrence;
  // even in JavaScript that is 10 to 15 % faster than the generic pipeline. The output is the same.
  const { parallel } = input;
  if (parallel !== undefined && nativeEngine) sayNativeLoadError(io);
  // Cap V8's young generation (about 30 MB of peak RSS; see young-generation.ts).
  const checkMemory = io.limitYoungGeneration === true ? capYoungGeneration() : undefined;
  let interrupted = false;
  try {
    if (parallel !== undefined) {
      ({ interrupted } = await extractParallel(
        partExtractOptions(input, parallel, {
          signal: io.signal,
          output: output.stream,
          stats,
          outputFormat: format,
          nativeEngine,
          onPart: checkMemory,
        }),
      ));
    } else {
      interrupted = await writeRows(input, format, output.stream, stats, checkMemory, io.signal);
    }
  } catch (error) {
    if (stats.records === 0) {
      // Nothing was read (a missing file, a bad header): no output at all, just the one-line error.
      await output.abort();
      throw withStrictHint(error, input);
    }
    // Keep what was processed before the bad input: the rows so far are a complete, valid file.
    await output.commit();
    io.stderr.write(formatExtractSummary(stats, input.badRows));
    throw withStrictHint(error, input);
  }
  if (!interrupted) {
    try {
      checkSomethingRead(stats.records, input);
    } catch (error) {
      await output.abort();
      throw error;
    }
  }
  await output.commit();
  io.stderr.write(formatExtractSummary(stats, input.badRows));
  if (interrupted) {
    io.stderr.write('  interrupted: the output holds the records read before the signal\n');
    return EXIT.interrupted;
  }
  return EXIT.ok;
}

/**
 * An input error under --strict-csv, with what the default would have done: the user chose to stop, and should
 * know the way on.
 */
export function withStrictHint(error: unknown, input: ResolvedInput): unknown {
  if (!input.strictCsv || !(error instanceof InputError) || input.member?.format !== 'csv') return error;
  return new InputError(
    error.file,
    error.line,
    `${error.problem} (--strict-csv stops here; without it the record is read as Python's csv module reads it, ` +
      `and --skip-bad-rows leaves it out)`,
    { cause: error },
  );
}

/**
 * The generic extract (JSON lines, pre-typed CSV, --skip-bad-rows): every occurrence of the input as a row of
 * `format` on `stream`; `onBatch` runs after each batch of records. On an error
 * after some records, the rows written so far are ended as a complete file before the error is rethrown.
 */
async function writeRows(
  input: ResolvedInput,
  format: 'csv' | 'jsonl',
  stream: NodeJS.WritableStream,
  stats: ExtractStats,
  onBatch?: () => void,
  signal?: AbortSignal,
): Promise<boolean> {
  const writer = createRowWriter(EXTRACT_COLUMNS, format, stream);
  try {
    const options = {
      ...(input.allowlist === undefined ? {} : { allowlist: input.allowlist }),
      urlHostsAsDns: input.urlHostsAsDns,
    };
    for await (const occurrences of extractOccurrenceBatches(input.records, options, stats)) {
      for (const occurrence of occurrences) {
        // Await only when the writer asks for it (backpressure): an await per row would cost more than the row.
        const pending = writer.write(extractedRow(occurrence));
        if (pending !== undefined) await pending;
      }
      onBatch?.();
      if (signal?.aborted === true) {
        await writer.end();
        return true;
      }
    }
  } catch (error) {
    if (stats.records > 0) await writer.end();
    throw error;
  }
  await writer.end();
  return false;
}
