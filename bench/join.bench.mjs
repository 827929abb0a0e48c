// Join throughput: a generated 200 MB CSV source (quoted fields, embedded commas and line breaks, CRLF) joined
// with an enrich output that has results for one row in ten. Prints MiB of source per second (target >= 30).
// Files go to os.tmpdir() and are deleted afterwards.
import { mkdtempSync, rmSync, statSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { joinResults } from '../dist/join/index.js';

const SOURCE_BYTES = 200 * 1024 * 1024;
const RESULT_EVERY = 10;

/** Writes the source and the results; returns the number of data rows. */
async function generate(sourcePath, resultsPath, format) {
  const source = createWriteStream(sourcePath);
  const results = createWriteStream(resultsPath);
  results.write('Observable,IoCType,Status,ResponseCode,SourceIndex,Positives,Severity\n');
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
        lines.push(`2026-01-01T00:00:${String(row % 60).padStart(2, '0')}Z,host-${row % 97},user${row % 13},${message},${ip},http://evil-${row % 1000}.example.com/p?q=${row}\r\n`);
      } else {
        lines.push(`${JSON.stringify({ time: '2026-01-01T00:00:00Z', host: `host-${row % 97}`, message: `connection from ${ip} accepted`, url: `http://evil-${row % 1000}.example.com/p?q=${row}` })}\n`);
      }
      if (row % RESULT_EVERY === 0) {
        found.push(`${ip},ipv4,Success,1,${row},${row % 3},${['information', 'warning', 'high'][row % 3]}\n`);
        found.push(`evil-${row % 1000}.example.com,dns,Success,1,${row},${row % 5},high\n`);
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

async function measure(dir, format, bytes) {
  const sourcePath = join(dir, `source.${format}`);
  const resultsPath = join(dir, 'results.csv');
  const outputPath = join(dir, `joined.${format}`);
  const rows = await generate(sourcePath, resultsPath, format, bytes);
  const size = statSync(sourcePath).size;
  const started = process.hrtime.bigint();
  const stats = await joinResults({ source: sourcePath, results: resultsPath, output: outputPath });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const mib = size / 1024 / 1024;
  if (stats.sourceRows !== rows || stats.matchedRows !== Math.ceil(rows / RESULT_EVERY)) {
    throw new Error(`join miscounted: ${JSON.stringify(stats)} for ${rows} rows`);
  }
  console.log(
    `join ${format}: ${(mib / seconds).toFixed(1)} MiB/s (${mib.toFixed(0)} MiB source, ${rows.toLocaleString('en-US')} rows, ` +
      `${stats.resultRows.toLocaleString('en-US')} result rows, ${seconds.toFixed(2)} s end to end incl. reading the results; target >= 30)`,
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
