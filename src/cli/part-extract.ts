/**
 * The one-thread extract path for the CLI's commands: `extract` writes its rows with it, `enrich` spools its
 * occurrences with it (see SelfExtractingInput in src/pipeline.ts), so both read text and CSV through the same
 * engine — the native one where it is built — with the same options, decided here once.
 */
import { OptionError } from '../errors.js';
import { nativeEngineLoadError } from '../native/engine.js';
import type { ParallelExtractOptions } from '../parallel/parallel-extract.js';
import type { ResolvedInput } from './input-options.js';
import type { CommandIo } from './io.js';

/** The library's `nativeEngine` option from `IOC_ENRICH_ENGINE`: `js` turns it off; unset, empty or `native` leave it on. */
export function nativeEngineWanted(env: NodeJS.ProcessEnv): boolean {
  const value = env['IOC_ENRICH_ENGINE'];
  if (value === undefined || value === '' || value === 'native') return true;
  if (value === 'js') return false;
  throw new OptionError('IOC_ENRICH_ENGINE', value, '`js` or `native`');
}

/** Says on stderr, in one line, that a built native engine does not load (it would otherwise only show as a slower run). */
export function sayNativeLoadError(io: CommandIo): void {
  const loadError = nativeEngineLoadError();
  if (loadError !== undefined) io.stderr.write(`ioc-enrich: ${loadError.message}; extracting in JavaScript\n`);
}

/** What a command adds to the input's own settings. */
export type PartExtractRun = Pick<
  ParallelExtractOptions,
  'output' | 'stats' | 'outputFormat' | 'nativeEngine' | 'signal' | 'onPart' | 'onFirstSightings'
>;

/** The options of extractParallel for an input that takes this path (`input.parallel` is set). */
export function partExtractOptions(
  input: ResolvedInput,
  parallel: NonNullable<ResolvedInput['parallel']>,
  run: PartExtractRun,
): ParallelExtractOptions {
  return {
    ...run,
    input: { path: input.path },
    member: input.member,
    report: input.report,
    delimiter: parallel.delimiter,
    strictCsv: parallel.strictCsv,
    inputFormat: parallel.inputFormat,
    columns: parallel.columns,
    indexColumn: parallel.indexColumn,
    allowlist: input.allowlist,
    urlHostsAsDns: input.urlHostsAsDns,
  };
}
