/**
 * Enrich results for the report and export tests, made the way users get them: the real pipeline against the
 * emulator (a real HTTP server on 127.0.0.1), written by the real row writer in CSV, JSON lines or JSON.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { startEmulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { createRowWriter, type OutputFormat } from '../../src/io/writers.js';
import { enrich, type EnrichSummary } from '../../src/pipeline.js';
import { ENRICH_COLUMNS, type EnrichedRow, type SourceRecord, type TypedRecord } from '../../src/types.js';
import type { LookupOptions } from '../../src/vt/lookup-stage.js';
import { virtualClock } from './virtual-clock.js';

/** A SIEM export's rows as the CSV reader gives them: named columns. */
export function siemRecords(rows: ReadonlyArray<Record<string, string>>): SourceRecord[] {
  return rows.map((row, index) => ({
    recordNumber: index,
    sourceIndex: String(index),
    fields: Object.entries(row).map(([name, value]) => ({ name, value })),
  }));
}

/** Pre-typed records (msticpy's lookup_iocs table). */
export function typedRecords(values: ReadonlyArray<readonly [string, string]>, first = 0): TypedRecord[] {
  return values.map(([observable, type], index) => ({
    recordNumber: first + index,
    sourceIndex: String(first + index),
    observable,
    type,
    field: 'Observable',
  }));
}

/** A firewall/proxy export with the fixtures' named objects: detections of every type, clean and unknown ones. */
export const SIEM_ROWS: ReadonlyArray<Record<string, string>> = [
  {
    TimeGenerated: '2026-11-30T08:01:12Z',
    SourceIp: '10.20.4.17',
    DestinationIp: '45.33.100.66',
    Message: 'allowed tcp/443',
  },
  {
    TimeGenerated: '2026-11-30T08:02:40Z',
    SourceIp: '10.20.4.18',
    DestinationIp: '45.33.18.44',
    Message: 'GET http://malware.example.com/payload.exe',
  },
  {
    TimeGenerated: '2026-11-30T08:03:05Z',
    SourceIp: '10.20.4.17',
    DestinationIp: '45.33.100.66',
    Message: 'dns query malware[.]example[.]com',
  },
  {
    TimeGenerated: '2026-11-30T08:04:51Z',
    SourceIp: '10.20.4.19',
    DestinationIp: '45.33.32.156',
    Message: 'file e85bcfce6f59e0c96ea44b4c59d00ea1 quarantined',
  },
  {
    TimeGenerated: '2026-11-30T08:05:09Z',
    SourceIp: '10.20.4.19',
    DestinationIp: '2600:3c01::f03c:91ff:fe18:bb2f',
    Message: 'sha256 339c2570f5872b6c6755c6c3867413f64be48b09d3393f882d0f6eaa6a2e6306',
  },
  {
    TimeGenerated: '2026-11-30T08:06:33Z',
    SourceIp: '10.20.4.20',
    DestinationIp: '45.33.0.99',
    Message: 'hxxp://login[.]example[.]net/verify?account=1 clicked',
  },
  {
    TimeGenerated: '2026-11-30T08:07:02Z',
    SourceIp: '10.20.4.21',
    DestinationIp: '45.33.100.66',
    Message: 'unknown.example.com https://www.example.org/',
  },
  {
    TimeGenerated: '2026-11-30T08:08:44Z',
    SourceIp: '10.20.4.22',
    DestinationIp: '192.168.1.1',
    Message: 'md5 0e987d4f07e69050bf190918f0a0200f 9383f2903a6ef420e05b9d7dfa22fa19',
  },
];

/** What a run gave. */
export interface EnrichRun {
  readonly rows: EnrichedRow[];
  readonly summary: EnrichSummary;
}

/** Runs the pipeline over `records` against a fresh emulator. */
export async function enrichAgainstEmulator(
  records: ReadonlyArray<SourceRecord | TypedRecord>,
  lookup: Partial<LookupOptions> = {},
  emulatorOptions: EmulatorOptions = {},
): Promise<EnrichRun> {
  const clock = virtualClock();
  const emulator = await startEmulator({ now: () => clock.now(), ...emulatorOptions });
  try {
    const rows: EnrichedRow[] = [];
    const summary = await enrich(
      records,
      { lookup: { baseUrl: emulator.url, apiKey: 'test-key', tier: 'premium', clock, ...lookup } },
      (row) => {
        rows.push(row);
      },
    );
    return { rows, summary };
  } finally {
    await emulator.close();
  }
}

/** Writes `rows` to `path` with the enrich output writer. */
export async function writeRows(rows: readonly EnrichedRow[], format: OutputFormat, path: string): Promise<string> {
  const stream = createWriteStream(path);
  const writer = createRowWriter(ENRICH_COLUMNS, format, stream);
  for (const row of rows) await writer.write(row);
  await writer.end();
  stream.end();
  await once(stream, 'finish');
  return path;
}
