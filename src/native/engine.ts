/**
 * The native extraction engine (native/extract.cc), loaded when it was built: the per-occurrence work of one-thread
 * extraction (finding candidates, dedup, formatting rows) on bytes. Everything decided once per distinct value
 * stays here, in JavaScript, and the engine calls back for it: screening and the allowlist (a batch of first
 * sightings a call), the public-suffix test,
 * IPv6 validation, and the extraction of fields with a non-ASCII byte. See the C++ file's head
 * for why it exists, and test/native/native-engine.test.ts for the byte-for-byte comparison with the JavaScript
 * engine.
 *
 * Design decision: optional. `npm ci` builds it (scripts/build-native.mjs) where a C++ compiler is found; without
 * one, or with the option `nativeEngine: false` (the CLI sets it from `IOC_ENRICH_ENGINE=js`), extraction runs in
 * JavaScript with the same output. A build that exists but cannot be used (it fails to load, or it was built from
 * other sources) is never used either, but not silently: {@link nativeEngineLoadError} says why, for the CLI to
 * print (this module never prints).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Allowlist } from '../allowlist.js';
import { isTellingHashKey } from '../extract/context.js';
import { DomainKind, domainKindOf, tldMayBeIcann } from '../extract/domain.js';
import { extractCandidates } from '../extract/index.js';
import { canonicalIpv6, isValidIpv6 } from '../extract/ip.js';
import { csvCell, jsonCell } from '../io/writers.js';
import { screenPublicName, screenRefanged } from '../screen.js';
import { IOC_TYPES, type IocType, type SourceRecord } from '../types.js';

/** What the engine made since the last {@link NativeEngine.take}. */
export interface NativeOutput {
  /** Extract rows, UTF-8, in the format the engine was made for. */
  readonly rows: Buffer;
  readonly records: number;
  readonly occurrences: number;
  readonly valid: number;
  readonly duplicates: number;
  readonly allowlisted: number;
  /** Rejected occurrences by screening message. */
  readonly rejected: Record<string, number>;
  /**
   * With the option `firstSightings`: the observables whose first (Valid) row is among `rows`, in row order — the
   * distinct values a caller that looks them up has not met before (allowlisted ones are not listed).
   */
  readonly firstSightings?: readonly FirstSighting[];
}

/** An observable met for the first time (see {@link NativeOutput.firstSightings}). */
export interface FirstSighting {
  readonly type: IocType;
  readonly observable: string;
  /** The Note column's text (`Lookalike`), or undefined. */
  readonly note: string | undefined;
}

/** What the compiled module's take() returns: NativeOutput, with the first sightings in columns. */
interface BindingOutput extends Omit<NativeOutput, 'firstSightings' | 'rows'> {
  /** The rows' byte length; the rows are in the `into` given, or in `rows` when they did not fit. */
  readonly rowsLength: number;
  readonly rows?: Buffer;
  readonly sightings?: { types: Uint8Array; values: string[]; notes: string[] };
}

/** The compiled module's functions (native/extract.cc, "The module's functions"). */
interface Binding {
  /** The interface version (see NATIVE_INTERFACE). */
  readonly version?: number;
  create(
    options: { csv: boolean; urlHostsAsDns: boolean; allowlist: boolean; sightings: boolean },
    screenBatch: (types: Uint8Array, values: string, ends: Uint32Array, codes: Int32Array) => unknown[],
    extract: (text: string) => unknown[],
    domainKind: (name: string) => number,
    ipv6: (value: string) => string | null,
    tldMayBeIcann: (label: string) => boolean,
    isTellingHashKey: (key: string) => boolean,
  ): object;
  text(engine: object, bytes: Uint8Array, startLine: number, maxBytes: number): number;
  column(engine: object, cell: string): void;
  records(engine: object, values: readonly string[], layout: Int32Array): void;
  take(engine: object, into: Uint8Array): BindingOutput;
  trimHeap(): boolean;
  /** The results-CSV reader's fast path (native/result-csv.cc; see src/io/result-csv.ts). */
  resultCsvSpans: NativeResultCsv['spans'];
  resultCsvTables: NativeResultCsv['tables'];
  resultCsvKey: NativeResultCsv['key'];
}

/** The results-CSV reader's fast path (native/result-csv.cc, where each function is described). */
export interface NativeResultCsv {
  /** Reads well-formed, complete records from `from` into `out`; returns how many. */
  spans(
    tables: object,
    bytes: Uint8Array,
    from: number,
    fields: number,
    slots: Int32Array,
    numbered: Uint8Array,
    out: Int32Array,
  ): number;
  /** The tables that number the numbered slots' bytes, for one reader. */
  tables(slots: number): object;
  /** The number of `bytes[start, end)` in the slot's table. */
  key(tables: object, slot: number, bytes: Uint8Array, start: number, end: number): number;
}

/**
 * The interface version this file speaks (the module's `version`, set at the end of native/extract.cc). A module
 * built from other sources (a stale build that could not be rebuilt) is not used: extraction runs in JavaScript.
 */
const NATIVE_INTERFACE = 10;

/** Where the build puts the module: two levels up from both src/native (tests) and dist/native (the build). */
const MODULE_PATH = fileURLToPath(new URL('../../native/build/Release/ioc_extract.node', import.meta.url));

/** A module load: the binding, or why a module that is there cannot be used (neither: there is none). */
export interface NativeLoad {
  readonly binding?: Binding;
  readonly error?: Error;
}

/**
 * Loads the compiled module at `path`. Exported for the tests, which load broken modules on purpose; everything
 * else goes through {@link nativeAvailable}, which loads the build once.
 */
export function loadNativeModule(path: string): NativeLoad {
  if (!existsSync(path)) return {};
  let loaded: Binding;
  try {
    loaded = createRequire(import.meta.url)(path) as Binding;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { error: new Error(`the native extraction engine ${path} does not load (${reason})`) };
  }
  if (loaded.version !== NATIVE_INTERFACE) {
    return {
      error: new Error(
        `the native extraction engine ${path} was built from other sources (interface ${String(loaded.version)}, ` +
          `this code needs ${NATIVE_INTERFACE}): rebuild it with npm run build`,
      ),
    };
  }
  return { binding: loaded };
}

let load: NativeLoad | undefined;

function loadBinding(): Binding | null {
  load ??= loadNativeModule(MODULE_PATH);
  return load.binding ?? null;
}

/** True when the native engine is built and loads. */
export function nativeAvailable(): boolean {
  return loadBinding() !== null;
}

/** The native results-CSV scanner, or undefined when the native engine is not built or does not load. */
export function nativeResultCsv(): NativeResultCsv | undefined {
  const binding = loadBinding();
  if (binding === null) return undefined;
  return { spans: binding.resultCsvSpans, tables: binding.resultCsvTables, key: binding.resultCsvKey };
}

/**
 * Gives the memory the C library holds free back to the system (glibc's `malloc_trim`; native/extract.cc
 * TrimHeap). False when it cannot: no native engine, or a C library without it.
 */
export function trimNativeHeap(): boolean {
  return loadBinding()?.trimHeap() ?? false;
}

/**
 * Why the native engine, though built, cannot be used (extraction then runs in JavaScript); undefined when it
 * loads or when it was not built at all (the build said so then).
 */
export function nativeEngineLoadError(): Error | undefined {
  loadBinding();
  return load?.error;
}

/** Room for no rows: take() then makes a buffer of their own. */
const NO_ROOM = Buffer.alloc(0);

/** Added to a domain kind when screening has more to say of the name than "accepted as it is" (see below). */
const SCREEN_IT = 4;

/**
 * The domain kind of a lower-case ASCII name for the engine (see domainKindOf), plus {@link SCREEN_IT} when
 * screening would not accept the name as it is, without a note (a reverse-DNS name, a lookalike): the engine
 * skips screening an extracted name otherwise (see `resolve` in native/extract.cc). A public domain is screened
 * by screenPublicName (src/screen.ts screenDns ends with it), so asking it keeps that shortcut true to screening
 * whatever its dns rules become.
 */
function nativeDomainKind(name: string): number {
  const kind = domainKindOf(name);
  if (kind === DomainKind.None) return kind;
  const outcome = screenPublicName(name);
  return outcome.accepted && outcome.note === undefined ? kind : kind | SCREEN_IT;
}

/** Options of {@link NativeEngine}. */
export interface NativeEngineOptions {
  readonly outputFormat: 'csv' | 'jsonl';
  readonly urlHostsAsDns: boolean;
  readonly allowlist?: Allowlist | undefined;
  /** List each take()'s first sightings ({@link NativeOutput.firstSightings}); off by default. */
  readonly firstSightings?: boolean;
}

/**
 * One run's extraction state in the native engine: it owns dedup (it sees every record, in input order), like a
 * one-thread {@link OccurrenceBuilder}. Rows come out in {@link NativeEngine.take}.
 */
export class NativeEngine {
  readonly #binding: Binding;
  readonly #engine: object;
  readonly #csv: boolean;
  /** Column ids of the field names met so far (each one's SourceField cell is sent to the engine once). */
  readonly #columns = new Map<string, number>();

  /** Throws when the engine is not available (see {@link nativeAvailable}). */
  constructor(options: NativeEngineOptions) {
    const loaded = loadBinding();
    if (loaded === null) throw new Error('the native extraction engine is not built');
    this.#binding = loaded;
    this.#csv = options.outputFormat === 'csv';
    const { allowlist } = options;
    const extractOptions = { urlHostsAsDns: options.urlHostsAsDns };
    const screen = (type: number, value: string): number | unknown[] => {
      const outcome = screenRefanged(IOC_TYPES[type] as IocType, value);
      if (!outcome.accepted) return outcome.silent === true ? 0 : [0, outcome.type, outcome.value, outcome.status];
      const allowlisted = allowlist?.matches(outcome.type, outcome.value) === true;
      // Most values are accepted as they are: a number then, rather than an array and a string to read back.
      if (outcome.type === IOC_TYPES[type] && outcome.value === value && outcome.note === undefined) {
        return allowlisted ? 2 : 1;
      }
      return [1, IOC_TYPES.indexOf(outcome.type), outcome.value, allowlisted, outcome.note ?? ''];
    };
    this.#engine = loaded.create(
      {
        csv: this.#csv,
        urlHostsAsDns: options.urlHostsAsDns,
        allowlist: allowlist !== undefined,
        sightings: options.firstSightings === true,
      },
      // A batch of first sightings, in one call (see flush in native/extract.cc): the values are `values` cut at
      // `ends`; each value's code goes into `codes` (0: no row, 1: accepted as it is, 2: the same, allowlisted, 3:
      // the next entry of the result says; type 255 is a dns name the engine vouches for, not screened, with an
      // empty value). A throw stops the batch where it happened: that value and the rest get -1 and the exception
      // ends the result, for the engine to write the rows before it and throw it again.
      (types, values, ends, codes) => {
        const entries: unknown[] = [];
        let start = 0;
        for (let index = 0; index < types.length; index++) {
          const type = types[index] as number;
          const end = ends[index] as number;
          if (type === 255) {
            codes[index] = 1;
            continue;
          }
          const value = values.slice(start, end);
          start = end;
          let verdict: number | unknown[];
          try {
            verdict = screen(type, value);
          } catch (error) {
            codes.fill(-1, index);
            entries.push(error);
            return entries;
          }
          if (typeof verdict === 'number') {
            codes[index] = verdict;
          } else {
            codes[index] = 3;
            entries.push(verdict);
          }
        }
        return entries;
      },
      (text) => {
        const out: unknown[] = [];
        for (const candidate of extractCandidates(text, extractOptions)) {
          out.push(IOC_TYPES.indexOf(candidate.type), candidate.context + candidate.value, candidate.original);
        }
        return out;
      },
      nativeDomainKind,
      (value) => (isValidIpv6(value) ? canonicalIpv6(value) : null),
      tldMayBeIcann,
      isTellingHashKey,
    );
  }

  /**
   * The lines of a text part (whole lines; line `startLine` first). Returns the 0-based number of a line longer
   * than `maxBytes`, where the JavaScript reader fails after the lines before it, or -1.
   */
  text(bytes: Uint8Array, startLine: number, maxBytes: number): number {
    return this.#binding.text(this.#engine, bytes, startLine, maxBytes);
  }

  /** Records read in JavaScript (CSV). */
  records(batch: readonly SourceRecord[]): void {
    const values: string[] = [];
    let layoutLength = 0;
    for (const record of batch) layoutLength += 1 + record.fields.length;
    const layout = new Int32Array(layoutLength);
    let at = 0;
    for (const record of batch) {
      values.push(record.sourceIndex);
      layout[at++] = record.fields.length;
      for (const field of record.fields) {
        layout[at++] = this.#column(field.name);
        values.push(field.value);
      }
    }
    this.#binding.records(this.#engine, values, layout);
  }

  #column(name: string): number {
    let id = this.#columns.get(name);
    if (id === undefined) {
      id = this.#columns.size;
      this.#columns.set(name, id);
      this.#binding.column(this.#engine, this.#csv ? csvCell(name) : jsonCell(name));
    }
    return id;
  }

  /**
   * The rows and counts made since the last call. The rows are copied into `into` when they fit (`rows` is then a
   * view of it), else into a buffer of their own.
   */
  take(into: Buffer = NO_ROOM): NativeOutput {
    const { sightings, rows: own, rowsLength, ...counts } = this.#binding.take(this.#engine, into);
    const output = { ...counts, rows: own ?? into.subarray(0, rowsLength) };
    if (sightings === undefined) return output;
    const firstSightings = sightings.values.map((observable, index): FirstSighting => ({
      type: IOC_TYPES[sightings.types[index] as number] as IocType,
      observable,
      note: sightings.notes[index] === '' ? undefined : sightings.notes[index],
    }));
    return { ...output, firstSightings };
  }
}
