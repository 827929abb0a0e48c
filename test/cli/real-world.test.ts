/**
 * End-to-end, issue 12's list through the built CLI in both engines: a threat report in Markdown, a mail gateway's
 * CSV export, Sysmon and proxy lines, a build log. The native engine (the default where it is built) and the
 * JavaScript engine (`IOC_ENRICH_ENGINE=js`) must give these rows, byte for byte the same.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCli, type CliResult } from '../support/spawn-cli.js';
import { nativeAvailable } from '../../src/native/engine.js';

const work = mkdtempSync(join(tmpdir(), 'ioc-enrich-real-world-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[], engine: 'native' | 'js'): Promise<CliResult> {
  return spawnCli(args, { cwd: work, env: engine === 'js' ? { IOC_ENRICH_ENGINE: 'js' } : {} });
}

const SHA256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f';
const IMPHASH = 'F34D5F2D4577ED6D9CEEC516C1F5A744';
const MD5 = '44D88612FEA8A8F36DE82E1278ABB02F';

const REPORT = `# Campaign report: lookalike banking domains

## Indicators

- [https://evil-example.com/a](https://evil-example.com/a)
- <https://evil-example.com/b>
- Lookalikes: paypаl.com, login.microsоft.com; legitimate IDNs: bücher.de, münchen-bank.de
- Landing pages: http://secure.bаnk.com/login and https://пример.рф/login
- Escaped in the YARA rule: evil\\.net, hxxp://app\\.evil\\.site/x, 45\\.77\\.1\\.2; heavier: 45.33[[.]]100[[.]]66, bad((dot))org
- Sample: https://www.virustotal.com/gui/file/${SHA256}/detection
- Test host http://example.nope/x, internal hXXps://192.168.149[.]100/x, C2 http://[2600:1f18::1]:8080/x
- Exfiltration over sftp://files.evil-example.com/drop
- Copied from a blog, with invisible characters: login-micro\u200Bsoft[.]com, hxxps://cdn\u00ADupdate[.]net/p, 45.61\u2060.2.9
`;

const SYSMON = [
  `Process Create: Image: C:\\Windows\\System32\\x.dll Hashes: MD5=${MD5},SHA256=${SHA256.toUpperCase()},IMPHASH=${IMPHASH}`,
  'FileVersion: 10.0.19041.1 ProductVersion=5.2.3.4 Description: Adobe Acrobat Reader DC 21.1.20.155',
  'User-Agent: SplunkForwarder/9.1.2.3 Agent/3.4.5.6 version 2.3.4.5 Chrome/120.0.0.0 src=5.2.3.4 connect 5.2.3.4:443',
  'CommandLine: gcc -O2 -c main.cc -o main.o && make -f Makefile.in && libtool --mode=link gcc -o libfoo.la src/util.cc',
  'mdns 224.0.0.251 ssdp 239.255.255.250 ff02::fb PTR 45.12.215.91.in-addr.arpa ja3=e7d705a3286e19ea42f587b344ee6865',
  'empty file d41d8cd98f00b204e9800998ecf8427e beacon evil.cc',
].join('\n');

const SAFELINK =
  'https://eur02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fevil-example.com%2Fpay%3Fid%3D7&data=05%7C01%7Cbob%40corp.com&sdata=abc&reserved=0';
const PROOFPOINT_V2 = 'https://urldefense.proofpoint.com/v2/url?u=http-3A__evil-2Dexample.org_login&d=DwMFaQ&c=abc&e=';
const PROOFPOINT_V3 = 'https://urldefense.com/v3/__https://evil-example.net/a?b=1*c__;Iw!!ABCD!efgh$';
const REDIRECT = 'https://www.google.com/url?q=http%3A%2F%2Fevil-example.info%2Fx&sa=D';
const MAIL_CSV = `MessageId,Sender,Url\n1,bob@corp.com,${SAFELINK}\n2,alice@corp.com,"${PROOFPOINT_V2} ${PROOFPOINT_V3}"\n3,eve@corp.com,${REDIRECT}\n`;

type Row = Record<string, string>;

function table(csv: string): Row[] {
  return parse<Row>(csv, { columns: true });
}

/** `Observable IoCType Status [Note] <SourceText>` of each row. */
function brief(rows: Row[]): string[] {
  return rows.map(
    (row) =>
      `${row['Observable']} ${row['IoCType']} ${row['Status']}${row['Note'] === '' ? '' : ` [${row['Note']}]`} <${row['SourceText']}>`,
  );
}

const REPORT_ROWS = [
  'https://evil-example.com/a url Valid <https://evil-example.com/a>',
  'https://evil-example.com/a url Duplicate <https://evil-example.com/a>',
  'https://evil-example.com/b url Valid <https://evil-example.com/b>',
  'xn--paypl-7ve.com dns Valid [Lookalike] <paypаl.com>',
  'login.xn--microsft-sbh.com dns Valid [Lookalike] <login.microsоft.com>',
  'xn--bcher-kva.de dns Valid <bücher.de>',
  'xn--mnchen-bank-thb.de dns Valid <münchen-bank.de>',
  'http://secure.xn--bnk-6cd.com/login url Valid [Lookalike] <http://secure.bаnk.com/login>',
  'https://xn--e1afmkfd.xn--p1ai/login url Valid <https://пример.рф/login>',
  'evil.net dns Valid <evil\\.net>',
  'http://app.evil.site/x url Valid <hxxp://app\\.evil\\.site/x>',
  '45.77.1.2 ipv4 Valid <45\\.77\\.1\\.2>',
  '45.33.100.66 ipv4 Valid <45.33[[.]]100[[.]]66>',
  'bad.org dns Valid <bad((dot))org>',
  `${SHA256} sha256_hash Valid <https://www.virustotal.com/gui/file/${SHA256}/detection>`,
  'http://example.nope/x url Host part of URL has no public suffix <http://example.nope/x>',
  'https://192.168.149.100/x url Host part of URL is a private IP address <hXXps://192.168.149[.]100/x>',
  'http://[2600:1f18::1]:8080/x url Valid <http://[2600:1f18::1]:8080/x>',
  'sftp://files.evil-example.com/drop url Valid <sftp://files.evil-example.com/drop>',
  // Whole, not cut at the invisible character (`soft.com`, `update.net`: real, unrelated domains).
  'login-microsoft.com dns Valid <login-micro\u200Bsoft[.]com>',
  'https://cdnupdate.net/p url Valid <hxxps://cdn\u00ADupdate[.]net/p>',
  '45.61.2.9 ipv4 Valid <45.61\u2060.2.9>',
];

const SYSMON_ROWS = [
  `${MD5.toLowerCase()} md5_hash Valid <${MD5}>`,
  `${SHA256} sha256_hash Valid <${SHA256.toUpperCase()}>`,
  `${IMPHASH.toLowerCase()} md5_hash Hash is not a file hash (imphash) <${IMPHASH}>`,
  '5.2.3.4 ipv4 IP address is a version number <5.2.3.4>',
  '21.1.20.155 ipv4 IP address is a version number <21.1.20.155>',
  '9.1.2.3 ipv4 IP address is a version number <9.1.2.3>',
  '3.4.5.6 ipv4 IP address is a version number <3.4.5.6>',
  '2.3.4.5 ipv4 IP address is a version number <2.3.4.5>',
  '5.2.3.4 ipv4 Valid <5.2.3.4>',
  '5.2.3.4 ipv4 Duplicate <5.2.3.4>',
  '224.0.0.251 ipv4 IP address is multicast <224.0.0.251>',
  '239.255.255.250 ipv4 IP address is multicast <239.255.255.250>',
  'ff02::fb ipv6 IP address is multicast <ff02::fb>',
  '45.12.215.91.in-addr.arpa dns Domain is a reverse-DNS name <45.12.215.91.in-addr.arpa>',
  'e7d705a3286e19ea42f587b344ee6865 md5_hash Hash is not a file hash (ja3) <e7d705a3286e19ea42f587b344ee6865>',
  'd41d8cd98f00b204e9800998ecf8427e md5_hash Known benign hash (empty file) <d41d8cd98f00b204e9800998ecf8427e>',
  'evil.cc dns Valid <evil.cc>',
];

const MAIL_ROWS = [
  // SafeLinks: no row of its own; its target, percent-encoded in it, is the row.
  'https://evil-example.com/pay?id=7 url Valid <https%3A%2F%2Fevil-example.com%2Fpay%3Fid%3D7>',
  `http://evil-example.org/login url Valid <${PROOFPOINT_V2}>`,
  `https://evil-example.net/a?b=1#c url Valid <${PROOFPOINT_V3}>`,
  // A redirector is a row of its own, and so is its target.
  `${REDIRECT} url Valid <${REDIRECT}>`,
  'http://evil-example.info/x url Valid <http%3A%2F%2Fevil-example.info%2Fx>',
];

const engines = nativeAvailable() ? (['native', 'js'] as const) : (['js'] as const);

describe.each(engines)('ioc-enrich extract on real-world text, %s engine', (engine) => {
  it('reads a Markdown threat report', async () => {
    const input = join(work, `report-${engine}.md`);
    writeFileSync(input, REPORT);
    const result = await run(['extract', '--input-format', 'text', input], engine);
    expect(result.stderr).not.toMatch(/Error|error:/);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('Observable,IoCType,Status,SourceIndex,SourceField,SourceText,Note');
    expect(brief(table(result.stdout))).toEqual(REPORT_ROWS);
  });

  it('reads Sysmon, proxy and build lines', async () => {
    const input = join(work, `sysmon-${engine}.log`);
    writeFileSync(input, `${SYSMON}\n`);
    const result = await run(['extract', input], engine);
    expect(result.code).toBe(0);
    expect(brief(table(result.stdout))).toEqual(SYSMON_ROWS);
  });

  it('reads a mail gateway export: the wrapped links give their targets, as JSON lines too', async () => {
    const input = join(work, `mail-${engine}.csv`);
    writeFileSync(input, MAIL_CSV);
    const result = await run(['extract', '--columns', 'Url', input], engine);
    expect(result.code).toBe(0);
    expect(brief(table(result.stdout))).toEqual(MAIL_ROWS);
    const jsonl = await run(['extract', '--columns', 'Url', '--format', 'jsonl', input], engine);
    const lines = jsonl.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Row);
    expect(brief(lines)).toEqual(MAIL_ROWS);
    expect(lines[0]).toMatchObject({ SourceField: 'Url', SourceIndex: '0', Note: '' });
  });

  it("reports URL hosts, IP literals included, with --url-hosts-as-dns, and never the wrapper's host as an IoC", async () => {
    const input = join(work, `hosts-${engine}.txt`);
    writeFileSync(input, `hXXps://192.168.149[.]100/x http://[2600:1f18::1]:8080/x ${SAFELINK}\n`);
    const result = await run(['extract', '--url-hosts-as-dns', input], engine);
    expect(result.code).toBe(0);
    expect(brief(table(result.stdout))).toEqual([
      'https://192.168.149.100/x url Host part of URL is a private IP address <hXXps://192.168.149[.]100/x>',
      '192.168.149.100 ipv4 IP address is not global <192.168.149[.]100>',
      'http://[2600:1f18::1]:8080/x url Valid <http://[2600:1f18::1]:8080/x>',
      '2600:1f18::1 ipv6 Valid <2600:1f18::1>',
      "eur02.safelinks.protection.outlook.com dns Domain is a link wrapper's or VirusTotal's <eur02.safelinks.protection.outlook.com>",
      'https://evil-example.com/pay?id=7 url Valid <https%3A%2F%2Fevil-example.com%2Fpay%3Fid%3D7>',
    ]);
  });
});

/** The columns an enrich row shares with the extract row of the same occurrence. */
const SHARED = ['Observable', 'IoCType', 'SourceIndex', 'SourceField', 'SourceText', 'Note'] as const;

describe.each(engines)('ioc-enrich enrich extracts as extract does, %s engine', (engine) => {
  // A proxy log of the user's own VirusTotal call holds the key: it is cut out of the observable and every cell.
  const KEY = 'a3f1c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0';
  const PROXY = `GET https://www.virustotal.com/vtapi/v2/url/report?apikey=${KEY}&resource=evil-example.com 200`;

  it.each([
    ['text', 'report.txt', `${REPORT}${SYSMON}\n${PROXY}\n`, []],
    ['CSV', 'mail.csv', `${MAIL_CSV}5,key@corp.com,${PROXY}\n`, ['--columns', 'Url']],
  ])(
    'gives every occurrence of %s the row extract gives it, looked up where extract says Valid',
    async (_kind, name, text, options) => {
      const input = join(work, `${engine}-${name}`);
      writeFileSync(input, text);
      const env = { VT_API_KEY: KEY, ...(engine === 'js' ? { IOC_ENRICH_ENGINE: 'js' } : {}) };
      const extracted = await spawnCli(['extract', ...options, input], { cwd: work, env });
      const enriched = await spawnCli(['enrich', '--emulator', '--no-cache', ...options, input], { cwd: work, env });
      expect(extracted.code).toBe(0);
      expect(enriched.code).toBe(0);
      const expected = table(extracted.stdout);
      const rows = table(enriched.stdout);
      expect(rows.length).toBeGreaterThan(20 * (name === 'mail.csv' ? 0.25 : 1));
      expect(rows.map((row) => SHARED.map((column) => row[column]))).toEqual(
        expected.map((row) => SHARED.map((column) => row[column])),
      );
      rows.forEach((row, index) => {
        const status = expected[index]?.['Status'];
        if (status === 'Valid') expect(['Success', 'NotFound']).toContain(row['Status']);
        else expect(row['Status']).toBe(status);
      });
      expect(enriched.stdout).not.toContain(KEY);
      expect(enriched.stdout).toContain('apikey=[redacted]');
    },
  );
});

describe('ioc-enrich enrich on real-world text', () => {
  it('looks up the targets and the punycode, with the Note column, never the wrappers', async () => {
    const input = join(work, 'mail-enrich.csv');
    writeFileSync(input, `${MAIL_CSV}4,mallory@corp.com,paypаl.com\n`);
    const result = await run(['enrich', '--emulator', '--no-cache', '--columns', 'Url', input], 'native');
    expect(result.code).toBe(0);
    const rows = table(result.stdout);
    // Looked up: found or not found in the emulator (its synthetic objects), never screened out or skipped.
    const lookedUp = (status: string | undefined): string =>
      status === 'Success' || status === 'NotFound' ? 'looked up' : `${status}`;
    expect(rows.map((row) => [row['Observable'], lookedUp(row['Status']), row['Note']])).toEqual([
      ['https://evil-example.com/pay?id=7', 'looked up', ''],
      ['http://evil-example.org/login', 'looked up', ''],
      ['https://evil-example.net/a?b=1#c', 'looked up', ''],
      [REDIRECT, 'looked up', ''],
      ['http://evil-example.info/x', 'looked up', ''],
      ['xn--paypl-7ve.com', 'looked up', 'Lookalike'],
    ]);
  });
});
