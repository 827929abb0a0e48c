// Issue 12's list of what users hit on real text, one table per rule: each line as a threat report, a mail gateway,
// Sysmon, a proxy or a build log writes it, through extraction and screening together (OccurrenceBuilder, the
// JavaScript reference; test/native compares the native engine with it, and test/cli/real-world.test.ts runs the
// built CLI in both engines).
import { describe, expect, it } from 'vitest';
import { refang } from '../../src/extract/refang.js';
import { OccurrenceBuilder } from '../../src/occurrences.js';
import { screenValue } from '../../src/screen.js';

/** `type:observable status [note] <source text>` of every occurrence of `text`. */
function rows(text: string, urlHostsAsDns = false): string[] {
  const builder = new OccurrenceBuilder({ urlHostsAsDns });
  return builder
    .fromRecord({ recordNumber: 0, sourceIndex: '0', fields: [{ name: '', value: text }] })
    .map(
      (row) =>
        `${row.type}:${row.observable} ${row.status}${row.note === '' ? '' : ` [${row.note}]`} <${row.original}>`,
    );
}

const SHA256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f';
const MD5 = '44d88612fea8a8f36de82e1278abb02f';
const IMPHASH = 'f34d5f2d4577ed6d9ceec516c1f5a744';

describe('Unicode domains are read whole and reported as their punycode', () => {
  it.each([
    ['paypаl.com (Cyrillic а)', 'login at paypаl.com now', ['dns:xn--paypl-7ve.com Valid [Lookalike] <paypаl.com>']],
    [
      'login.microsоft.com (Cyrillic о)',
      'from login.microsоft.com,',
      ['dns:login.xn--microsft-sbh.com Valid [Lookalike] <login.microsоft.com>'],
    ],
    ['bücher.de', 'see bücher.de.', ['dns:xn--bcher-kva.de Valid <bücher.de>']],
    ['münchen-bank.de', '(münchen-bank.de)', ['dns:xn--mnchen-bank-thb.de Valid <münchen-bank.de>']],
    [
      'a URL on a lookalike host',
      'click http://secure.bаnk.com/login',
      ['url:http://secure.xn--bnk-6cd.com/login Valid [Lookalike] <http://secure.bаnk.com/login>'],
    ],
    [
      'a Cyrillic name under a Cyrillic TLD',
      'https://пример.рф/login',
      ['url:https://xn--e1afmkfd.xn--p1ai/login Valid <https://пример.рф/login>'],
    ],
    ['punycode written as such', 'xn--paypl-7ve.com', ['dns:xn--paypl-7ve.com Valid [Lookalike] <xn--paypl-7ve.com>']],
    // CJK text writes no spaces: a name glued to it is still cut at it.
    ['a name in Chinese text', '访问evil.com获取', ['dns:evil.com Valid <evil.com>']],
    ['a Cyrillic word glued to a name', 'Сайт:evil.com', ['dns:evil.com Valid <evil.com>']],
  ])('%s', (_name, text, expected) => {
    expect(rows(text)).toEqual(expected);
  });

  it("gives a URL's Unicode host as its punycode with --url-hosts-as-dns", () => {
    expect(rows('http://secure.bаnk.com/login', true)).toEqual([
      'url:http://secure.xn--bnk-6cd.com/login Valid [Lookalike] <http://secure.bаnk.com/login>',
      'dns:secure.xn--bnk-6cd.com Valid [Lookalike] <secure.bаnk.com>',
    ]);
  });

  it('screens a pre-typed Unicode name as its punycode', () => {
    expect(screenValue('dns', 'paypаl.com')).toEqual({
      accepted: true,
      type: 'dns',
      value: 'xn--paypl-7ve.com',
      note: 'Lookalike',
    });
    expect(screenValue('dns', 'bücher.de')).toEqual({ accepted: true, type: 'dns', value: 'xn--bcher-kva.de' });
  });
});

describe('wrapped links give their target, and the wrapper no row', () => {
  const safeLink =
    'https://eur02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fevil-example.com%2Fpay%3Fid%3D7&data=05%7C01%7Cbob%40corp.com&sdata=abc%3D&reserved=0';
  it.each([
    // SafeLinks gives no row: its target, percent-encoded in its query, is a candidate of its own.
    [
      'Microsoft SafeLinks',
      safeLink,
      ['url:https://evil-example.com/pay?id=7 Valid <https%3A%2F%2Fevil-example.com%2Fpay%3Fid%3D7>'],
    ],
    [
      'Proofpoint URL Defense v2',
      'https://urldefense.proofpoint.com/v2/url?u=https-3A__evil-2Dexample.com_pay-3Fid-3D7&d=DwMFaQ&c=abc&r=def&m=ghi&s=jkl&e=',
      [
        'url:https://evil-example.com/pay?id=7 Valid <https://urldefense.proofpoint.com/v2/url?u=https-3A__evil-2Dexample.com_pay-3Fid-3D7&d=DwMFaQ&c=abc&r=def&m=ghi&s=jkl&e=>',
      ],
    ],
    [
      'Proofpoint URL Defense v3, a replaced character',
      'https://urldefense.com/v3/__https://evil-example.com/pay?id=7*top__;Iw!!ABCD!efgh$',
      [
        'url:https://evil-example.com/pay?id=7#top Valid <https://urldefense.com/v3/__https://evil-example.com/pay?id=7*top__;Iw!!ABCD!efgh$>',
      ],
    ],
    [
      'Proofpoint URL Defense v3, a run of replaced characters',
      'https://urldefense.com/v3/__https://evil-example.com/a**Bb__;JSUl!!ABCD!efgh$',
      [
        'url:https://evil-example.com/a%%%b Valid <https://urldefense.com/v3/__https://evil-example.com/a**Bb__;JSUl!!ABCD!efgh$>',
      ],
    ],
    [
      'SafeLinks around Proofpoint',
      `https://nam02.safelinks.protection.outlook.com/?url=${encodeURIComponent('https://urldefense.com/v3/__https://evil-example.com/x__;!!A$')}&data=1`,
      [
        'url:https://evil-example.com/x Valid <https%3A%2F%2Furldefense.com%2Fv3%2F__https%3A%2F%2Fevil-example.com%2Fx__%3B!!A%24>',
      ],
    ],
    // Any other URL with a URL in its query: both (the outer host may be the attacker's own page).
    [
      'a redirector (?q=)',
      'https://www.google.com/url?q=http%3A%2F%2Fevil-example.com%2Fx&sa=D',
      [
        'url:https://www.google.com/url?q=http%3A%2F%2Fevil-example.com%2Fx&sa=D Valid <https://www.google.com/url?q=http%3A%2F%2Fevil-example.com%2Fx&sa=D>',
        'url:http://evil-example.com/x Valid <http%3A%2F%2Fevil-example.com%2Fx>',
      ],
    ],
    [
      "a phishing page's own redirect, not encoded",
      'https://phish-example.com/login?redirect=https://phish-example.com/done&x=1',
      [
        'url:https://phish-example.com/login?redirect=https://phish-example.com/done&x=1 Valid <https://phish-example.com/login?redirect=https://phish-example.com/done&x=1>',
        'url:https://phish-example.com/done Valid <https://phish-example.com/done>',
      ],
    ],
  ])('%s', (_name, text, expected) => {
    expect(rows(`Link: ${text} end`)).toEqual(expected);
  });

  it('rejects the wrapper hosts as dns observables (with --url-hosts-as-dns, or in text)', () => {
    expect(rows('https://eur02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fevil-example.com%2F', true)).toEqual(
      [
        "dns:eur02.safelinks.protection.outlook.com Domain is a link wrapper's or VirusTotal's <eur02.safelinks.protection.outlook.com>",
        'url:https://evil-example.com/ Valid <https%3A%2F%2Fevil-example.com%2F>',
      ],
    );
  });

  it('screens the target as any URL is screened', () => {
    expect(rows('https://www.google.com/url?q=http%3A%2F%2F10.0.0.5%2Fx')).toEqual([
      'url:https://www.google.com/url?q=http%3A%2F%2F10.0.0.5%2Fx Valid <https://www.google.com/url?q=http%3A%2F%2F10.0.0.5%2Fx>',
      'url:http://10.0.0.5/x Host part of URL is a private IP address <http%3A%2F%2F10.0.0.5%2Fx>',
    ]);
  });

  it('gives a pre-typed SafeLinks URL its target (one row per typed row)', () => {
    expect(screenValue('url', safeLink)).toEqual({
      accepted: true,
      type: 'url',
      value: 'https://evil-example.com/pay?id=7',
    });
  });
});

describe('Markdown and bracketed links', () => {
  it.each([
    [
      '[url](url)',
      '- [https://evil-example.com/a](https://evil-example.com/a)',
      [
        'url:https://evil-example.com/a Valid <https://evil-example.com/a>',
        'url:https://evil-example.com/a Duplicate <https://evil-example.com/a>',
      ],
    ],
    [
      '[text](url)',
      'see [the panel](https://evil-example.com/p).',
      ['url:https://evil-example.com/p Valid <https://evil-example.com/p>'],
    ],
    ['<url>', '<https://evil-example.com/b>', ['url:https://evil-example.com/b Valid <https://evil-example.com/b>']],
    [
      '(url)',
      '(see https://evil-example.com/c)',
      ['url:https://evil-example.com/c Valid <https://evil-example.com/c>'],
    ],
    ['[url]', '[https://evil-example.com/d]', ['url:https://evil-example.com/d Valid <https://evil-example.com/d>']],
    [
      'a path with balanced brackets',
      'https://en.wikipedia.org/wiki/Tree_(graph).',
      ['url:https://en.wikipedia.org/wiki/Tree_(graph) Valid <https://en.wikipedia.org/wiki/Tree_(graph)>'],
    ],
  ])('%s', (_name, text, expected) => {
    expect(rows(text)).toEqual(expected);
  });
});

describe('VirusTotal links give the object they show', () => {
  it.each([
    [`https://www.virustotal.com/gui/file/${SHA256}/detection`, `sha256_hash:${SHA256} Valid`],
    [`https://www.virustotal.com/gui/file/${MD5}`, `md5_hash:${MD5} Valid`],
    ['https://www.virustotal.com/gui/ip-address/45.77.1.2/relations', 'ipv4:45.77.1.2 Valid'],
    ['https://www.virustotal.com/gui/domain/evil-example.com/details', 'dns:evil-example.com Valid'],
    [
      `https://www.virustotal.com/gui/url/${Buffer.from('http://evil-example.com/x').toString('base64url')}/detection`,
      'url:http://evil-example.com/x Valid',
    ],
    [`https://www.virustotal.com/#/file/${SHA256}/detection`, `sha256_hash:${SHA256} Valid`],
    // The older localised pages, in years of threat reports and MISP references.
    [`https://www.virustotal.com/en/file/${SHA256}/analysis/1500000000/`, `sha256_hash:${SHA256} Valid`],
    ['https://www.virustotal.com/en/ip-address/45.77.1.2/information/', 'ipv4:45.77.1.2 Valid'],
    ['https://www.virustotal.com/es/domain/evil-example.com/information/', 'dns:evil-example.com Valid'],
    // API v3, as scripts log their requests.
    [`https://www.virustotal.com/api/v3/files/${MD5}`, `md5_hash:${MD5} Valid`],
    ['https://www.virustotal.com/api/v3/ip_addresses/45.77.1.2', 'ipv4:45.77.1.2 Valid'],
    ['https://www.virustotal.com/api/v3/domains/evil-example.com', 'dns:evil-example.com Valid'],
    [
      `https://www.virustotal.com/api/v3/urls/${Buffer.from('http://evil-example.com/x').toString('base64url')}`,
      'url:http://evil-example.com/x Valid',
    ],
    // API v2's reports: the object is a query parameter.
    [
      `https://www.virustotal.com/vtapi/v2/file/report?apikey=0123&resource=${SHA256}&allinfo=1`,
      `sha256_hash:${SHA256} Valid`,
    ],
    [
      'https://www.virustotal.com/vtapi/v2/domain/report?apikey=0123&domain=evil-example.com',
      'dns:evil-example.com Valid',
    ],
    ['https://www.virustotal.com/vtapi/v2/ip-address/report?ip=45.77.1.2&apikey=0123', 'ipv4:45.77.1.2 Valid'],
    [
      'https://www.virustotal.com/vtapi/v2/file/report?apikey=0123',
      'url:https://www.virustotal.com/vtapi/v2/file/report?apikey=0123 Link to VirusTotal without an observable',
    ],
    [
      `https://www.virustotal.com/gui/url/${SHA256}/detection`,
      `url:https://www.virustotal.com/gui/url/${SHA256}/detection Link to VirusTotal without an observable`,
    ],
    [
      'https://www.virustotal.com/gui/home/upload',
      'url:https://www.virustotal.com/gui/home/upload Link to VirusTotal without an observable',
    ],
  ])('%s', (link, expected) => {
    expect(rows(`VT: ${link}`)).toEqual([`${expected} <${link}>`]);
  });

  it("API v2's URL report: in text, the URL in its query is the row (the scan finds it there), as for SafeLinks", () => {
    const link =
      'https://www.virustotal.com/vtapi/v2/url/report?apikey=0123&resource=http%3A%2F%2Fevil-example.com%2Fx';
    expect(rows(`VT: ${link}`)).toEqual(['url:http://evil-example.com/x Valid <http%3A%2F%2Fevil-example.com%2Fx>']);
    const plain = 'https://www.virustotal.com/vtapi/v2/url/report?resource=http://evil-example.com/y&apikey=0123';
    expect(rows(`VT: ${plain}`)).toEqual(['url:http://evil-example.com/y Valid <http://evil-example.com/y>']);
  });

  it("API v2's URL report: pre-typed, the link stands for the URL", () => {
    const link =
      'https://www.virustotal.com/vtapi/v2/url/report?apikey=0123&resource=http%3A%2F%2Fevil-example.com%2Fx';
    expect(screenValue('url', link)).toMatchObject({ accepted: true, type: 'url', value: 'http://evil-example.com/x' });
  });
});

describe('hashes that are no file hashes', () => {
  it('keeps the MD5 and SHA256 of Sysmon Hashes and rejects its IMPHASH', () => {
    expect(
      rows(`Hashes: MD5=${MD5.toUpperCase()},SHA256=${SHA256.toUpperCase()},IMPHASH=${IMPHASH.toUpperCase()}`),
    ).toEqual([
      `md5_hash:${MD5} Valid <${MD5.toUpperCase()}>`,
      `sha256_hash:${SHA256} Valid <${SHA256.toUpperCase()}>`,
      `md5_hash:${IMPHASH} Hash is not a file hash (imphash) <${IMPHASH.toUpperCase()}>`,
    ]);
  });

  it.each([
    [`imphash=${IMPHASH}`, `md5_hash:${IMPHASH} Hash is not a file hash (imphash) <${IMPHASH}>`],
    [`ja3=${IMPHASH}`, `md5_hash:${IMPHASH} Hash is not a file hash (ja3) <${IMPHASH}>`],
    [`ja3s=${IMPHASH}`, `md5_hash:${IMPHASH} Hash is not a file hash (ja3s) <${IMPHASH}>`],
    [`hash=${IMPHASH}`, `md5_hash:${IMPHASH} Valid <${IMPHASH}>`],
    [
      'd41d8cd98f00b204e9800998ecf8427e',
      'md5_hash:d41d8cd98f00b204e9800998ecf8427e Known benign hash (empty file) <d41d8cd98f00b204e9800998ecf8427e>',
    ],
    [
      'SHA1=DA39A3EE5E6B4B0D3255BFEF95601890AFD80709',
      'sha1_hash:da39a3ee5e6b4b0d3255bfef95601890afd80709 Known benign hash (empty file) <DA39A3EE5E6B4B0D3255BFEF95601890AFD80709>',
    ],
    [
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'sha256_hash:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 Known benign hash (empty file) <e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855>',
    ],
  ])('%s', (text, expected) => {
    expect(rows(text)).toEqual([expected]);
  });

  it('dedups a file hash whatever key it came with, and keeps the keyed rejection apart', () => {
    expect(rows(`MD5=${MD5} ${MD5} imphash=${MD5}`)).toEqual([
      `md5_hash:${MD5} Valid <${MD5}>`,
      `md5_hash:${MD5} Duplicate <${MD5}>`,
      `md5_hash:${MD5} Hash is not a file hash (imphash) <${MD5}>`,
    ]);
  });
});

describe('versions are not IP addresses', () => {
  it.each([
    ['ProductVersion=5.2.3.4', '5.2.3.4'],
    ['FileVersion: 10.0.19041.1', null],
    ['Adobe Acrobat Reader DC 21.1.20.155', '21.1.20.155'],
    ['User-Agent: Agent/3.4.5.6', '3.4.5.6'],
    ['SplunkForwarder/9.1.2.3 (Linux)', '9.1.2.3'],
    ['running version 2.3.4.5 now', '2.3.4.5'],
    ['Version: 2.3.4.5', '2.3.4.5'],
    ['build 7.1.2.3', '7.1.2.3'],
  ])('%s', (text, address) => {
    expect(rows(text)).toEqual(address === null ? [] : [`ipv4:${address} IP address is a version number <${address}>`]);
  });

  it.each([
    ['src=5.2.3.4', 'ipv4:5.2.3.4 Valid <5.2.3.4>'],
    ['connect 5.2.3.4:443', 'ipv4:5.2.3.4 Valid <5.2.3.4>'],
    ['TCP_MISS/200 HIER_DIRECT/93.184.216.34 text/html', 'ipv4:93.184.216.34 Valid <93.184.216.34>'],
    ['GET /api/lookup/5.2.3.4', 'ipv4:5.2.3.4 Valid <5.2.3.4>'],
    ['DC 5.2.3.4 replied', 'ipv4:5.2.3.4 Valid <5.2.3.4>'],
    ['driver 5.2.3.4', 'ipv4:5.2.3.4 Valid <5.2.3.4>'],
  ])('keeps the address in %s', (text, expected) => {
    expect(rows(text)).toEqual([expected]);
  });

  it('still drops Chrome/120.0.0.0 without a row', () => {
    expect(rows('Mozilla/5.0 (Windows NT 10.0) Chrome/120.0.0.0 Safari/537.36')).toEqual([]);
  });
});

describe('file names are not domains', () => {
  it.each([
    ['gcc -O2 -c main.cc -o main.o', []],
    ['make -f Makefile.in all', []],
    ['libtool --mode=link gcc -o libfoo.la foo.lo', []],
    ['/usr/src/app/src/main.cc', []],
    ['C:\\build\\Makefile.in', []],
    ['perl ./lib/util.pl --verbose', []],
    ['automake configure.ac -Wall', []],
    // Elsewhere they are domains: .cc, .in, .pl and .la have many real ones.
    ['beacon to evil.cc every 60 s', ['dns:evil.cc Valid <evil.cc>']],
    ['shop at allegro.pl', ['dns:allegro.pl Valid <allegro.pl>']],
    ['evil.in - a known C2', ['dns:evil.in Valid <evil.in>']],
    ['-c evil[.]cc', ['dns:evil.cc Valid <evil[.]cc>']],
    ['-c www.evil.cc', ['dns:www.evil.cc Valid <www.evil.cc>']],
    ['-c evil.cc:443', ['dns:evil.cc Valid <evil.cc>']],
    ['hxxp://main[.]cc/x', ['url:http://main.cc/x Valid <hxxp://main[.]cc/x>']],
  ])('%s', (text, expected) => {
    expect(rows(text)).toEqual(expected);
  });
});

describe('multicast addresses and reverse-DNS names', () => {
  it.each([
    ['mDNS to 224.0.0.251:5353', 'ipv4:224.0.0.251 IP address is multicast <224.0.0.251>'],
    ['SSDP 239.255.255.250', 'ipv4:239.255.255.250 IP address is multicast <239.255.255.250>'],
    ['mDNS to ff02::fb', 'ipv6:ff02::fb IP address is multicast <ff02::fb>'],
    [
      'PTR 45.12.215.91.in-addr.arpa',
      'dns:45.12.215.91.in-addr.arpa Domain is a reverse-DNS name <45.12.215.91.in-addr.arpa>',
    ],
    [
      'PTR b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa',
      'dns:b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa Domain is a reverse-DNS name <b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa>',
    ],
  ])('%s', (text, expected) => {
    expect(rows(text)).toEqual([expected]);
  });
});

describe('escaped dots and heavier defangs', () => {
  it.each([
    ['evil\\.com', 'evil.com'],
    ['hxxp://app\\.evil\\.site/x', 'http://app.evil.site/x'],
    ['hxxp[://]app\\.evil\\.site/x', 'http://app.evil.site/x'],
    ['10\\.10\\.10\\.10', '10.10.10.10'],
    ['C:\\Windows\\System32\\x.dll', 'C:\\Windows\\System32\\x.dll'],
    ['C:\\Users\\bob\\.aws\\config', 'C:\\Users\\bob\\.aws\\config'],
    ['C:\\Users\\bob\\evil\\.com', 'C:\\Users\\bob\\evil\\.com'],
    ['evil\\.com\\', 'evil\\.com\\'],
    ['a.b\\.com', 'a.b\\.com'],
    ['10[[.]]10[[.]]10[[.]]10', '10.10.10.10'],
    ['evil[[.]]com', 'evil.com'],
    ['evil((dot))com', 'evil.com'],
    ['1.2[.]3(.)4', '1.2.3.4'],
    ['hxxps[:]//a\\.evil[.]com{.}au/x', 'https://a.evil.com.au/x'],
  ])('%s → %s', (text, expected) => {
    expect(refang(text)).toBe(expected);
  });

  it('leaves out of SourceText the invisible characters around a value, at its end as at its start', () => {
    expect(rows('visit \u200Bevil-site.com\u200B now, http://bad-site.com/x\u2060 and 8.8.4.4\u200B.')).toEqual([
      'dns:evil-site.com Valid <evil-site.com>',
      'url:http://bad-site.com/x Valid <http://bad-site.com/x>',
      'ipv4:8.8.4.4 Valid <8.8.4.4>',
    ]);
  });

  it('reports the escaped text as SourceText', () => {
    expect(rows('see evil\\.com and 45\\.77\\.1\\.2')).toEqual([
      'dns:evil.com Valid <evil\\.com>',
      'ipv4:45.77.1.2 Valid <45\\.77\\.1\\.2>',
    ]);
  });
});

describe('URL hosts and schemes', () => {
  it('rejects a URL whose host has no public suffix', () => {
    expect(rows('http://example.nope/x http://intranet.corp/y http://evil-example.com/z')).toEqual([
      'url:http://example.nope/x Host part of URL has no public suffix <http://example.nope/x>',
      'url:http://intranet.corp/y Host part of URL has no public suffix <http://intranet.corp/y>',
      'url:http://evil-example.com/z Valid <http://evil-example.com/z>',
    ]);
  });

  it("gives a URL's IP host an ipv4/ipv6 row with --url-hosts-as-dns", () => {
    expect(rows('hXXps://192.168.149[.]100/x http://[2600:1f18::1]:8080/x http://45.77.1.2/', true)).toEqual([
      'url:https://192.168.149.100/x Host part of URL is a private IP address <hXXps://192.168.149[.]100/x>',
      'ipv4:192.168.149.100 IP address is not global <192.168.149[.]100>',
      'url:http://[2600:1f18::1]:8080/x Valid <http://[2600:1f18::1]:8080/x>',
      'ipv6:2600:1f18::1 Valid <2600:1f18::1>',
      'url:http://45.77.1.2/ Valid <http://45.77.1.2/>',
      'ipv4:45.77.1.2 Valid <45.77.1.2>',
    ]);
    expect(rows('http://45.77.1.2/')).toEqual(['url:http://45.77.1.2/ Valid <http://45.77.1.2/>']);
  });

  it("accepts msticpy's schemes and rejects the rest with its message", () => {
    expect(rows('sftp://files.evil-example.com/x fxps://files.evil-example.com/y ssh://evil-example.com/z')).toEqual([
      'url:sftp://files.evil-example.com/x Valid <sftp://files.evil-example.com/x>',
      'url:ftps://files.evil-example.com/y Valid <fxps://files.evil-example.com/y>',
      // No URL for an unknown scheme: its host is a name in text.
      'dns:evil-example.com Valid <evil-example.com>',
    ]);
    expect(screenValue('url', 'ssh://evil-example.com/z')).toMatchObject({
      accepted: false,
      status: 'Observable does not match expected pattern for url',
    });
    expect(screenValue('url', 'sftps://evil-example.com/z')).toMatchObject({ accepted: true });
  });
});
