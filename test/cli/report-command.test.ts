import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MispEvent } from '../../src/export/misp.js';
import type { StixBundle } from '../../src/export/stix.js';
import { validateBundle } from '../export/stix-validator.js';
import { startFakeMisp, type FakeMisp } from '../support/fake-misp.js';
import { SIEM_ROWS } from '../support/enrich-results.js';
import { runMain } from '../support/run-main.js';

let dir: string;
let source: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ioc-report-cli-'));
  source = join(dir, 'firewall.csv');
  const columns = Object.keys(SIEM_ROWS[0]!);
  writeFileSync(
    source,
    `${[columns.join(','), ...SIEM_ROWS.map((row) => columns.map((column) => row[column]).join(','))].join('\n')}\n`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let misp: FakeMisp | undefined;
afterEach(async () => {
  await misp?.close();
  misp = undefined;
});

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const reportData = (path: string): { accounting: Record<string, number>; rows: unknown[] } => {
  const html = readFileSync(path, 'utf8');
  const data = /<script type="application\/json" id="report-data">([^]*?)<\/script>/.exec(html)![1]!;
  return JSON.parse(data) as { accounting: Record<string, number>; rows: unknown[] };
};
const indicatorNames = (bundle: StixBundle): string[] =>
  bundle.objects
    .filter((object) => object['type'] === 'indicator')
    .map((object) => String(object['name']))
    .sort();

describe('enrich --report --export', () => {
  let enriched: string;
  it('writes the report, the STIX bundle and the MISP event at the end of the run, and says so', async () => {
    enriched = join(dir, 'out.csv');
    const paths = { report: join(dir, 'run.html'), stix: join(dir, 'run.stix.json'), misp: join(dir, 'run.misp.json') };
    const result = await runMain([
      'enrich',
      '--emulator',
      source,
      '-o',
      enriched,
      '--report',
      paths.report,
      '--export',
      `stix=${paths.stix},misp=${paths.misp}`,
      '--tlp',
      'AMBER',
    ]);
    expect(result.code).toBe(0);
    const identity = /([\d,]+) occurrences = ([\d,]+) rejected/.exec(result.stderr)!;
    expect(reportData(paths.report).accounting).toMatchObject({
      occurrences: Number(identity[1]),
      rejected: Number(identity[2]),
    });
    const bundle = readJson<StixBundle>(paths.stix);
    expect(validateBundle(bundle)).toEqual([]);
    const event = readJson<MispEvent>(paths.misp);
    expect(event.Event.Tag[0]).toEqual({ name: 'tlp:amber' });
    const detections = /wrote the HTML report \((\d+) distinct observables, (\d+) detections\)/.exec(result.stderr);
    expect(Number(detections?.[2])).toBe(event.Event.Attribute.length);
    expect(result.stderr).toContain(`wrote the STIX 2.1 bundle (${indicatorNames(bundle).length} indicators`);
    expect(result.stderr).toContain(
      `wrote the MISP event (${event.Event.Attribute.length} attributes) to ${paths.misp}`,
    );
  });

  it.each(['csv', 'jsonl', 'json'] as const)(
    'report gives the same from the %s output as enrich gave at the end of the run',
    async (format) => {
      const output = join(dir, `out-${format}.${format}`);
      const first = { stix: join(dir, `a-${format}.json`), misp: join(dir, `a-${format}.misp.json`) };
      const run = await runMain([
        'enrich',
        '--emulator',
        source,
        '--format',
        format,
        '-o',
        output,
        '--export',
        `stix=${first.stix}`,
        '--export',
        `misp=${first.misp}`,
      ]);
      expect(run.code).toBe(0);
      const second = { stix: join(dir, `b-${format}.json`), misp: join(dir, `b-${format}.misp.json`) };
      const report = await runMain(['report', output, '--export', `stix=${second.stix},misp=${second.misp}`]);
      expect(report.code).toBe(0);
      expect(indicatorNames(readJson(second.stix))).toEqual(indicatorNames(readJson(first.stix)));
      const values = (path: string): string[] =>
        readJson<MispEvent>(path)
          .Event.Attribute.map((attribute) => `${attribute.type} ${attribute.value} ${attribute.comment}`)
          .sort();
      expect(values(second.misp)).toEqual(values(first.misp));
    },
  );

  it("reads the hits an analyst filtered and saved again in Windows PowerShell (Export-Csv's '#TYPE' line), and says so", async () => {
    // `Import-Csv out.csv | Where-Object { [int]$_.Positives -gt 0 } | Export-Csv hits.csv` in PowerShell 5.1: the
    // type line, every field quoted, CRLF.
    const rows = parse<Record<string, string>>(readFileSync(enriched, 'utf8'), { columns: true });
    const hits = rows.filter((row) => Number(row['Positives']) > 0);
    expect(hits.length).toBeGreaterThan(0);
    const quote = (value: string): string => `"${value.replaceAll('"', '""')}"`;
    const columns = Object.keys(rows[0]!);
    const resaved = join(dir, 'hits.csv');
    writeFileSync(
      resaved,
      [
        '#TYPE System.Management.Automation.PSCustomObject',
        columns.map(quote).join(','),
        ...hits.map((row) => columns.map((column) => quote(row[column] ?? '')).join(',')),
      ].join('\r\n') + '\r\n',
    );
    const misp = join(dir, 'hits.misp.json');
    const result = await runMain(['report', resaved, '--export', `misp=${misp}`]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      `ioc-enrich: ${resaved}: skipped PowerShell's '#TYPE …' line above the header (Export-Csv without -NoTypeInformation)`,
    );
    const values = (path: string): string[] =>
      readJson<MispEvent>(path)
        .Event.Attribute.map((attribute) => `${attribute.type} ${attribute.value}`)
        .sort();
    expect(values(misp)).toEqual(values(join(dir, 'run.misp.json')));
    const joined = await runMain(['join', '--results', resaved, source, '-o', join(dir, 'joined-hits.csv')]);
    expect(joined.code).toBe(0);
    expect(joined.stderr).toContain(`ioc-enrich: ${resaved}: skipped PowerShell's '#TYPE …' line`);
    expect(joined.stderr).toContain(`(${hits.length} result rows)`);
  });

  it('writes one export to stdout with -', async () => {
    const result = await runMain(['report', enriched, '--export', 'stix=-', '--tlp', 'red']);
    expect(result.code).toBe(0);
    const bundle = JSON.parse(result.stdout) as StixBundle;
    expect(validateBundle(bundle)).toEqual([]);
    expect(indicatorNames(bundle).length).toBeGreaterThan(0);
  });

  it('sends the event to MISP with the key from MISP_API_KEY, which is never printed', async () => {
    misp = await startFakeMisp();
    misp.reply = { status: 200, body: '{"Event":{"id":"77","uuid":"5f0c-…"}}' };
    const key = 'secret-misp-key-ABCDEF0123456789';
    const result = await runMain(['report', enriched, '--misp-url', misp.url, '--min-positives', '5'], {
      env: { MISP_API_KEY: key },
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('sent the MISP event');
    expect(result.stderr).toContain('event 77');
    expect(`${result.stdout}${result.stderr}`).not.toContain(key);
    expect(misp.requests).toHaveLength(1);
    expect(misp.requests[0]?.headers['authorization']).toBe(key);
    const sent = JSON.parse(misp.requests[0]!.body) as MispEvent;
    expect(sent.Event.Attribute.length).toBeGreaterThan(0);
    expect(sent.Event.Attribute.every((attribute) => /VirusTotal: ([5-9]|\d\d)\//.test(attribute.comment))).toBe(true);
  });

  it('fails with exit 1 and one line, without the key, when MISP refuses', async () => {
    misp = await startFakeMisp();
    const key = 'another-secret-key-0000';
    misp.reply = { status: 500, body: `{"message":"database down for ${key}"}` };
    const result = await runMain(['report', enriched, '--misp-url', misp.url], { env: { MISP_API_KEY: key } });
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(
      /^ioc-enrich: MISP http:\/\/127\.0\.0\.1:\d+ refused the event: HTTP 500 database down for \[redacted\]$/,
    );
    expect(result.stderr).not.toContain(key);
  });

  it('says "no detections" in the report and on stderr, and writes an empty bundle and event', async () => {
    const clean = join(dir, 'clean.csv');
    writeFileSync(clean, 'host,url\n10.0.0.1,https://www.example.org/\n');
    const paths = {
      report: join(dir, 'clean.html'),
      stix: join(dir, 'clean.json'),
      misp: join(dir, 'clean.misp.json'),
    };
    const result = await runMain([
      'enrich',
      '--emulator',
      clean,
      '-o',
      join(dir, 'clean-out.csv'),
      '--report',
      paths.report,
      '--export',
      `stix=${paths.stix},misp=${paths.misp}`,
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('no detections (Positives >= 1)');
    expect(readFileSync(paths.report, 'utf8')).toContain('No detections');
    expect(readJson<StixBundle>(paths.stix).objects.map((object) => object['type'])).toEqual(['identity']);
    expect(readJson<MispEvent>(paths.misp).Event.Attribute).toEqual([]);
  });
});

describe('report and enrich option errors', () => {
  it.each([
    [['report', 'x.csv']],
    [['report', '--report', 'r.html']],
    [['report', 'x.csv', '--report', 'r.html', '--tlp', 'white']],
    [['report', 'x.csv', '--export', 'stix2=a.json']],
    [['report', 'x.csv', '--export', 'stix=a.json,stix=b.json']],
    [['report', 'x.csv', '--report', 'r.html', '--min-positives', '0']],
    [['report', 'x.csv', '--report', 'r.html', '--valid-for', '30']],
    [['report', 'x.csv', '--misp-url', 'http://127.0.0.1:1']],
    [['report', 'x.csv', '--misp-url', 'ftp://misp.example.org', '--report', 'r.html']],
    [['report', 'x.csv', '--report', 'r.html', '--run-time', 'yesterday']],
    [['enrich', '--emulator', '--dry-run', 'x.csv', '--report', 'r.html']],
    [['enrich', '--emulator', 'x.csv', '--report', '-']],
    [['report', 'x.csv', '--report', '-', '--export', 'stix=-']],
  ])('%j is a usage error: exit 2, one line', async (args) => {
    const result = await runMain(args, { env: args.includes('ftp://misp.example.org') ? { MISP_API_KEY: 'k' } : {} });
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('fails with exit 1 and one line naming the file for a results file that is not an enrich output', async () => {
    const other = join(dir, 'other.csv');
    writeFileSync(other, 'a,b\n1,2\n');
    const report = join(dir, 'never.html');
    const result = await runMain(['report', other, '--report', report]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `ioc-enrich: ${other}:1: not an enrich output: no Observable, IoCType, Status, Positives, Severity, SourceIndex column\n`,
    );
    expect(existsSync(report)).toBe(false);
    expect(readdirSync(dir).some((name) => name.startsWith('never'))).toBe(false);
  });
});
