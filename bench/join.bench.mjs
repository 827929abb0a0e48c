// Join throughput: a generated 200 MB CSV source (quoted fields, embedded commas and line breaks, CRLF) joined
// with an enrich output that has results for one row in ten. Prints MiB of source per second (target >= 30).
// Files go to os.tmpdir() and are deleted afterwards.
import { mkdtempSync, rmSync, statSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { joinResults } from '../dist/join/index.js';
import { readResultsIndex } from '../dist/join/results-index.js';
import { ENRICH_COLUMNS } from '../dist/types.js';

const SOURCE_BYTES = 200 * 1024 * 1024;
const RESULT_EVERY = 10;

// Every column enrich writes (the project's own list), so that reading the results costs what it costs on a real
// enrich output.
const RESULT_COLUMNS = ENRICH_COLUMNS;

function resultRow(observable, type, row, positives, field) {
  const kind = type === 'ipv4' ? 'ip-address' : 'domain';
  const severity = positives > 1 ? 'high' : positives === 1 ? 'warning' : 'information';
  return (
    [
      observable,
      type,
      'Success',
      1,
      '',
      observable,
      row,
      '',
      `${observable}-1767225600`,
      `https://www.virustotal.com/gui/${kind}/${observable}`,
      positives,
      '',
      '',
      '',
      '',
      type === 'dns' ? '203.0.113.7' : '',
      '',
      0,
      88,
      severity,
      -positives,
      '2026-01-01T00:00:00Z',
      '',
      'false',
      '2026-01-02T03:04:05.000Z',
      field,
      observable,
      // The columns after SourceText (context, Submitted, Note) are empty, as in a run without those options.
      ...Array(RESULT_COLUMNS.length - 27).fill(''),
    ].join(',') + '\n'
  );
}

/** Writes the source and the results; returns the number of data rows. */
async function generate(sourcePath, resultsPath, format) {
  const source = createWriteStream(sourcePath);
  const results = createWriteStream(resultsPath);
  results.write(`${RESULT_COLUMNS.join(',')}\n`);
  source.write(format === 'csv' ? 'time,host,user,message,src_ip,url\r\n' : '');
  let row = 0;
  let written = 0;
  while (written < SOURCE_BYTES) {
    const lines = [];
    const found = [];
    for (let index = 0; index < 2000; index++, row++) {
      const ip = `203.${(row >> 16) & 255}.${(row >> 8) & 255}.${row & 255}`;
      if (format === 'csv') {
        const message =
          row % 7 === 0
            ? `"login failed, user said ""hello""\r\nsecond line ${row}"`
            : `connection from ${ip} to evil-${row % 1000}.example.com accepted`;
        lines.push(
          `2026-01-01T00:00:${String(row % 60).padStart(2, '0')}Z,host-${row % 97},user${row % 13},${message},${ip},http://evil-${row % 1000}.example.com/p?q=${row}\r\n`,
        );
      } else {
        lines.push(
          `${JSON.stringify({ time: '2026-01-01T00:00:00Z', host: `host-${row % 97}`, message: `connection from ${ip} accepted`, url: `http://evil-${row % 1000}.example.com/p?q=${row}` })}\n`,
        );
      }
      if (row % RESULT_EVERY === 0) {
        found.push(resultRow(ip, 'ipv4', row, row % 3, 'src_ip'));
        found.push(resultRow(`evil-${row % 1000}.example.com`, 'dns', row, row % 5, 'message'));
      }
    }
    const chunk = lines.join('');
    written += Buffer.byteLength(chunk);
    if (!source.write(chunk)) await once(source, 'drain');
    if (!results.write(found.join(''))) await once(results, 'drain');
  }
  source.end();
  results.end();
  await Promise.all([once(source, 'close'), once(results, 'close')]);
  return row;
}

async function measure(dir, format) {
  const sourcePath = join(dir, `source.${format}`);
  const resultsPath = join(dir, 'results.csv');
  const outputPath = join(dir, `joined.${format}`);
  const rows = await generate(sourcePath, resultsPath, format);
  const size = statSync(sourcePath).size;
  const resultsSize = statSync(resultsPath).size;
  const indexStarted = process.hrtime.bigint();
  await readResultsIndex(resultsPath);
  const indexSeconds = Number(process.hrtime.bigint() - indexStarted) / 1e9;
  const started = process.hrtime.bigint();
  const stats = await joinResults({ source: sourcePath, results: resultsPath, output: outputPath });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const mib = size / 1024 / 1024;
  if (stats.sourceRows !== rows || stats.matchedRows !== Math.ceil(rows / RESULT_EVERY)) {
    throw new Error(`join miscounted: ${JSON.stringify(stats)} for ${rows} rows`);
  }
  console.log(
    `join ${format}: ${(mib / seconds).toFixed(1)} MiB/s of source end to end (target >= 30; ${mib.toFixed(0)} MiB, ` +
      `${rows.toLocaleString('en-US')} rows, ${seconds.toFixed(1)} s, of which ~${indexSeconds.toFixed(1)} s indexing ` +
      `${stats.resultRows.toLocaleString('en-US')} result rows (${(resultsSize / 1048576).toFixed(0)} MiB); ` +
      `streaming alone ${(mib / Math.max(0.001, seconds - indexSeconds)).toFixed(0)} MiB/s; load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs)`,
  );
  rmSync(sourcePath);
  rmSync(outputPath);
}

export default async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'ioc-join-bench-'));
  try {
    await measure(dir, 'csv');
    await measure(dir, 'jsonl');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
