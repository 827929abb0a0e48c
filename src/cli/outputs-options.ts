/**
 * The run's outputs beyond the rows, shared by `enrich` (written at the end of the run) and `report` (from an
 * enrich output): `--report FILE.html`, `--export stix=FILE,misp=FILE`, `--misp-url` (POST the event, key from
 * MISP_API_KEY), and what goes into them (`--min-positives`, `--tlp`, `--valid-for`).
 */
import { parseDuration } from '../cache/max-age.js';
import { OptionError } from '../errors.js';
import { postMispEvent, mispEndpoint } from '../export/misp-client.js';
import { mispEvent, mispEventJson } from '../export/misp.js';
import { DEFAULT_VALIDITY_MS, stixBundleJson } from '../export/stix.js';
import { TLP_LEVELS, isTlpLevel, type TlpLevel } from '../export/tlp.js';
import { detections, type RunDigest, type RunInfo } from '../report/digest.js';
import { renderHtmlReport } from '../report/html.js';
import { drained } from '../io/writers.js';
import { openOutput, outputError, type CommandIo } from './io.js';

/** parseArgs definitions of the output options. */
export const OUTPUT_OPTIONS = {
  report: { type: 'string' },
  export: { type: 'string', multiple: true },
  'min-positives': { type: 'string' },
  tlp: { type: 'string' },
  'valid-for': { type: 'string' },
  'misp-url': { type: 'string' },
} as const;

/** The options' help text. */
export const OUTPUTS_HELP = `Report and exports:
  --report FILE.html         a self-contained HTML report of the run: accounting, severity by type, detections
                             with their VirusTotal links and source rows, a filterable table of every observable
  --export stix=FILE,misp=FILE
                             a STIX 2.1 bundle and/or a MISP event (JSON) of the detections (repeatable)
  --min-positives N          what counts as a detection (report and exports): Positives >= N (default 1)
  --tlp clear|green|amber|amber+strict|red
                             mark the STIX objects with the TLP 2.0 marking definition, tag the MISP event
  --valid-for DURATION       the indicators' validity after the run (default 30d)
  --misp-url URL             also POST the MISP event to URL/events/add with the automation key in MISP_API_KEY
`;

/** Parsed output options. */
export interface OutputsSpec {
  readonly report: string | undefined;
  readonly stix: string | undefined;
  readonly misp: string | undefined;
  readonly mispUrl: string | undefined;
  readonly mispKey: string;
  readonly minPositives: number;
  readonly tlp: TlpLevel | undefined;
  readonly validForMs: number;
}

/** The values {@link resolveOutputs} reads. */
export interface OutputValues {
  report?: string | undefined;
  export?: string[] | undefined;
  'min-positives'?: string | undefined;
  tlp?: string | undefined;
  'valid-for'?: string | undefined;
  'misp-url'?: string | undefined;
}

function parseExports(values: readonly string[]): { stix: string | undefined; misp: string | undefined } {
  const found: Record<string, string> = {};
  for (const value of values) {
    // A comma separates outputs only before `stix=` or `misp=`: a file name may hold commas.
    for (const part of value.split(/,(?=(?:stix|misp)=)/)) {
      const match = /^(stix|misp)=(.+)$/.exec(part);
      if (match === null) throw new OptionError('--export', value, 'stix=FILE and/or misp=FILE, comma-separated');
      const [, kind, file] = match as unknown as [string, string, string];
      if (found[kind] !== undefined) throw new OptionError('--export', value, `${kind}= given once`);
      found[kind] = file;
    }
  }
  return { stix: found['stix'], misp: found['misp'] };
}

/**
 * Validates the output options (before any work is done, so a typo costs no quota). `stdoutTaken`: the command
 * already writes its rows to stdout, so no report or export may go there (`-`) too.
 */
export function resolveOutputs(values: OutputValues, io: CommandIo, stdoutTaken = false): OutputsSpec {
  const { stix, misp } = parseExports(values.export ?? []);
  const toStdout = [values.report, stix, misp].filter((path) => path === '-').length;
  if (toStdout > (stdoutTaken ? 0 : 1)) {
    throw new OptionError(
      '-',
      'stdout',
      stdoutTaken ? 'left to the rows (give -o FILE)' : 'the target of one output only',
    );
  }
  const minText = values['min-positives'];
  const minPositives = minText === undefined ? 1 : Number(minText);
  if (!Number.isInteger(minPositives) || minPositives < 1) {
    throw new OptionError('--min-positives', minText, 'a whole number of engines, at least 1');
  }
  const tlp = values.tlp?.toLowerCase();
  if (tlp !== undefined && !isTlpLevel(tlp)) throw new OptionError('--tlp', values.tlp, TLP_LEVELS.join(', '));
  const validFor = values['valid-for'];
  const validForMs = validFor === undefined ? DEFAULT_VALIDITY_MS : parseDuration(validFor, '--valid-for');
  if (validForMs <= 0) throw new OptionError('--valid-for', validFor, 'a duration longer than 0');
  const mispUrl = values['misp-url'];
  const mispKey = io.env['MISP_API_KEY'] ?? '';
  if (mispUrl !== undefined) {
    try {
      mispEndpoint(mispUrl);
    } catch {
      throw new OptionError('--misp-url', mispUrl, 'an http(s) URL of a MISP instance');
    }
    if (mispKey === '')
      throw new OptionError('--misp-url', mispUrl, 'used with the MISP automation key in MISP_API_KEY');
  }
  return { report: values.report, stix, misp, mispUrl, mispKey, minPositives, tlp, validForMs };
}

/** True when any output is asked for. */
export function wantsOutputs(spec: OutputsSpec): boolean {
  return spec.report !== undefined || spec.stix !== undefined || spec.misp !== undefined || spec.mispUrl !== undefined;
}

/** Writes `chunks` to `path` (atomically; `-` is stdout), in writes of about 64 KiB, minding backpressure. */
async function writeText<R>(path: string, chunks: Iterator<string, R>, io: CommandIo): Promise<R> {
  const output = openOutput(path, io);
  let result: R;
  try {
    let buffered = '';
    for (;;) {
      const next = chunks.next();
      if (next.done !== true) buffered += next.value;
      if ((next.done === true || buffered.length >= 1 << 16) && buffered !== '') {
        const text = buffered;
        buffered = '';
        if (!output.stream.write(text)) await drained(output.stream);
      }
      if (next.done === true) {
        result = next.value;
        break;
      }
    }
  } catch (error) {
    await output.abort();
    throw outputError(path, error);
  }
  await output.commit();
  return result;
}

function* once(text: string): Generator<string, void> {
  yield text;
}

/** Writes (and sends) the outputs asked for, saying on stderr what each holds. */
export async function writeOutputs(spec: OutputsSpec, digest: RunDigest, run: RunInfo, io: CommandIo): Promise<void> {
  const hits = detections(digest, spec.minPositives).length;
  const say = (line: string): void => void io.stderr.write(`  ${line}\n`);
  const where = (path: string): string => (path === '-' ? 'stdout' : path);
  if (spec.report !== undefined) {
    await writeText(spec.report, once(renderHtmlReport(digest, run, { minPositives: spec.minPositives })), io);
    say(
      `wrote the HTML report (${digest.observables.length} distinct observables, ${hits} detections) to ${where(spec.report)}`,
    );
  }
  const exports = spec.stix !== undefined || spec.misp !== undefined || spec.mispUrl !== undefined;
  if (exports && hits === 0) {
    say(
      `no detections (Positives >= ${spec.minPositives}): the STIX bundle holds only the producer identity, the MISP event no attribute`,
    );
  }
  const options = { run, minPositives: spec.minPositives, tlp: spec.tlp };
  if (spec.stix !== undefined) {
    const bundle = stixBundleJson(digest, { ...options, validForMs: spec.validForMs });
    const written = await writeText(spec.stix, bundle, io);
    say(
      `wrote the STIX 2.1 bundle (${written.indicators} indicators, ${written.objects} objects) to ${where(spec.stix)}`,
    );
  }
  if (spec.misp !== undefined || spec.mispUrl !== undefined) {
    const event = mispEvent(digest, options);
    if (spec.misp !== undefined) {
      await writeText(spec.misp, once(mispEventJson(event)), io);
      say(`wrote the MISP event (${event.Event.Attribute.length} attributes) to ${where(spec.misp)}`);
    }
    if (spec.mispUrl !== undefined) {
      const created = await postMispEvent(event, { url: spec.mispUrl, apiKey: spec.mispKey });
      say(
        `sent the MISP event (${event.Event.Attribute.length} attributes) to ${mispEndpoint(spec.mispUrl).origin}: event ${created.id || '(no id in the reply)'} ${created.uuid}`.trimEnd(),
      );
    }
  }
}
