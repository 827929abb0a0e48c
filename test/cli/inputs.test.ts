/**
 * Issue 11 end to end: the exports analysts really have (compressed, encoded, delimited, nested), built here the way
 * the tools write them, through the built CLI (`extract`, and `enrich --emulator`), asserting the exact observables,
 * SourceIndex and SourceField that come out.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli, type CliResult } from '../support/spawn-cli.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ioc-inputs-'));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function run(args: string[], input?: Buffer): Promise<CliResult> {
  return spawnCli(args, { cwd: work, env: { XDG_CACHE_HOME: join(work, 'cache') }, input: input ?? Buffer.alloc(0) });
}

function write(name: string, content: string | Buffer): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

/** A zip archive as `zip` and Windows write it: deflated members, local headers, a central directory. */
function zip(members: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(members)) {
    const data = Buffer.from(text);
    const packed = deflateRawSync(data);
    const nameBytes = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, packed);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(members).length, 8);
  end.writeUInt16LE(Object.keys(members).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** The extract rows as `Observable SourceIndex SourceField` strings, in output order. */
async function extracted(args: string[], input?: Buffer): Promise<{ rows: string[]; result: CliResult }> {
  const result = await run(['extract', ...args], input);
  expect(result.stderr, result.stderr).not.toContain('unexpected failure');
  expect(result.code, result.stderr).toBe(0);
  const records = parse<Record<string, string>>(result.stdout, { columns: true });
  return {
    rows: records.map((row) => `${row['Observable']} ${row['SourceIndex']} ${row['SourceField']}`),
    result,
  };
}

const SOC_CSV = 'Host,Message\r\nwww.evil-site.com,beacon to 45.33.32.156\r\n';
const SOC_ROWS = ['www.evil-site.com 0 Host', '45.33.32.156 0 Message'];

describe('containers', () => {
  it('a gzip of CSV, of JSON lines and of text, by magic bytes; concatenated members; gzip on stdin', async () => {
    expect((await extracted([write('alerts.csv.gz', gzipSync(SOC_CSV))])).rows).toEqual(SOC_ROWS);
    const jsonl = '{"src":{"ip":"45.33.32.156"}}\n{"url":"http://bad.example.com/x"}\n';
    expect((await extracted([write('events.jsonl.gz', gzipSync(jsonl))])).rows).toEqual([
      '45.33.32.156 0 src.ip',
      'http://bad.example.com/x 1 url',
    ]);
    // A gzip named .csv (no .gz): found by its bytes, not its name.
    expect((await extracted([write('misnamed.csv', gzipSync(SOC_CSV))])).rows).toEqual(SOC_ROWS);
    const joined = Buffer.concat([gzipSync('a 45.33.32.156\n'), gzipSync('b evil.example.org\n')]);
    expect((await extracted([write('cat.txt.gz', joined)])).rows).toEqual(['45.33.32.156 0 ', 'evil.example.org 1 ']);
    expect((await extracted(['-'], joined)).rows).toEqual(['45.33.32.156 0 ', 'evil.example.org 1 ']);
  });

  it('a zip of CSV and JSON lines: each member in turn, SourceIndex naming the member', async () => {
    const path = write(
      'export.zip',
      zip({
        'alerts.csv': 'ip,host\n45.33.32.156,evil.example.com\n',
        'logs/': '',
        'logs/events.jsonl': '{"a":"8.8.4.4"}\n\n{"b":{"c":"http://x.example.org/a"}}\n',
      }),
    );
    expect((await extracted([path])).rows).toEqual([
      '45.33.32.156 alerts.csv:0 ip',
      'evil.example.com alerts.csv:0 host',
      '8.8.4.4 logs/events.jsonl:0 a',
      'http://x.example.org/a logs/events.jsonl:2 b.c',
    ]);
  });

  it('xz, tar and binary data are one-line errors (exit 1), never scanned as text', async () => {
    const xz = await run(['extract', write('a.log.xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2]))]);
    expect(xz.code).toBe(1);
    expect(xz.stderr).toMatch(/a\.log\.xz: compressed with xz, .*xz -dk/);
    const tar = Buffer.alloc(1024);
    tar.write('alerts.csv', 0);
    tar.write('ustar', 257);
    const tarred = await run(['extract', write('a.tar.gz', gzipSync(tar))]);
    expect(tarred.code).toBe(1);
    expect(tarred.stderr).toContain('a tar archive');
    const binary = await run(['extract', write('image.csv', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13]))]);
    expect(binary.code).toBe(1);
    expect(binary.stderr).toContain('binary data');
    expect(binary.stdout).toBe('');
    // UTF-16 forced to be read as UTF-8: its zero bytes are refused, with the way out.
    const utf16 = write('forced.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SOC_CSV, 'utf16le')]));
    const forced = await run(['extract', utf16, '--encoding', 'utf-8']);
    expect(forced.code).toBe(1);
    expect(forced.stderr).toMatch(/binary data.*--encoding utf-16le/);
  });
});

describe('encodings and line ends', () => {
  const header = 'Hôte,Message’s text';
  const body = 'www.evil-site.com,l’adresse 45.33.32.156 é';
  const expected = ['www.evil-site.com 0 Hôte', '45.33.32.156 0 Message’s text'];

  it('UTF-16LE and UTF-16BE with a BOM (Excel Unicode Text, PowerShell 5)', async () => {
    const text = `${header}\r\n${body}\r\n`;
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.from(le.subarray(2)).swap16();
    expect((await extracted([write('le.csv', le)])).rows).toEqual(expected);
    expect((await extracted([write('be.csv', Buffer.concat([Buffer.from([0xfe, 0xff]), be]))])).rows).toEqual(expected);
    // Tab-delimited UTF-16 is Excel's "Unicode Text": found by the sniffer.
    const tabbed = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text.replaceAll(',', '\t'), 'utf16le')]);
    const { rows, result } = await extracted([write('unicode.txt', tabbed), '--input-format', 'csv']);
    expect(rows).toEqual(expected);
    expect(result.stderr).toContain('fields separated by tabs');
  });

  it("Windows PowerShell's Export-Csv: the '#TYPE' line above the header is skipped and said, in every path", async () => {
    // Export-Csv without -NoTypeInformation (Windows PowerShell 5), saved as UTF-16LE by Out-File, CRLF, a
    // quoted multi-line Message as Get-WinEvent writes it.
    const text =
      '#TYPE System.Diagnostics.Eventing.Reader.EventLogRecord\r\n"TimeCreated","Id","Message"\r\n' +
      '"12/1/2026 9:14:02 PM","3","Network connection detected:\r\nDestinationIp: 185.220.101.47"\r\n' +
      '"12/1/2026 9:15:10 PM","22","Dns query: QueryName: cdn-upd[.]top"\r\n';
    const path = write('winevent.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    const expected = ['185.220.101.47 0 Message', 'cdn-upd.top 1 Message'];
    for (const args of [[], ['--skip-bad-rows'], ['--strict-csv']]) {
      const { rows, result } = await extracted([path, ...args]);
      expect(rows, args.join(' ')).toEqual(expected);
      expect(result.stderr.match(/skipped PowerShell's '#TYPE …' line above the header/g)).toHaveLength(1);
    }
    const joined = join(work, 'winevent-joined.csv');
    const enriched = await run([
      'enrich',
      '--emulator',
      '--no-cache',
      path,
      '-o',
      join(work, 'winevent-out.csv'),
      '--join',
      joined,
    ]);
    expect(enriched.code, enriched.stderr).toBe(0);
    const table = parse<Record<string, string>>(readFileSync(joined, 'utf8'), { columns: true, bom: true });
    expect(table.map((row) => [row['Id'], row['vt_observables']])).toEqual([
      ['3', '1'],
      ['22', '1'],
    ]);
  });

  it('UTF-16LE without a BOM, found by its zero bytes', async () => {
    expect((await extracted([write('nobom.csv', Buffer.from(SOC_CSV, 'utf16le'))])).rows).toEqual(SOC_ROWS);
  });

  it('Windows-1252 with é and ’ in header and data: read as such, said once; --encoding forces', async () => {
    const bytes = Buffer.from(`${header}\n${body}\n`, 'latin1');
    // ’ is 0x92 in Windows-1252 (latin1 has no ’): write the bytes by hand.
    const cp1252 = Buffer.from(
      [...`${header}\n${body}\n`].map((char) => (char === '’' ? 0x92 : (char.codePointAt(0) as number))),
    );
    expect(bytes.length).toBe(cp1252.length);
    const { rows, result } = await extracted([write('cp1252.csv', cp1252), '--columns', 'Hôte,Message’s text']);
    expect(rows).toEqual(expected);
    expect(result.stderr.match(/read as Windows-1252/g)).toHaveLength(1);
    const forced = await extracted([write('cp1252b.csv', cp1252), '--encoding', 'windows-1252']);
    expect(forced.rows).toEqual(expected);
    expect(forced.result.stderr).not.toContain('Windows-1252');
  });

  it('old-Mac CR-only line ends', async () => {
    expect((await extracted([write('mac.csv', `${header}\r${body}\r`)])).rows).toEqual(expected);
    expect((await extracted([write('mac.txt', `first 45.33.32.156\rsecond evil.example.org\r`)])).rows).toEqual([
      '45.33.32.156 0 ',
      'evil.example.org 1 ',
    ]);
  });
});

describe('dialects', () => {
  it('semicolons with decimal commas (European Excel): the URL and the hash are two observables', async () => {
    const csv =
      'Zeit;URL;Hash;Score\n' +
      '2024-01-01 10:00;https://evil.example.com/facture.php;44d88612fea8a8f36de82e1278abb02f;3,5\n' +
      '2024-01-02 11:00;http://bad.example.net/a;;12,25\n';
    const { rows, result } = await extracted([write('europe.csv', csv)]);
    expect(rows).toEqual([
      'https://evil.example.com/facture.php 0 URL',
      '44d88612fea8a8f36de82e1278abb02f 0 Hash',
      'http://bad.example.net/a 1 URL',
    ]);
    expect(result.stderr).toContain("fields separated by ';'");
    // --delimiter forces it (and nothing is said).
    const forced = await extracted([write('europe2.csv', csv), '--delimiter', ';']);
    expect(forced.rows).toEqual(rows);
    expect(forced.result.stderr).not.toContain('separated');
  });

  it('tab (.tsv) and pipe', async () => {
    const table = 'ip\tnote\n45.33.32.156\tsee evil.example.org\n';
    expect((await extracted([write('a.tsv', table)])).rows).toEqual(['45.33.32.156 0 ip', 'evil.example.org 0 note']);
    expect((await extracted([write('a.csv', table.replaceAll('\t', '|'))])).rows).toEqual([
      '45.33.32.156 0 ip',
      'evil.example.org 0 note',
    ]);
  });

  it('Zeek conn, dns and http logs: field names, data rows counted, - and (empty) empty', async () => {
    const zeek = (path: string, fields: string[], rows: string[][]): string =>
      [
        '#separator \\x09',
        '#set_separator\t,',
        '#empty_field\t(empty)',
        '#unset_field\t-',
        `#path\t${path}`,
        '#open\t2024-05-01-00-00-00',
        `#fields\t${fields.join('\t')}`,
        `#types\t${fields.map(() => 'string').join('\t')}`,
        ...rows.map((row) => row.join('\t')),
        '#close\t2024-05-01-01-00-00',
        '',
      ].join('\n');
    const conn = zeek(
      'conn',
      ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service'],
      [
        ['1714521600.1', 'CHhAvVGS1DHFjwGM9', '10.0.0.5', '51000', '45.33.32.156', '443', 'tcp', '-'],
        ['1714521601.2', 'C4J4Th3PJpwUYZZ6gc', '10.0.0.6', '51001', '8.8.4.4', '53', 'udp', 'dns'],
      ],
    );
    expect((await extracted([write('conn.log', conn)])).rows).toEqual([
      '10.0.0.5 0 id.orig_h',
      '45.33.32.156 0 id.resp_h',
      '10.0.0.6 1 id.orig_h',
      '8.8.4.4 1 id.resp_h',
    ]);
    const dns = zeek(
      'dns',
      ['ts', 'uid', 'id.orig_h', 'id.resp_h', 'query', 'answers', 'TTLs'],
      [['1714521600.1', 'Cx1', '10.0.0.5', '8.8.8.8', 'evil.example.com', '45.33.32.156,93.184.216.34', '60.0,60.0']],
    );
    expect((await extracted([write('dns.log', dns), '--columns', 'query,answers'])).rows).toEqual([
      'evil.example.com 0 query',
      '45.33.32.156 0 answers',
      '93.184.216.34 0 answers',
    ]);
    const http = zeek(
      'http',
      ['ts', 'uid', 'host', 'uri', 'referrer', 'user_agent', 'tags'],
      [['1714521600.1', 'Cx2', 'bad.example.net', '/payload.exe', '-', 'curl/8.0', '(empty)']],
    );
    expect((await extracted([write('http.log', http)])).rows).toEqual(['bad.example.net 0 host']);
  });
});

describe('lenient CSV', () => {
  const csv =
    'id,msg,extra\n' +
    '1,he said "hi" to 45.33.32.156,x\n' +
    '2,"quoted"then evil.example.com,y\n' +
    '3,short 8.8.4.4\n' +
    '4,long,z,93.184.216.34\n';

  it('reads stray quotes, text after closing quotes, short and long rows as Python does; the summary says so', async () => {
    const { rows, result } = await extracted([write('stray.csv', csv)]);
    expect(rows).toEqual(['45.33.32.156 0 msg', 'evil.example.com 1 msg', '8.8.4.4 2 msg', '93.184.216.34 3 #4']);
    expect(result.stderr).toMatch(/repaired 4 malformed CSV record\(s\).*the first: .*stray\.csv:2: a quote inside/);
  });

  it('--strict-csv stops at the first, naming the alternatives; the rows before it are kept', async () => {
    const result = await run([
      'extract',
      write('stray2.csv', `id,msg\n0,45.33.32.157\n${csv.split('\n')[1]}\n`),
      '--strict-csv',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/stray2\.csv:3: a quote inside unquoted field 2.*without it .*--skip-bad-rows/);
    expect(result.stdout).toContain('45.33.32.157');
  });

  it('a quote that never closes is reported with the line where it opened', async () => {
    const { rows, result } = await extracted([write('open.csv', 'a,b\n1,45.33.32.156\n"open,8.8.4.4\nmore 9.9.9.9\n')]);
    expect(rows).toEqual(['45.33.32.156 0 b', '8.8.4.4 1 a', '9.9.9.9 1 a']);
    expect(result.stderr).toMatch(/open\.csv:3: a quote opened here is never closed/);
  });

  it('a --columns entry in the header with no value in any record is a warning, exit 0', async () => {
    const path = write('sparse.csv', 'ip,spare\n45.33.32.156,\n8.8.4.4,\n');
    const { rows, result } = await extracted([path, '--columns', 'ip,spare']);
    expect(rows).toEqual(['45.33.32.156 0 ip', '8.8.4.4 1 ip']);
    expect(result.stderr).toContain('warning: --columns "spare" found no value in any record');
    expect(result.stderr).not.toContain('"ip" found no value');
  });

  it('duplicate and empty header names: every column scanned, named ip, ip#2, #3; --columns takes them', async () => {
    const path = write('dup.csv', 'ip,ip,,note\n45.33.32.156,8.8.4.4,93.184.216.34,\n');
    expect((await extracted([path])).rows).toEqual(['45.33.32.156 0 ip', '8.8.4.4 0 ip#2', '93.184.216.34 0 #3']);
    expect((await extracted([path, '--columns', 'ip#2,#3'])).rows).toEqual(['8.8.4.4 0 ip#2', '93.184.216.34 0 #3']);
    // `ip` chooses every column named ip (the complaint: only the first was scanned).
    expect((await extracted([path, '--columns', 'ip'])).rows).toEqual(['45.33.32.156 0 ip', '8.8.4.4 0 ip#2']);
  });
});

describe('inputs that yield no records', () => {
  it('a CSV whose only line is data (no header) fails, one line, exit 1; a real header alone is fine', async () => {
    const noHeader = await run(['extract', write('one-line.csv', '45.33.32.156,evil.example.com,beacon\n')]);
    expect(noHeader.code).toBe(1);
    expect(noHeader.stderr.trim()).toMatch(
      /^ioc-enrich: .*one-line\.csv:1: no records: the only line was read as the header, yet it holds 45\.33\.32\.156; .*--input-format text$/,
    );
    const enrich = await run(['enrich', '--emulator', write('one-line2.csv', '45.33.32.156,evil.example.com\n')]);
    expect(enrich.code).toBe(1);
    expect(enrich.stderr).toContain('no records: the only line was read as the header');
    // A header with names that look like domains (ECS), an empty file and an empty array: nothing to find, exit 0.
    for (const [name, content] of [
      ['ecs.csv', 'source.ip,host.name,url.full\n'],
      ['empty.csv', ''],
      ['empty.json', '[]\n'],
    ] as const) {
      const result = await run(['extract', write(name, content)]);
      expect(result.code, `${name}: ${result.stderr}`).toBe(0);
    }
  });
});

describe('JSON', () => {
  const kibana = [
    { _source: { dns: { answers: [{ data: '45.33.32.156' }, { data: 'bad.example.net' }] } } },
    { _source: { 'source.ip': '8.8.4.4', dns: { answers: [] } } },
  ];

  it('a pretty-printed top-level array: each element a record, its index the SourceIndex', async () => {
    expect((await extracted([write('kibana.json', JSON.stringify(kibana, null, 2))])).rows).toEqual([
      '45.33.32.156 0 _source.dns.answers.0.data',
      'bad.example.net 0 _source.dns.answers.1.data',
      '8.8.4.4 1 _source.source.ip',
    ]);
    // On one line too.
    expect((await extracted([write('kibana1.json', JSON.stringify(kibana))])).rows).toHaveLength(3);
  });

  it('--fields through arrays and flat dotted keys; a field that matches nothing is a warning (exit 0)', async () => {
    const path = write('kibana2.json', JSON.stringify(kibana, null, 2));
    const { rows, result } = await extracted([path, '--fields', '_source.dns.answers.data,_source.source.ip,nope.x']);
    expect(rows).toEqual([
      '45.33.32.156 0 _source.dns.answers.0.data',
      'bad.example.net 0 _source.dns.answers.1.data',
      '8.8.4.4 1 _source.source.ip',
    ]);
    expect(result.stderr).toContain('warning: --fields "nope.x" found no value in any record');
    expect(result.stderr).not.toContain('"_source.source.ip" found no value');
  });

  it('an Elasticsearch _search response: each hit a record', async () => {
    const response = {
      took: 3,
      timed_out: false,
      _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
      hits: {
        total: { value: 2, relation: 'eq' },
        max_score: 1,
        hits: [
          { _index: 'logs', _id: 'a1', _score: 1, _source: { url: 'http://mal.example.com/x' } },
          { _index: 'logs', _id: 'a2', _score: 1, _source: { client: { ip: '45.33.32.156' } } },
        ],
      },
    };
    const expected = ['http://mal.example.com/x 0 _source.url', '45.33.32.156 1 _source.client.ip'];
    expect((await extracted([write('search.json', JSON.stringify(response, null, 2))])).rows).toEqual(expected);
    expect((await extracted([write('search1.json', JSON.stringify(response))])).rows).toEqual(expected);
  });

  it('an array cut short: the records before it, then a one-line error naming where it opened', async () => {
    const result = await run(['extract', write('cut.json', '[\n{"a":"45.33.32.156"},\n{"b":"8.8')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cut\.json:1: the JSON array opened here is not closed/);
    expect(result.stdout).toContain('45.33.32.156');
  });
});

describe('enrich reads the same inputs', () => {
  it('a gzip of semicolon CSV in Windows-1252, against the emulator', async () => {
    const csv = 'Hôte;URL\r\nwww.evil-site.com;https://evil.example.com/facture.php\r\n';
    const bytes = Buffer.from(csv, 'latin1');
    const result = await run(['enrich', '--emulator', write('enrich.csv.gz', gzipSync(bytes))]);
    expect(result.code, result.stderr).toBe(0);
    const rows = parse<Record<string, string>>(result.stdout, { columns: true });
    expect(rows.map((row) => `${row['Observable']} ${row['SourceIndex']}`)).toEqual([
      'www.evil-site.com 0',
      'https://evil.example.com/facture.php 0',
    ]);
    expect(result.stderr).toContain('read as Windows-1252');
  });

  it('a zip member and a Zeek log', async () => {
    const zipped = write('enrich.zip', zip({ 'alerts.csv': 'ip\n45.33.32.156\n' }));
    const result = await run(['enrich', '--emulator', zipped]);
    expect(result.code, result.stderr).toBe(0);
    const rows = parse<Record<string, string>>(result.stdout, { columns: true });
    expect(rows.map((row) => `${row['Observable']} ${row['SourceIndex']}`)).toEqual(['45.33.32.156 alerts.csv:0']);
  });
});
