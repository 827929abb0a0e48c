import { describe, expect, it } from 'vitest';
import { extractCandidates } from '../../src/extract/index.js';

/** `type:value` of every candidate, in order. */
function found(text: string, urlHostsAsDns = false): string[] {
  return extractCandidates(text, { urlHostsAsDns }).map((candidate) => `${candidate.type}:${candidate.value}`);
}

describe('extractCandidates: types and normalisation', () => {
  it.each([
    ['ipv4', 'dst=93.184.216.34 dport=443', ['ipv4:93.184.216.34']],
    ['private ipv4 (screening rejects it)', 'src=10.1.2.3', ['ipv4:10.1.2.3']],
    ['zero-padded ipv4 (screening rejects it)', 'from 010.001.002.003 to', ['ipv4:010.001.002.003']],
    ['ipv4 with port', 'connect 8.8.8.8:53 ok', ['ipv4:8.8.8.8']],
    ['ipv4 in a CIDR', 'block 45.77.0.0/16', ['ipv4:45.77.0.0']],
    ['ipv6', 'dst=2001:4860:4860::8888 ok', ['ipv6:2001:4860:4860::8888']],
    ['ipv6 normalised', 'dst=2001:4860:4860:0000:0000:0000:0000:8888', ['ipv6:2001:4860:4860::8888']],
    ['ipv6 upper case', 'dst=2A03:2880:F10C::25', ['ipv6:2a03:2880:f10c::25']],
    ['ipv6 in brackets with port', '[2a03:2880:f10c::25]:443', ['ipv6:2a03:2880:f10c::25']],
    ['ipv6 with ipv4 tail', 'peer ::ffff:1.2.3.4 up', ['ipv6:::ffff:1.2.3.4']],
    ['dns, lower-cased', 'CONNECT Login.EVIL-Site.com:443', ['dns:login.evil-site.com']],
    ['dns under a two-label suffix', 'mail from bob@corp.example.co.uk', ['dns:corp.example.co.uk']],
    ['md5, lower-cased', 'MD5=D41D8CD98F00B204E9800998ECF8427E', ['md5_hash:d41d8cd98f00b204e9800998ecf8427e']],
    ['sha1', 'sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709', ['sha1_hash:da39a3ee5e6b4b0d3255bfef95601890afd80709']],
    [
      'sha256',
      'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      ['sha256_hash:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ],
    [
      'url keeps path and query case',
      'GET HTTPS://Evil.COM/Gate/Panel.php?ID=Abc#Top x',
      ['url:https://evil.com/Gate/Panel.php?ID=Abc#Top'],
    ],
    ['url with userinfo and port', 'ftp://User:Pw@Files.Evil.com:2121/a', ['url:ftp://User:Pw@files.evil.com:2121/a']],
    ['url on an IP host', 'GET http://45.77.1.2:8080/x', ['url:http://45.77.1.2:8080/x']],
    ['url on an unqualified host (screening rejects it)', 'GET http://intranet/x', ['url:http://intranet/x']],
    ['file url (screening rejects it)', 'open file:///etc/passwd now', ['url:file:///etc/passwd']],
    ['url on an IPv6 host', 'http://[2a03:2880:f10c::25]:80/x', ['url:http://[2a03:2880:f10c::25]:80/x']],
  ])('%s', (_name, text, expected) => {
    expect(found(text)).toEqual(expected);
  });

  it('keeps text order across types', () => {
    expect(found('a 8.8.8.8 b evil.com c http://x.evil.net/p d d41d8cd98f00b204e9800998ecf8427e')).toEqual([
      'ipv4:8.8.8.8',
      'dns:evil.com',
      'url:http://x.evil.net/p',
      'md5_hash:d41d8cd98f00b204e9800998ecf8427e',
    ]);
  });

  it('reports the original text and whether it was defanged', () => {
    expect(extractCandidates('C2 hXXps[:]//Evil[.]com/a, then 8(.)8(.)8(.)8 and EVIL.net')).toEqual([
      { type: 'url', value: 'https://evil.com/a', original: 'hXXps[:]//Evil[.]com/a', defanged: true, context: '' },
      { type: 'ipv4', value: '8.8.8.8', original: '8(.)8(.)8(.)8', defanged: true, context: '' },
      { type: 'dns', value: 'evil.net', original: 'EVIL.net', defanged: false, context: '' },
    ]);
  });

  it('finds nothing in text without indicators', () => {
    expect(found('')).toEqual([]);
    expect(found('the quick brown fox; version 2.0.1 at 12:30:45.123 took 1.5s')).toEqual([]);
  });
});

describe('extractCandidates: boundaries', () => {
  it.each([
    ['a longer dotted number', 'build 10.4.27.5423 ok', []],
    ['five dotted parts', 'oid 1.2.3.4.5 ok', []],
    ['an address inside a reverse-DNS name', 'ptr 4.3.2.1.in-addr.arpa', ['dns:4.3.2.1.in-addr.arpa']],
    ['a dotted quad glued to letters', 'v1.2.3.4 and 1.2.3.4b', []],
    ['parts over 255', 'x 256.1.1.1 y', []],
    ['a reduced Chrome user agent', 'Mozilla/5.0 (X11) Chrome/120.0.0.0 Safari/537.36', []],
    ['a Squid hierarchy code stays an address', 'HIER_DIRECT/93.184.216.34 text/html', ['ipv4:93.184.216.34']],
    ['an address range', 'allow 45.77.0.1-45.77.0.9', ['ipv4:45.77.0.1', 'ipv4:45.77.0.9']],
    ['a sentence-final address', 'Traffic went to 45.77.1.2.', ['ipv4:45.77.1.2']],
    ['a hash inside a longer hex run', `x ${'a1'.repeat(20)}ff y`, []],
    ['a hash glued to letters', 'xd41d8cd98f00b204e9800998ecf8427e', []],
    ['a 33-character hex run', 'd41d8cd98f00b204e9800998ecf8427e0', []],
    [
      'a hash between underscores and dots',
      'sample_d41d8cd98f00b204e9800998ecf8427e.exe',
      ['md5_hash:d41d8cd98f00b204e9800998ecf8427e'],
    ],
    ['trailing sentence punctuation', 'Visit http://evil.com/a/b.php?x=1. Then', ['url:http://evil.com/a/b.php?x=1']],
    [
      'trailing comma and semicolon',
      'http://evil.com/a, http://evil.com/b; http://evil.com/c!',
      ['url:http://evil.com/a', 'url:http://evil.com/b', 'url:http://evil.com/c'],
    ],
    ['an unbalanced closing parenthesis', '(see http://evil.com/a)', ['url:http://evil.com/a']],
    ['a balanced parenthesis', 'http://evil.com/wiki/Foo_(bar) x', ['url:http://evil.com/wiki/Foo_(bar)']],
    ['an unbalanced closing bracket', '[http://evil.com/a]', ['url:http://evil.com/a']],
    ['quotes', `'http://evil.com/a' and "http://evil.com/b"`, ['url:http://evil.com/a', 'url:http://evil.com/b']],
    ['angle brackets', '<http://evil.com/a>', ['url:http://evil.com/a']],
    ['a bare scheme', 'the http:// prefix', []],
    ['an unknown scheme', 'gopher://evil.com/x', ['dns:evil.com']],
    ['an ipv6 look-alike time', 'at 10:12:13 and 12:00:00Z', []],
    ['a MAC address', 'mac 00:1a:2b:3c:4d:5e', []],
    ['a C++ scope', 'std::string Foo::bar', []],
    ['a sentence-final ipv6', 'reached 2a03:2880:f10c::25.', ['ipv6:2a03:2880:f10c::25']],
    ['a domain followed by =', 'user.name=bob host.id=7', []],
    ['a trailing dot', 'resolved evil.com.', ['dns:evil.com']],
    [
      'a domain whose first label is hex',
      'd41d8cd98f00b204e9800998ecf8427e.evil.com',
      ['dns:d41d8cd98f00b204e9800998ecf8427e.evil.com'],
    ],
    [
      'hashes joined by hyphens',
      `x-${'ab12'.repeat(8)}-${'cd34'.repeat(10)} y`,
      [`md5_hash:${'ab12'.repeat(8)}`, `sha1_hash:${'cd34'.repeat(10)}`],
    ],
    ['an underscore label', 'exa_mple.com _dmarc.evil.com', []],
    ['a leading hyphen label', '-bad.com', []],
    ['a non-public suffix', 'example.local foo.internal a.b localhost java.lang.String', []],
    ['a bare public suffix', 'co.uk', []],
  ])('%s', (_name, text, expected) => {
    expect(found(text)).toEqual(expected);
  });

  it("does not report a URL's host as a dns candidate by default", () => {
    expect(found('GET http://login.evil.com/a')).toEqual(['url:http://login.evil.com/a']);
  });

  it('reports the host after its URL with urlHostsAsDns', () => {
    expect(found('GET http://Login.Evil.com:8080/a and http://45.77.1.2/b', true)).toEqual([
      'url:http://login.evil.com:8080/a',
      'dns:login.evil.com',
      'url:http://45.77.1.2/b',
      'ipv4:45.77.1.2',
    ]);
  });
});

describe('extractCandidates: file names whose extension is a TLD', () => {
  it.each([
    ['invoice.zip', []],
    ['readme.md', []],
    ['script.py', []],
    ['run.sh', []],
    ['/Applications/Safari.app/Contents', []],
    ['C:\\Windows\\System32\\CatRoot\\oem1.cat', []],
    ['id_rsa.pub', []],
    ['lib.so', []],
    ['setup.exe', []],
    ['report.pdf', []],
    ['invoice[.]zip', ['dns:invoice.zip']],
    ['hxxp://invoice[.]zip/a', ['url:http://invoice.zip/a']],
    ['http://invoice.zip/a', ['url:http://invoice.zip/a']],
    ['www.invoice.zip', ['dns:www.invoice.zip']],
    ['invoice.zip:443', ['dns:invoice.zip']],
    ['ovemydress.pl', ['dns:ovemydress.pl']],
    ['startup.ai', ['dns:startup.ai']],
  ])('%s → %j', (text, expected) => {
    expect(found(text)).toEqual(expected);
  });
});

describe('extractCandidates: hostile input stays correct', () => {
  it.each([
    ['a.a.a.…', 'a.'.repeat(50_000)],
    ['1.1.1.1.…', '1.'.repeat(50_000)],
    ['hex', '0123456789abcdef'.repeat(5_000)],
    ['1:1:1:…', '1:'.repeat(50_000)],
    ['parentheses', `(${'('.repeat(20_000)}${')'.repeat(20_000)}`],
  ])('%s yields nothing', (_name, text) => {
    expect(found(text)).toEqual([]);
  });

  it('reads http://http://… as one URL whose host is `http` (screening rejects it)', () => {
    expect(found('http://'.repeat(10_000))).toEqual([`url:${'http://'.repeat(10_000)}`]);
  });

  it('finds every URL of a long line of URLs', () => {
    const candidates = extractCandidates('hxxp://a[.]com/x http://user@b.com:81/y '.repeat(5_000));
    expect(candidates).toHaveLength(10_000);
    expect(candidates.slice(0, 2).map((candidate) => candidate.value)).toEqual([
      'http://a.com/x',
      'http://user@b.com:81/y',
    ]);
  });

  it('rejects URLs with an empty host, and still finds what follows their `://`', () => {
    expect(found('http:/// http://? http://user@/x http://:80/ https://#f')).toEqual([]);
    expect(found('http://:80/evil.com/x http://u@/8.8.8.8 file:///etc/passwd')).toEqual([
      'dns:evil.com',
      'ipv4:8.8.8.8',
      'url:file:///etc/passwd',
    ]);
    expect(found('http://[::1]/ http://?evil.com')).toEqual(['url:http://[::1]/', 'dns:evil.com']);
    // Each `://` of such a line is one rejected URL (that a long line of them is read in linear time is the
    // benchmark's hostile `http:///…` case).
    expect(found('http:///'.repeat(2_000))).toEqual([]);
  });

  it('finds indicators next to a long hostile run', () => {
    expect(found(`${'a.'.repeat(10_000)} 8.8.8.8`)).toEqual(['ipv4:8.8.8.8']);
  });
});
