/**
 * `ioc-enrich lookup VALUE...`: one-off lookups (msticpy's `lookup_ioc`), through the same pipeline as
 * `enrich`, so values are refanged, screened, deduplicated, cached and paced alike.
 */
import { parseArgs } from 'node:util';
import { ipaddr } from '../ipaddr.js';
import { refang } from '../extract/index.js';
import { OptionError } from '../errors.js';
import { createRowWriter } from '../io/writers.js';
import { enrich } from '../pipeline.js';
import { ENRICH_COLUMNS, isIocType, type EnrichedRow, type IocType, type TypedRecord } from '../types.js';
import { EXIT, type CommandIo } from './io.js';
import { ProgressReporter } from './render.js';
import { VT_HELP, VT_OPTIONS, resolveVt } from './vt-options.js';

const LOOKUP_HELP = `Usage: ioc-enrich lookup [options] VALUE...

Look up one or more observables (defanged forms are fine). The type is inferred unless --type is given.
Rows are printed as a table on a terminal, as CSV elsewhere, or as JSON with --format json.

  --type T                   ipv4, ipv6, dns, url, md5_hash, sha1_hash or sha256_hash
  --format table|csv|json    default: table on a terminal, csv otherwise
${VT_HELP}
Examples:
  VT_API_KEY=... ioc-enrich lookup 44d88612fea8a8f36de82e1278abb02f
  ioc-enrich lookup --emulator 'hxxp://evil[.]example[.]com/x' 8.8.8.8
`;

/**
 * The type a bare value most likely has. Only a guess to pick the screening rules: a value that does not
 * fit still gets screened (and rejected with msticpy's message) as the guessed type.
 */
function inferType(value: string): IocType {
  const text = refang(value.trim());
  if (/^[0-9a-f]{32}$/i.test(text)) return 'md5_hash';
  if (/^[0-9a-f]{40}$/i.test(text)) return 'sha1_hash';
  if (/^[0-9a-f]{64}$/i.test(text)) return 'sha256_hash';
  if (ipaddr().IPv4.isValidFourPartDecimal(text)) return 'ipv4';
  if (ipaddr().IPv6.isValid(text)) return 'ipv6';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) || text.includes('/')) return 'url';
  return 'dns';
}

const TABLE_COLUMNS = ['Observable', 'IoCType', 'Status', 'Positives', 'Total', 'Severity', 'Permalink'] as const;

function renderTable(rows: readonly EnrichedRow[]): string {
  const cells = [TABLE_COLUMNS.map(String), ...rows.map((row) => TABLE_COLUMNS.map((column) => String(row[column])))];
  const widths = TABLE_COLUMNS.map((_, index) => Math.max(...cells.map((line) => (line[index] ?? '').length)));
  return cells
    .map(
      (line) =>
        `${line
          .map((cell, index) => cell.padEnd(widths[index] ?? 0))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

/** Runs `lookup`; returns the exit code. */
export async function lookupCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...VT_OPTIONS,
      type: { type: 'string' },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(LOOKUP_HELP);
    return EXIT.ok;
  }
  if (positionals.length === 0) throw new OptionError('VALUE', '(nothing)', 'at least one observable');
  const type = values.type;
  if (type !== undefined && !isIocType(type)) {
    throw new OptionError('--type', type, 'one of ipv4, ipv6, dns, url, md5_hash, sha1_hash, sha256_hash');
  }
  const tty = (io.stdout as { isTTY?: boolean }).isTTY === true;
  const format = values.format ?? (tty ? 'table' : 'csv');
  if (format !== 'table' && format !== 'csv' && format !== 'json')
    throw new OptionError('--format', format, 'table, csv or json');
  const records: TypedRecord[] = positionals.map((value, index) => ({
    recordNumber: index,
    sourceIndex: String(index),
    observable: value,
    type: type ?? inferType(value),
    field: 'argument',
  }));
  const vt = await resolveVt(values, io, { keyRequired: true });
  const progress = new ProgressReporter(io.stderr, vt.logger);
  const rows: EnrichedRow[] = [];
  let summary;
  try {
    summary = await enrich(
      records,
      {
        lookup: vt.lookup,
        ...(vt.cache === undefined ? {} : { cache: vt.cache }),
        onProgress: (state) => progress.update(state),
      },
      (row) => {
        rows.push(row);
      },
    );
  } finally {
    progress.done();
    await vt.close();
  }
  if (format === 'table') {
    io.stdout.write(renderTable(rows));
  } else {
    const writer = createRowWriter(ENRICH_COLUMNS, format, io.stdout);
    for (const row of rows) await writer.write(row);
    await writer.end();
  }
  if (summary.stopReason === 'interrupted') return EXIT.interrupted;
  return summary.notSubmitted > 0 ? EXIT.notSubmitted : EXIT.ok;
}
