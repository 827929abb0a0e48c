/**
 * `ioc-enrich report`: the HTML report, the STIX 2.1 bundle and the MISP event of a finished run, from its enrich
 * output (CSV, JSON lines or JSON) alone.
 */
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { OptionError } from '../errors.js';
import { readDigest } from '../report/digest.js';
import { EXIT, type CommandIo } from './io.js';
import { nativeEngineWanted } from './part-extract.js';
import { OUTPUTS_HELP, OUTPUT_OPTIONS, resolveOutputs, wantsOutputs, writeOutputs } from './outputs-options.js';

const REPORT_HELP = `Usage: ioc-enrich report [options] RESULTS

Read RESULTS (an enrich output: CSV, JSON lines or JSON) and write an HTML report of the run, a STIX 2.1 bundle
and/or a MISP event of its detections, or send the event to MISP. enrich writes the same at the end of a run with
the same options.

${OUTPUTS_HELP}  --run-time ISO             the run's time for valid_from, the sightings and the event's date
                             (default: RESULTS' modification time, when enrich finished writing it)

The MISP key is read from MISP_API_KEY, never from the command line; it is never printed.

Examples:
  ioc-enrich report enriched.csv --report run.html
  ioc-enrich report enriched.jsonl --export stix=hits.stix.json,misp=hits.misp.json --tlp amber --min-positives 3
  MISP_API_KEY=... ioc-enrich report enriched.csv --misp-url https://misp.example.org --tlp green
`;

/** Runs `report`; returns the exit code. */
export async function reportCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...OUTPUT_OPTIONS, 'run-time': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(REPORT_HELP);
    return EXIT.ok;
  }
  if (positionals.length !== 1) {
    throw new OptionError('RESULTS', positionals.join(' ') || '(none)', 'exactly one enrich output file');
  }
  const results = positionals[0] as string;
  const spec = resolveOutputs(values, io);
  if (!wantsOutputs(spec)) {
    throw new OptionError('--report', '(none)', 'given, or --export or --misp-url (see ioc-enrich report --help)');
  }
  let runTime: Date | undefined;
  if (values['run-time'] !== undefined) {
    runTime = new Date(values['run-time']);
    if (Number.isNaN(runTime.getTime())) {
      throw new OptionError('--run-time', values['run-time'], 'an ISO 8601 time such as 2026-12-02T09:00:00Z');
    }
  }
  if (io.limitYoungGeneration === true) {
    // Design decision: main.ts makes V8's heap grow by 20 % per collection, for enrich's and extract's memory
    // targets. Reading a million result rows into a digest of 100,000 observables grows the heap the whole time,
    // and there that setting cost a quarter more CPU (8.5 s against 6.7 s, 413 MB against 500 MB peak RSS, bench
    // "report"): this command, whose target is time, goes back to V8's own heuristic (0 = unset).
    setFlagsFromString('--heap-growing-percent=0');
  }
  const digest = await readDigest(results, {
    nativeEngine: nativeEngineWanted(io.env),
    onNotice: (message) => io.stderr.write(`ioc-enrich: ${message}\n`),
  });
  if (digest.accounting.occurrences === 0) io.stderr.write(`warning: ${results} has no result rows\n`);
  runTime ??= (await stat(results)).mtime;
  io.stderr.write(
    `read ${digest.accounting.occurrences.toLocaleString('en-US')} result rows, ${digest.observables.length.toLocaleString('en-US')} distinct observables\n`,
  );
  await writeOutputs(spec, digest, { source: results, startedAt: runTime, finishedAt: runTime }, io);
  return EXIT.ok;
}
