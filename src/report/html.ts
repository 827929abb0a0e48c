/**
 * The HTML run report: one self-contained file (styles, script and data inlined; no network, no CDN) that opens
 * with a double click and prints to PDF.
 *
 * Design decisions:
 * - The page's markup is fixed; the run's data is one JSON block (`<script type="application/json">`, every `<`
 *   written as `\u003c` so no text in it can close the element), and the inlined script (client-script.ts) draws
 *   everything from it with `textContent`. Attacker-controlled text is therefore never parsed as HTML, and the
 *   Content-Security-Policy allows only that script (by its hash) and no connection at all.
 * - The chart is an SVG the script draws (stacked bars of distinct observables by type and severity): a dozen
 *   lines, where a charting library would add hundreds of kilobytes to every report.
 * - Size follows the distinct observables: one compact array per observable (types and statuses as indexes, the
 *   VirusTotal id only when it differs from the value), with its first SourceText, or the first three for a
 *   detection. The table shows one page of 100 rows at a time, so 100,000 observables stay usable.
 */
import { oneShotHash } from '../one-shot-hash.js';
import type { ObservableDigest, RunDigest, RunInfo } from './digest.js';
import { isDetected } from './digest.js';
import { CLIENT_SCRIPT } from './client-script.js';
import { urlIdSha256 } from '../vt/ids.js';
import { isHashType } from '../types.js';

/** Options of {@link renderHtmlReport}. */
export interface HtmlReportOptions {
  /** What counts as a detection in the report's list. @default 1 */
  minPositives?: number;
}

/** Screening reasons listed one by one; the others are summed on one line. */
const MAX_REASONS = 50;
/** Characters of SourceText kept for an observable that is not a detection (the table shows one). */
const TABLE_SAMPLE_CHARS = 120;

const SEVERITY_INDEX: Readonly<Record<string, number>> = { '': 0, information: 1, warning: 2, high: 3 };

const STYLE = `
:root { color-scheme: light; --border: #d0d4d9; --muted: #5f6368; }
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #202124; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--border); padding-bottom: 4px; }
.meta, .note { color: var(--muted); } .identity { font-size: 15px; background: #f1f3f4; padding: 8px 12px; border-radius: 6px; }
.identity b { font-variant-numeric: tabular-nums; }
.grid { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
table { border-collapse: collapse; } th, td { border-bottom: 1px solid var(--border); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f8f9fa; font-weight: 600; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th[data-sort] { cursor: pointer; user-select: none; } th[aria-sort=ascending]::after { content: ' ▲'; } th[aria-sort=descending]::after { content: ' ▼'; }
code { font: 12px/1.3 ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; word-break: break-all; }
#observables, #detected-table { width: 100%; table-layout: fixed; }
#observables th:nth-child(1) { width: 8%; } #observables th:nth-child(2) { width: 28%; } #observables th:nth-child(3) { width: 11%; }
#observables th:nth-child(4), #observables th:nth-child(5), #observables th:nth-child(7) { width: 8%; } #observables th:nth-child(6) { width: 6%; }
#detected-table th:nth-child(1), #detected-table th:nth-child(4) { width: 8%; } #detected-table th:nth-child(2), #detected-table th:nth-child(5) { width: 9%; }
#detected-table th:nth-child(3) { width: 30%; }
td { overflow-wrap: anywhere; }
tr.sev-high td:first-child { box-shadow: inset 4px 0 #d93025; } tr.sev-warning td:first-child { box-shadow: inset 4px 0 #f5a623; }
.samples { margin: 0; padding-left: 16px; } .where { color: var(--muted); margin-right: 6px; font-size: 12px; }
.controls { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0; align-items: center; }
.pager { display: flex; gap: 10px; align-items: center; margin: 8px 0; }
.empty { padding: 10px 12px; background: #e6f4ea; border-radius: 6px; }
@media print { .controls, .pager button { display: none; } body { margin: 0; max-width: none; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
`;

const BODY = `
<h1>ioc-enrich run report</h1>
<p class="meta">Source <b id="source"></b> · run from <span id="started"></span> to <span id="finished"></span></p>
<noscript><p>This report draws its figures and tables with JavaScript; allow scripts for this file to see them.</p></noscript>
<h2>Accounting</h2>
<p class="identity"><b id="count-occurrences"></b> occurrences = <b id="count-rejected"></b> rejected + <b id="count-allowlisted"></b> allowlisted + <b id="count-duplicates"></b> duplicates + <b id="count-lookedUp"></b> looked up + <b id="count-notSubmitted"></b> not submitted + <b id="count-failed"></b> failed</p>
<p><b id="count-distinct"></b> distinct observables, <b id="count-detected"></b> detected; <b id="count-lookups-sent"></b> looked up in VirusTotal by this run, <b id="count-cache-hits"></b> answered by the cache.</p>
<div class="grid">
<section><h3>By Status (rows)</h3><table><thead><tr><th>Status</th><th class="num">rows</th></tr></thead><tbody id="by-status"></tbody></table></section>
<section><h3>By Severity (rows)</h3><table><thead><tr><th>Severity</th><th class="num">rows</th></tr></thead><tbody id="by-severity"></tbody></table></section>
<section id="quota"><h3>Quota</h3><table><tbody id="quota-table"></tbody></table></section>
</div>
<h2>Severity by type (distinct observables)</h2>
<div class="grid">
<div id="chart"></div>
<table><thead><tr><th>type</th><th class="num">high</th><th class="num">warning</th><th class="num">information</th><th class="num">no verdict</th><th class="num">all</th></tr></thead><tbody id="by-type"></tbody></table>
</div>
<h2>Detections</h2>
<p id="no-detections" class="empty" hidden>No detections: no observable of this run was flagged by VirusTotal.</p>
<table id="detected-table"><thead><tr><th class="num">Positives</th><th>type</th><th>observable</th><th class="num">rows</th><th>link</th><th>first source rows</th></tr></thead><tbody id="detected-body"></tbody></table>
<div class="pager" id="detected-pager"></div>
<h2>All distinct observables (<span id="table-count"></span>)</h2>
<div class="controls">
<label>type <select id="filter-type"><option value="">all</option></select></label>
<label>severity <select id="filter-severity"><option value="">all</option><option>high</option><option>warning</option><option>information</option><option value="none">no verdict</option></select></label>
<label>status <select id="filter-status"><option value="">all</option></select></label>
<label>text <input id="filter-text" type="search" placeholder="observable or source text"></label>
</div>
<table id="observables"><thead><tr><th data-sort="type">type</th><th data-sort="value">observable</th><th data-sort="status">Status</th><th data-sort="positives" class="num">Positives</th><th data-sort="severity">Severity</th><th data-sort="occurrences" class="num">rows</th><th>link</th><th>first SourceText</th></tr></thead>
<tbody id="table-body"></tbody></table>
<div class="pager" id="table-pager"></div>
<h2>Screening rejections by reason</h2>
<p id="rejections-none" hidden>Nothing was rejected.</p>
<table><thead><tr><th>reason</th><th class="num">rows</th></tr></thead><tbody id="rejections"></tbody></table>
`;

function sortedPairs(record: Record<string, number>): Array<[string, number]> {
  return Object.entries(record).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

function reasonPairs(record: Record<string, number>): Array<[string, number]> {
  const sorted = sortedPairs(record);
  if (sorted.length <= MAX_REASONS) return sorted;
  const rest = sorted.slice(MAX_REASONS - 1).reduce((sum, [, count]) => sum + count, 0);
  return [...sorted.slice(0, MAX_REASONS - 1), [`(${sorted.length - MAX_REASONS + 1} other reasons)`, rest]];
}

/** The VirusTotal object id when it is not the observable's value (the script links by value otherwise). */
function linkId(observable: ObservableDigest): string | null {
  if (observable.type === 'url') return urlIdSha256(observable.value);
  if (isHashType(observable.type) && observable.sha256 !== '' && observable.sha256 !== observable.value) {
    return observable.sha256;
  }
  return null;
}

function finite(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** The report's data block: what client-script.ts reads. */
export function reportData(digest: RunDigest, run: RunInfo, minPositives: number): unknown {
  const types: string[] = [];
  const statuses: string[] = [];
  const index = (list: string[], map: Map<string, number>, value: string): number => {
    let at = map.get(value);
    if (at === undefined) {
      at = list.push(value) - 1;
      map.set(value, at);
    }
    return at;
  };
  const typeIndex = new Map<string, number>();
  const statusIndex = new Map<string, number>();
  let detected = 0;
  const rows = digest.observables.map((observable) => {
    const hit = isDetected(observable, minPositives);
    if (hit) detected++;
    const samples = (hit ? observable.samples : observable.samples.slice(0, 1)).map((sample) => [
      sample.sourceIndex,
      sample.field,
      hit || sample.text.length <= TABLE_SAMPLE_CHARS
        ? sample.text
        : `${sample.text.slice(0, TABLE_SAMPLE_CHARS - 1)}…`,
    ]);
    return [
      index(types, typeIndex, observable.type),
      observable.value,
      index(statuses, statusIndex, observable.status),
      observable.positives === '' ? null : observable.positives,
      observable.total === '' ? null : observable.total,
      SEVERITY_INDEX[observable.severity] ?? 0,
      observable.occurrences,
      linkId(observable),
      samples,
    ];
  });
  const quota = run.quota;
  return {
    source: run.source,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
    minPositives: Math.max(1, minPositives),
    accounting: digest.accounting,
    byStatus: sortedPairs(digest.byStatus),
    bySeverity: digest.bySeverity,
    rejectedByReason: reasonPairs(digest.rejectedByReason),
    cacheHits: digest.cacheHits,
    lookupsSent: digest.lookupsSent,
    detected,
    quota:
      quota === undefined
        ? null
        : {
            requests: quota.requests,
            dayUsed: quota.dayUsed,
            perDay: finite(quota.perDay),
            monthUsed: quota.monthUsed,
            perMonth: finite(quota.perMonth),
          },
    types,
    statuses,
    rows,
  };
}

/** JSON that is safe inside a `<script>` element: no `<` can start `</script>` or `<!--`. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replaceAll('<', '\\u003c');
}

function sha256Base64(text: string): string {
  return oneShotHash('sha256', text, 'base64');
}

/** The report of a run, as one HTML document. */
export function renderHtmlReport(digest: RunDigest, run: RunInfo, options: HtmlReportOptions = {}): string {
  const data = scriptSafeJson(reportData(digest, run, options.minPositives ?? 1));
  // Only this script and this style may run or apply; nothing may be fetched, framed or submitted.
  const policy = [
    "default-src 'none'",
    `script-src 'sha256-${sha256Base64(CLIENT_SCRIPT)}'`,
    `style-src 'sha256-${sha256Base64(STYLE)}'`,
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${policy}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<title>ioc-enrich report</title>',
    `<style>${STYLE}</style>`,
    '</head><body>',
    BODY,
    `<script type="application/json" id="report-data">${data}</script>`,
    `<script>${CLIENT_SCRIPT}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
