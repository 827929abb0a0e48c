// The whole `ioc-enrich enrich` command, as a user runs it: 1,000,000 occurrences of 100,000 distinct
// observables, premium pacing with --concurrency 32, against an unthrottled emulator in its own process (as
// VirusTotal does not share our CPU). Prints the end-to-end lookups per second and the CLI's peak RSS
// (target: at most 150 MB, issue 12; 300 MB before), and checks that every occurrence got a row; then the same run with the cache on.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'dist', 'cli', 'main.js');
const number = (value, digits = 0) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const OCCURRENCES = 1_000_000;
const DISTINCT = 100_000;

// A mix of types, each observable repeated ten times across the file, in a scattered order.
export function observable(index) {
  switch (index % 4) {
    case 0:
      return `5.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255 || 1}`;
    case 1:
      return `host-${index}.bench-${index % 97}.example.com`;
    case 2:
      return `https://bench-${index % 89}.example.net/path/${index}?q=${index * 7}`;
    default: {
      let hash = '';
      let state = (index * 2654435761) >>> 0;
      while (hash.length < 64) {
        state = (Math.imul(state ^ (state >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
        hash += state.toString(16).padStart(8, '0');
      }
      return hash;
    }
  }
}

export async function writeInput(path) {
  const out = createWriteStream(path);
  let chunk = '';
  for (let line = 0; line < OCCURRENCES; line++) {
    const index = (line * 7919) % DISTINCT;
    chunk += `2026-11-21T22:01:07Z host=wks-${line % 500} action=allow ioc=${observable(index)} bytes=${line % 9000}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

/** The bundled emulator in a process of its own (`--unlimited` unless `args` say otherwise), on a free port. */
export function startEmulatorProcess(args = ['--unlimited']) {
  const child = spawn(process.execPath, [cli, 'emulator', ...args, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (data) => {
      text += data.toString();
      const match = /^(http:\/\/\S+)/m.exec(text);
      if (match) resolve({ url: match[1], stop: () => child.kill('SIGTERM') });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`the emulator exited (${code})`)));
  });
}

function runCli(args) {
  return new Promise((resolve, reject) => {
    // maxRSS of the child itself, reported by a preload at exit.
    const child = spawn(process.execPath, ['--require', join(here, 'report-rss.cjs'), cli, ...args], {
      env: { ...process.env, VT_API_KEY: 'bench-key' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (data) => {
      stderr += data.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

async function emulatorRequests(url) {
  const response = await fetch(`${url}/__emulator/stats`);
  return (await response.json()).requests;
}

// Issue 5: a nightly job run twice over the same export: the second run must make no request at all.
/**
 * Issue 13 §5: a premium run with the cache on (cold: every reply is stored), target >= 3,000 lookups/s end to
 * end. Measured on two inputs: the bench's 1,000,000 occurrences (ten rows written per lookup, so extraction
 * and the output weigh as much as the lookups), and 100,000 distinct observables once each, where every row
 * is a lookup and "lookups/s end to end" means just that; the latter without the cache too, for the cost.
 */
async function withCache(work, url, input, distinctInput) {
  const runs = [
    ['1,000,000 occurrences of 100,000 distinct', input, ['--cache', join(work, 'cold-cache.db')]],
    ['100,000 distinct once each', distinctInput, ['--cache', join(work, 'cold-distinct.db')]],
    ['100,000 distinct once each, no cache', distinctInput, ['--no-cache']],
  ];
  for (const [label, path, cache] of runs) {
    const { seconds, rss } = await timedEnrich(url, path, join(work, 'cached-out.csv'), cache);
    const what =
      cache[0] === '--no-cache' ? 'without the cache' : 'with the cache on (cold SQLite file, every reply stored)';
    console.log(
      `enrich end to end ${what}, ${label}: ${number(DISTINCT / seconds)} lookups/s (${number(seconds, 1)} s${cache[0] === '--no-cache' ? '' : '; target >= 3,000'}), peak RSS ${number(rss)} MB`,
    );
  }
}

/** 100,000 distinct observables, one line each: every occurrence is a lookup. */
async function writeDistinctInput(path) {
  const out = createWriteStream(path);
  for (let index = 0; index < DISTINCT; index++) {
    if (!out.write(`2026-11-21T22:01:07Z host=wks-${index % 500} action=allow ioc=${observable(index)}\n`)) {
      await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
}

export async function warmRerun(work, url) {
  const input = join(work, 'warm.log');
  const out = createWriteStream(input);
  for (let line = 0; line < 20_000; line++) out.write(`seen ${observable(line % 5_000)} again\n`);
  out.end();
  await once(out, 'finish');
  const args = enrichArgs(url, ['--cache', join(work, 'warm-cache.db')], input, join(work, 'warm-out.csv'));
  const before = await emulatorRequests(url);
  const cold = await runCli(args);
  const middle = await emulatorRequests(url);
  const started = process.hrtime.bigint();
  const warm = await runCli(args);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const after = await emulatorRequests(url);
  if (cold.code !== 0 || warm.code !== 0) throw new Error(`warm rerun: exit codes ${cold.code}, ${warm.code}`);
  console.log(
    `warm rerun: ${number(after - middle)} requests (target 0) for 5,000 distinct observables answered from the cache in ${number(seconds, 2)} s; the cold run made ${number(middle - before)}`,
  );
}

/** The arguments of one premium `enrich` of a text input (--concurrency 32, unthrottled), with `options`. */
function enrichArgs(url, options, input, output) {
  return [
    'enrich',
    '--vt-url',
    url,
    '--tier',
    'premium',
    '--rate',
    '10000000',
    '--concurrency',
    '32',
    '--log-level',
    'warn',
    ...options,
    '--input-format',
    'text',
    input,
    '-o',
    output,
  ];
}

/** One premium `enrich` of `input` with `options` (a cache option among them: `--no-cache` or `--cache FILE`); timed. */
async function timedEnrich(url, input, output, options) {
  const started = process.hrtime.bigint();
  const { code, stderr } = await runCli(enrichArgs(url, options, input, output));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`enrich exited ${code}: ${stderr.split('\n').slice(-5).join(' | ')}`);
  const rss = Number(/MAXRSS (\d+)/.exec(stderr)?.[1] ?? 0) / 1024;
  const identity = /(\S+) occurrences = .*/.exec(stderr)?.[0] ?? '(no summary)';
  return { seconds, rss, identity, stderr };
}

export default async function run() {
  const work = mkdtempSync(join(tmpdir(), 'ioc-enrich-bench-'));
  const emulator = await startEmulatorProcess();
  try {
    const input = join(work, 'input.log');
    await writeInput(input);
    const output = join(work, 'out.csv');
    const plain = await timedEnrich(emulator.url, input, output, ['--no-cache']);
    console.log(
      `enrich end to end: ${number(OCCURRENCES)} occurrences of ${number(DISTINCT)} distinct in ${number(plain.seconds, 1)} s = ${number(DISTINCT / plain.seconds)} lookups/s (premium, --concurrency 32, unthrottled emulator in its own process)`,
    );
    console.log(
      `enrich peak RSS: ${number(plain.rss)} MB for ${number(OCCURRENCES)} occurrences of ${number(DISTINCT)} distinct (target <= 150 MB); output ${number(statSync(output).size / 2 ** 20, 1)} MiB`,
    );
    console.log(`enrich accounting: ${plain.identity}`);
    // Issue 13: the same run with --context: every hit (Positives >= 1) costs one more request.
    const context = await timedEnrich(emulator.url, input, output, ['--no-cache', '--context']);
    const contextRequests = /context requests\s+([\d,]+)/.exec(context.stderr)?.[1] ?? '?';
    console.log(
      `enrich end to end with --context: ${number(DISTINCT / context.seconds)} lookups/s (${number(context.seconds, 1)} s, ${contextRequests} context requests for the hits), peak RSS ${number(context.rss)} MB`,
    );
    const distinctInput = join(work, 'distinct.log');
    await writeDistinctInput(distinctInput);
    await withCache(work, emulator.url, input, distinctInput);
    await warmRerun(work, emulator.url);
  } finally {
    emulator.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
