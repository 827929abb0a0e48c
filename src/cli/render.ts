/**
 * Terminal output of the commands: summaries, the dry-run plan and the progress display. Everything here goes
 * to stderr except the dry-run plan, which is the dry run's data.
 */
import type { Logger } from 'pino';
import type { ReadReport } from '../io/readers.js';
import type { ExtractStats } from '../extract-stage.js';
import type { EnrichProgress, EnrichSummary } from '../pipeline.js';
import { codeUnitOrder } from '../order.js';

let intlNumber: Intl.NumberFormat | undefined;

/**
 * A number as `new Intl.NumberFormat('en-US')` writes it (`1,234,567`): a safe integer, all that summaries count,
 * is grouped here, anything else by Intl. Making the formatter is 15-20 ms of ICU set-up, which every command paid
 * at start (issue 12: 2 % of extracting 50 MB); test/cli/render.test.ts compares the two.
 */
export function formatNumber(value: number): string {
  if (!Number.isSafeInteger(value) || Object.is(value, -0)) {
    intlNumber ??= new Intl.NumberFormat('en-US');
    return intlNumber.format(value);
  }
  const digits = String(Math.abs(value));
  let grouped = digits.slice(0, ((digits.length - 1) % 3) + 1);
  for (let at = grouped.length; at < digits.length; at += 3) grouped += `,${digits.slice(at, at + 3)}`;
  return value < 0 ? `-${grouped}` : grouped;
}

const number = { format: formatNumber };

function table(rows: ReadonlyArray<readonly [string, string | number]>, indent = '  '): string {
  // A loop, not Math.max(...labels): a spread of 200,000 arguments overflows the stack.
  let width = 0;
  for (const [label] of rows) width = Math.max(width, label.length);
  return rows
    .map(
      ([label, value]) =>
        `${indent}${label.padEnd(width)}  ${typeof value === 'number' ? number.format(value) : value}\n`,
    )
    .join('');
}

function sortedEntries(record: Record<string, number>): Array<[string, number]> {
  return Object.entries(record).sort((a, b) => b[1] - a[1] || codeUnitOrder(a[0], b[0]));
}

/** Rows skipped with --skip-bad-rows; with what reading found that must be said (repairs, unmatched names). */
export interface BadRows {
  count: number;
  first: string | undefined;
  report?: ReadReport | undefined;
  /** The option that named the `report.matched` entries: `--columns` or `--fields`. */
  namedBy?: string | undefined;
}

function badRowLines(badRows: BadRows): string {
  let lines = '';
  if (badRows.count > 0) {
    lines += `  skipped ${number.format(badRows.count)} malformed row(s); the first: ${badRows.first ?? ''}\n`;
  }
  const report = badRows.report;
  if (report === undefined) return lines;
  if (report.repaired > 0) {
    lines +=
      `  repaired ${number.format(report.repaired)} malformed CSV record(s), read as Python's csv module reads them ` +
      `(--strict-csv stops at the first instead); the first: ${report.firstRepair ?? ''}\n`;
  }
  for (const [name, count] of Object.entries(report.matched)) {
    if (count === 0) lines += `  warning: ${badRows.namedBy ?? ''} "${name}" found no value in any record\n`;
  }
  return lines;
}

/** Reasons listed in a summary; the rest are summed on one line. */
const MAX_REASONS = 20;

/**
 * The most frequent reasons, then one line for the others: some messages name their value (`Could not obtain scheme
 * or host from file:///…`), so there can be as many reasons as values, and a summary of 200,000 lines helps nobody.
 */
function reasonRows(sorted: ReadonlyArray<readonly [string, number]>): Array<readonly [string, number]> {
  if (sorted.length <= MAX_REASONS) return [...sorted];
  const shown = sorted.slice(0, MAX_REASONS - 1);
  const rest = sorted.slice(MAX_REASONS - 1).reduce((sum, [, count]) => sum + count, 0);
  return [...shown, [`(${number.format(sorted.length - MAX_REASONS + 1)} other reasons)`, rest]];
}

/** The end-of-run summary of `extract`. */
export function formatExtractSummary(stats: ExtractStats, badRows: BadRows): string {
  const rejected = sortedEntries(stats.rejected);
  const rejectedTotal = rejected.reduce((sum, [, count]) => sum + count, 0);
  return (
    'ioc-enrich extract summary\n' +
    table([
      ['records read', stats.records],
      ['occurrences', stats.occurrences],
      ['valid (distinct)', stats.valid],
      ['duplicates', stats.duplicates],
      ['allowlisted', stats.allowlisted],
      ['rejected', rejectedTotal],
    ]) +
    (rejected.length === 0 ? '' : `  rejected by reason:\n${table(reasonRows(rejected), '    ')}`) +
    badRowLines(badRows)
  );
}

function duration(minutes: number): string {
  if (minutes < 1) return `${Math.ceil(minutes * 60)} s`;
  if (minutes < 120) return `${Math.ceil(minutes)} min`;
  const hours = minutes / 60;
  return hours < 48 ? `${hours.toFixed(1)} h` : `${(hours / 24).toFixed(1)} days`;
}

/** The dry run's requests beyond the lookups, each at most (worst case), only those the options ask for. */
function extraRows(extra: EnrichSummary['plan']['extra']): Array<readonly [string, number]> {
  const rows: Array<readonly [string, number]> = [
    ['resolutions pages, at most (--resolutions)', extra.resolutionPages],
    ['context requests, at most (--context)', extra.context],
    ['URL submissions, at most (--submit-unknown-urls)', extra.submissions],
    ['analysis polls, at most (--analysis-timeout)', extra.polls],
  ];
  return rows.filter(([, count]) => count > 0);
}

/** The plan a dry run prints (stdout): lookups by type and how long they take at the configured rate. */
export function formatDryRun(summary: EnrichSummary): string {
  const { plan } = summary;
  const perType = Object.entries(plan.byType).filter(([, count]) => count > 0);
  const days =
    plan.days > 1 ? ` (the daily budget of ${number.format(plan.perDay)} spreads it over ${plan.days} days)` : '';
  return (
    `Dry run: ${number.format(summary.occurrences)} occurrences, ${number.format(summary.extract.valid)} distinct observables to enrich\n` +
    table([
      ['answered by the cache', plan.cached],
      ['lookups needed', plan.lookups],
      ...perType.map(([type, count]) => [`  ${type}`, count] as const),
      ...extraRows(plan.extra),
      ['quota items', plan.quotaItems],
      [
        'time at the configured rate',
        Number.isFinite(plan.perMinute)
          ? `${duration(plan.minutes)} at ${number.format(plan.perMinute)}/min${days}`
          : 'unthrottled',
      ],
    ])
  );
}

/** The end-of-run summary of `enrich`: the accounting identity, counts by Status and Severity, requests. */
export function formatEnrichSummary(summary: EnrichSummary, badRows: BadRows): string {
  const lookup = summary.lookup;
  const identity = `${number.format(summary.occurrences)} occurrences = ${number.format(summary.rejected)} rejected + ${number.format(summary.allowlisted)} allowlisted + ${number.format(summary.duplicates)} duplicates + ${number.format(summary.lookedUp)} looked up + ${number.format(summary.notSubmitted)} not submitted + ${number.format(summary.failed)} failed`;
  const remaining =
    summary.notSubmitted > 0
      ? `  ${number.format(summary.notSubmitted)} occurrence(s) not submitted (${summary.stopReason}): run the same command again later to finish them.\n`
      : '';
  return (
    'ioc-enrich enrich summary\n' +
    `  ${identity}\n` +
    table([
      ['records read', summary.extract.records],
      ['cache hits', summary.cacheHits],
      ['HTTP requests', lookup?.requests ?? 0],
      ['retries', lookup?.retries ?? 0],
      ['quota refusals', lookup?.quotaRefusals ?? 0],
      ...requestRows(lookup),
      ['stopped because', summary.stopReason],
    ]) +
    (lookup === undefined || lookup.contextRefused.length === 0
      ? ''
      : `  context the key may not read (empty cells): ${lookup.contextRefused.join('; ')}\n`) +
    `  by Status:\n${table(sortedEntries(summary.byStatus), '    ')}` +
    (Object.keys(summary.bySeverity).length === 0
      ? ''
      : `  by Severity:\n${table(sortedEntries(summary.bySeverity), '    ')}`) +
    findingLines(summary) +
    remaining +
    badRowLines(badRows)
  );
}

/** The kinds of request beyond the lookups that the run made, only those it made. */
function requestRows(lookup: EnrichSummary['lookup']): Array<readonly [string, number]> {
  if (lookup === undefined) return [];
  const rows: Array<readonly [string, number]> = [
    ['  resolutions pages', lookup.resolutionPages],
    ['  context requests', lookup.contextRequests],
    ['  URLs submitted', lookup.submissions],
    ['  analysis polls', lookup.analysisPolls],
    ['  still queued', lookup.queued],
  ];
  return rows.filter(([, count]) => count > 0);
}

function findingLines(summary: EnrichSummary): string {
  if (summary.topFindings.length === 0) return '';
  const rows = summary.topFindings.map(
    (finding) =>
      [
        `${finding.positives}/${finding.total === '' ? '?' : finding.total}`,
        `${finding.type.padEnd(11)} ${finding.observable}${finding.occurrences > 1 ? ` (${finding.occurrences} rows)` : ''}`,
      ] as const,
  );
  return `  most detected:\n${table(rows, '    ')}`;
}

/**
 * Progress while lookups run: a one-line bar on a TTY (redrawn at most 10 times a second), periodic log lines
 * (every 30 s) elsewhere, so scheduled jobs leave a readable trail without flooding their logs.
 */
export class ProgressReporter {
  readonly #stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly #logger: Logger;
  readonly #now: () => number;
  #lastDraw = 0;
  #drawn = false;
  #latest: EnrichProgress | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(stream: NodeJS.WritableStream, logger: Logger, now: () => number = Date.now) {
    this.#stream = stream;
    this.#logger = logger;
    this.#now = now;
  }

  /** Shows the latest state (or, when it comes too soon after the last one, shortly after). */
  update(progress: EnrichProgress): void {
    const interval = this.#stream.isTTY === true ? 100 : 30_000;
    const wait = this.#lastDraw + interval - this.#now();
    const finished = progress.done >= progress.total;
    this.#latest = progress;
    if (wait > 0 && !finished) {
      // A trailing draw, so a burst of results followed by a wait for the quota window still shows the burst.
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        if (this.#latest !== undefined) this.#draw(this.#latest);
      }, wait).unref();
      return;
    }
    this.#draw(progress);
  }

  #draw(progress: EnrichProgress): void {
    // A draw due now makes a pending trailing one pointless.
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#lastDraw = this.#now();
    this.#latest = undefined;
    const eta = progress.etaMs === undefined ? '' : ` · ETA ${duration(progress.etaMs / 60_000)}`;
    const quota = ` · quota today ${number.format(progress.dayUsed)}${Number.isFinite(progress.perDay) ? `/${number.format(progress.perDay)}` : ''}`;
    if (this.#stream.isTTY === true) {
      const width = 24;
      const filled = progress.total === 0 ? width : Math.round((progress.done / progress.total) * width);
      const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
      this.#stream.write(
        `\r\x1b[2K[${bar}] ${number.format(progress.done)}/${number.format(progress.total)} lookups${quota}${eta}`,
      );
      this.#drawn = true;
    } else {
      this.#logger.info(
        {
          done: progress.done,
          total: progress.total,
          requests: progress.requests,
          dayUsed: progress.dayUsed,
          etaMs: progress.etaMs,
        },
        'lookup progress',
      );
    }
  }

  /** Ends the bar's line. */
  done(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#drawn) this.#stream.write('\n');
    this.#drawn = false;
  }
}
