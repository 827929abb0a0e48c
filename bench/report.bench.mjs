// Report and exports: an enrich output of 1,000,000 occurrences of 100,000 distinct observables (a third of them
// detected), read back and turned into the HTML report, the STIX 2.1 bundle and the MISP event. Prints the time
// of `ioc-enrich report … --report … --export stix=…,misp=…` end to end (target < 5 s) with its peak RSS, the
// size of each file (report target < 25 MB), and where the time goes (in-process). Files go to os.tmpdir().
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, createWriteStream, fsyncSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRowWriter } from '../dist/io/writers.js';
import { readDigest } from '../dist/report/digest.js';
import { renderHtmlReport } from '../dist/report/html.js';
import { stixBundleJson } from '../dist/export/stix.js';
import { mispEvent, mispEventJson } from '../dist/export/misp.js';
import { ENRICH_COLUMNS } from '../dist/types.js';
import { CPU_PRELOAD } from './pipeline.bench.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'dist', 'cli', 'main.js');
const DISTINCT = 100_000;
const PER_OBSERVABLE = 10;
/** Runs of the command (see main). */
const RUNS = 3;
const MiB = 1024 * 1024;
const number = (value, digits = 0) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function observable(index) {
  switch (index % 5) {
    case 0:
      return ['ipv4', `45.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`];
    case 1:
      return ['dns', `host-${index}.example-${index % 97}.com`];
    case 2:
      return ['url', `http://cdn-${index}.example.net/download/${index.toString(36)}/payload.bin?id=${index}`];
    case 3:
      return ['md5_hash', (index * 2654435761).toString(16).padStart(32, 'a').slice(-32)];
    default:
      return ['sha256_hash', index.toString(16).padStart(64, 'b')];
  }
}

/** The enrich output, in input order: each observable's first row is its lookup, the later ones Duplicates. */
export async function writeResults(path) {
  const stream = createWriteStream(path);
  const writer = createRowWriter(ENRICH_COLUMNS, 'csv', stream);
  let row = 0;
  for (let round = 0; round < PER_OBSERVABLE; round++) {
    for (let index = 0; index < DISTINCT; index++) {
      const [type, value] = observable(index);
      const positives = index % 3 === 0 ? (index % 7) + 1 : 0;
      const file = type.endsWith('_hash');
      const pending = writer.write({
        Observable: value,
        IoCType: type,
        Status: round === 0 ? 'Success' : 'Duplicate',
        ResponseCode: 1,
        Resource: value,
        SourceIndex: String(row),
        VerboseMsg: 'Found in VirusTotal',
        ScanId: `${value}-1767225600`,
        Permalink: '',
        Positives: positives,
        MD5: file ? (type === 'md5_hash' ? value : '') : '',
        SHA256: type === 'sha256_hash' ? value : '',
        Suspicious: 0,
        Total: 70,
        Severity: positives > 1 ? 'high' : positives === 1 ? 'warning' : 'information',
        Reputation: -positives,
        LastAnalysisDate: '2026-01-01T00:00:00Z',
        CacheHit: false,
        FetchedAt: '2026-01-02T03:04:05.000Z',
        SourceField: 'message',
        SourceText: type === 'url' ? value.replace('http', 'hxxp').replaceAll('.', '[.]') : value,
      });
      if (pending !== undefined) await pending;
      row++;
    }
  }
  await writer.end();
  stream.end();
  await once(stream, 'finish');
  // On disk before anything is timed: otherwise the kernel writes the 315 MiB back during the first timed run
  // (measured: 5.0 s for that run against 4.5 s for the next two).
  const handle = openSync(path, 'r+');
  try {
    fsyncSync(handle);
  } finally {
    closeSync(handle);
  }
}

function run(args) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(
      process.execPath,
      ['--require', join(here, 'report-rss.cjs'), '--import', CPU_PRELOAD, cli, ...args],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (data) => {
      stderr += data.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
  });
}

async function timed(label, work) {
  const started = process.hrtime.bigint();
  const value = await work();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { label, value, ms };
}

export default async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'ioc-report-bench-'));
  try {
    const results = join(dir, 'results.csv');
    await writeResults(results);
    const files = { report: join(dir, 'run.html'), stix: join(dir, 'run.stix.json'), misp: join(dir, 'run.misp.json') };
    // Design decision: the command runs RUNS times and the target is judged on the median. On this project's shared
    // VM one run of the same work varies by a third from minute to minute; a single run says little either way.
    // This process made a million rows: its collector would otherwise work through the first timed run, on one of
    // the two CPUs the command has (npm run bench runs node --expose-gc).
    globalThis.gc?.();
    const runs = [];
    for (let attempt = 0; attempt < RUNS; attempt++) {
      const cliRun = await run([
        'report',
        results,
        '--report',
        files.report,
        '--export',
        `stix=${files.stix},misp=${files.misp}`,
      ]);
      if (cliRun.code !== 0) throw new Error(`report exited ${cliRun.code}: ${cliRun.stderr.trim()}`);
      runs.push({
        seconds: cliRun.seconds,
        cpu: Number(/CPU_US (\d+)/.exec(cliRun.stderr)?.[1] ?? 0) / 1e6,
        rss: Number(/MAXRSS (\d+)/.exec(cliRun.stderr)?.[1] ?? 0) / 1024,
      });
    }
    const load = loadavg()[0];
    const median = [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(RUNS / 2)];
    const size = (path) => statSync(path).size / MiB;
    console.log(
      `report, ${number(DISTINCT)} distinct / ${number(DISTINCT * PER_OBSERVABLE)} occurrences (${number(size(results), 1)} MiB CSV), ` +
        `HTML + STIX + MISP: median of ${RUNS} runs ${number(median.seconds, 2)} s end to end (target < 5 s; ${number(median.cpu, 2)} s of CPU), ` +
        `peak RSS ${number(Math.max(...runs.map((one) => one.rss)))} MB (load average ${number(load, 1)} on ${cpus().length} CPUs)`,
    );
    console.log(
      `  each run: ${runs.map((one) => `${number(one.seconds, 2)} s (${number(one.cpu, 2)} s CPU)`).join(', ')}`,
    );
    console.log(
      `  sizes: HTML report ${number(size(files.report), 1)} MiB (target < 25 MB), STIX bundle ${number(size(files.stix), 1)} MiB, ` +
        `MISP event ${number(size(files.misp), 1)} MiB`,
    );
    // Where the time goes, in this process.
    const run0 = new Date('2026-01-02T03:04:05Z');
    const info = { source: 'results.csv', startedAt: run0, finishedAt: run0 };
    const read = await timed('read 1,000,000 rows into the digest', () => readDigest(results));
    const digest = read.value;
    const steps = [
      read,
      await timed('HTML report', () => renderHtmlReport(digest, info)),
      await timed('STIX bundle (built and serialised)', () => [...stixBundleJson(digest, { run: info })].length),
      await timed('MISP event (built and serialised)', () => mispEventJson(mispEvent(digest, { run: info }))),
    ];
    for (const step of steps) console.log(`  ${step.label}: ${number(step.ms)} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
