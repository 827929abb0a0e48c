// Extraction throughput: extractCandidates over a generated ~60 MB text corpus, line by line as the pipeline calls
// it, then the whole per-record stage (OccurrenceBuilder), then hostile 1 MB lines that must stay linear (≥ 5 MiB/s). Imports the built code: run
// `npx tsc -p tsconfig.build.json` first (npm run bench does).
import { extractCandidates } from '../dist/extract/index.js';
import { OccurrenceBuilder } from '../dist/occurrences.js';
import { generateCorpus } from './corpus-generator.mjs';

const MIB = 1024 * 1024;

function mibPerSecond(bytes, nanoseconds) {
  return bytes / MIB / (Number(nanoseconds) / 1e9);
}

function format(value) {
  return value.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

/** Wall time and CPU time (user + system) of fn over the lines: on a shared machine the CPU figure is the stable one. */
function timeLines(lines, fn) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  let found = 0;
  for (const line of lines) found += fn(line);
  const used = process.cpuUsage(cpu);
  return { elapsed: process.hrtime.bigint() - start, cpu: BigInt(used.user + used.system) * 1000n, found };
}

function rates(bytes, timing) {
  return `${format(mibPerSecond(bytes, timing.elapsed))} MiB/s wall, ${format(mibPerSecond(bytes, timing.cpu))} MiB/s CPU`;
}

export default async function run() {
  const { text } = generateCorpus({ seed: 42, lines: 360_000, format: 'text' });
  const lines = text.split('\n');
  const bytes = Buffer.byteLength(text);
  // One warm-up pass over a slice so the JIT has settled before timing.
  timeLines(lines.slice(0, 20_000), (line) => extractCandidates(line).length);

  const extract = timeLines(lines, (line) => extractCandidates(line).length);
  console.log(
    `extractCandidates: ${rates(bytes, extract)} over ${format(bytes / MIB)} MiB of generated logs and prose (${lines.length.toLocaleString('en-US')} lines, ${extract.found.toLocaleString('en-US')} candidates)`,
  );
  // The whole per-record stage the pipeline runs: extract, screen (memoised per value), dedup.
  const builder = new OccurrenceBuilder();
  let recordNumber = 0;
  const built = timeLines(lines, (line) => {
    const record = { recordNumber, sourceIndex: String(recordNumber), fields: [{ name: '', value: line }] };
    recordNumber += 1;
    return builder.fromRecord(record).length;
  });
  console.log(
    `OccurrenceBuilder.fromRecord (extract + screen + dedup): ${rates(bytes, built)} (${built.found.toLocaleString('en-US')} occurrences, ${builder.distinct().toLocaleString('en-US')} distinct)`,
  );

  const hostile = {
    'a.a.a.…': 'a.'.repeat(512 * 1024),
    '1.1.1.1.…': '1.'.repeat(512 * 1024),
    'hex run': '0123456789abcdef'.repeat(64 * 1024),
    '1:1:1:…': '1:'.repeat(512 * 1024),
    '[.][.]…': 'a[.]'.repeat(256 * 1024),
    'http://http://…': 'http://'.repeat(150 * 1024),
    'one long word': 'x'.repeat(1024 * 1024),
    'many URLs on one line': 'http://a.com/x '.repeat(70 * 1024),
    'many defanged URLs': 'hxxp://a[.]com/x '.repeat(60 * 1024),
    '((((…))))': `http://a.com/${'('.repeat(512 * 1024)}${')'.repeat(512 * 1024)}`,
  };
  for (const [name, line] of Object.entries(hostile)) {
    const lineBytes = Buffer.byteLength(line);
    const total = { elapsed: 0n, cpu: 0n };
    let rounds = 0;
    // Repeat until a measurable time has passed.
    while (total.elapsed < 200_000_000n && rounds < 50) {
      const timing = timeLines([line], (value) => extractCandidates(value).length);
      total.elapsed += timing.elapsed;
      total.cpu += timing.cpu;
      rounds += 1;
    }
    console.log(`hostile ${name}: ${rates(lineBytes * rounds, total)} (${format(lineBytes / MIB)} MiB line)`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
