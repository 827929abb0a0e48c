import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { OptionError } from '../../src/errors.js';
import { normalizeLookupOptions } from '../../src/vt/options.js';
import { noProxyMatches, parseProxyUrl, redactProxyCredentials, resolveProxy } from '../../src/vt/proxy.js';

describe('NO_PROXY matching, as curl reads it', () => {
  const cases: Array<[string, number, string, boolean]> = [
    // host names: itself and its subdomains, case-insensitively, trailing dots ignored
    ['www.virustotal.com', 443, 'virustotal.com', true],
    ['virustotal.com', 443, 'virustotal.com', true],
    ['WWW.VirusTotal.COM.', 443, 'virustotal.com', true],
    ['www.virustotal.com', 443, '.virustotal.com', true],
    ['virustotal.com', 443, '.virustotal.com', true],
    ['notvirustotal.com', 443, 'virustotal.com', false],
    ['virustotal.com.evil.example', 443, 'virustotal.com', false],
    ['www.virustotal.com', 443, 'www.virustotal.co', false],
    // lists: commas and blanks, empty entries
    ['www.virustotal.com', 443, 'localhost, ,corp.example ,virustotal.com', true],
    ['www.virustotal.com', 443, 'localhost corp.example', false],
    ['www.virustotal.com', 443, ',,', false],
    ['www.virustotal.com', 443, '', false],
    // everything
    ['www.virustotal.com', 443, '*', true],
    ['127.0.0.1', 8990, ' * ', true],
    ['www.virustotal.com', 443, 'localhost,*', true],
    // beyond curl: *.domain and host:port
    ['www.virustotal.com', 443, '*.virustotal.com', true],
    ['www.virustotal.com', 443, 'virustotal.com:443', true],
    ['www.virustotal.com', 443, 'virustotal.com:8443', false],
    // IP literals: exact, CIDR, IPv6 with or without brackets, ports
    ['127.0.0.1', 8990, '127.0.0.1', true],
    ['127.0.0.1', 8990, '127.0.0.2', false],
    ['127.0.0.1', 8990, '127.0.0.0/8', true],
    ['127.0.0.1', 8990, '10.0.0.0/8', false],
    ['127.0.0.1', 8990, '127.0.0.1:8990', true],
    ['127.0.0.1', 8990, '127.0.0.1:8991', false],
    ['::1', 8990, '::1', true],
    ['[::1]', 8990, '[::1]', true],
    ['::1', 8990, '[::1]:8990', true],
    ['::1', 8990, '[::1]:8991', false],
    ['::1', 8990, '::/64', true],
    ['::1', 8990, '127.0.0.1', false],
    ['::ffff:127.0.0.1', 8990, '127.0.0.0/8', true],
    // an IP target never matches a name, nor a name a CIDR
    ['127.0.0.1', 8990, 'localhost', false],
    ['localhost', 8990, '127.0.0.0/8', false],
    ['127.0.0.1', 8990, '0.0.1', false],
  ];
  it.each(cases)('%s:%d against %j → %s', (host, port, list, expected) => {
    expect(noProxyMatches(host, port, list)).toBe(expected);
  });
});

describe('proxy URLs', () => {
  it('parses host, port and scheme, with curl’s default ports', () => {
    expect(parseProxyUrl('http://proxy.corp.example:3128')).toMatchObject({
      secure: false,
      host: 'proxy.corp.example',
      port: 3128,
      display: 'proxy.corp.example:3128',
      hasCredentials: false,
    });
    expect(parseProxyUrl('127.0.0.1:8080')).toMatchObject({ secure: false, host: '127.0.0.1', port: 8080 });
    expect(parseProxyUrl('http://127.0.0.1')).toMatchObject({ port: 1080 });
    expect(parseProxyUrl('https://127.0.0.1')).toMatchObject({ secure: true, port: 443 });
    expect(parseProxyUrl('http://[::1]:3128')).toMatchObject({ host: '::1', display: '[::1]:3128' });
  });

  it('sends %-decoded credentials as Basic, and never shows them', () => {
    const proxy = parseProxyUrl('http://CORP%5Cjdoe:p%40ss%3Aw0rd@127.0.0.1:3128');
    expect(proxy.hasCredentials).toBe(true);
    expect(proxy.authorization()).toBe(`Basic ${Buffer.from('CORP\\jdoe:p@ss:w0rd').toString('base64')}`);
    for (const shown of [String(proxy), JSON.stringify({ proxy }), inspect(proxy), inspect({ proxy }, { depth: 5 })]) {
      expect(shown).toContain('127.0.0.1:3128');
      expect(shown).not.toMatch(/jdoe|p%40ss|p@ss|Basic/);
    }
  });

  it('refuses other schemes and bad URLs with the credentials cut out of the message', () => {
    for (const [text, expected] of [
      ['socks5://user:Secr3t@127.0.0.1:1080', /SOCKS proxies are not supported/],
      ['http://user:Secr3t@127.0.0.1:99999', /a proxy URL such as/],
      ['http://user:Secr3t%zz@127.0.0.1:3128', /validly %-encoded/],
    ] as const) {
      let error: unknown;
      try {
        parseProxyUrl(text, 'HTTPS_PROXY');
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(OptionError);
      expect((error as Error).message).toMatch(expected);
      expect((error as Error).message).toContain('`HTTPS_PROXY`');
      expect((error as Error).message).toContain('[redacted]@127.0.0.1');
      expect((error as Error).message).not.toContain('Secr3t');
    }
    expect(redactProxyCredentials('user:pw@host:1')).toBe('[redacted]@host:1');
    // An unencoded / ? # in the password is what breaks such a URL: everything up to the last @ goes.
    expect(redactProxyCredentials('http://jdoe:se/cr?e#t@127.0.0.1:3128')).toBe('http://[redacted]@127.0.0.1:3128');
    expect(redactProxyCredentials('http://127.0.0.1:3128')).toBe('http://127.0.0.1:3128');
    expect(() => parseProxyUrl('http://jdoe:se/cr@127.0.0.1:3128')).toThrow(
      /`http:\/\/\[redacted\]@127\.0\.0\.1:3128`/,
    );
  });

  it('scrubs the password and the encoded credentials out of text from the network', () => {
    const proxy = parseProxyUrl('http://jdoe:Hunter2-x@127.0.0.1:3128');
    const basic = (proxy.authorization() ?? '').slice('Basic '.length);
    expect(proxy.scrub(`403 denied Hunter2-x ${basic}`)).toBe('403 denied [redacted] [redacted]');
    expect(parseProxyUrl('http://127.0.0.1:3128').scrub('403 Forbidden')).toBe('403 Forbidden');
  });

  it('resolves to no proxy when NO_PROXY exempts the server, and checks the URL even then', () => {
    expect(resolveProxy('https://www.virustotal.com', 'http://127.0.0.1:3128', undefined)?.display).toBe(
      '127.0.0.1:3128',
    );
    expect(resolveProxy('https://www.virustotal.com', 'http://127.0.0.1:3128', '.virustotal.com')).toBeUndefined();
    expect(resolveProxy('http://127.0.0.1:8990', 'http://127.0.0.1:3128', '127.0.0.1:8990')).toBeUndefined();
    expect(resolveProxy('http://127.0.0.1:8990', 'http://127.0.0.1:3128', '127.0.0.1:80')?.port).toBe(3128);
    expect(resolveProxy('https://www.virustotal.com', '', undefined)).toBeUndefined();
    expect(() => resolveProxy('https://www.virustotal.com', 'ftp://127.0.0.1', '*')).toThrow(OptionError);
  });

  it('are lookup options: validated, and the CA list must be PEM', () => {
    const options = normalizeLookupOptions({ apiKey: 'k', proxy: 'http://u:pw@127.0.0.1:3128', noProxy: 'localhost' });
    expect(options.proxy?.display).toBe('127.0.0.1:3128');
    expect(JSON.stringify(options)).not.toContain('pw');
    expect(normalizeLookupOptions({ apiKey: 'k' }).proxy).toBeUndefined();
    expect(() => normalizeLookupOptions({ apiKey: 'k', ca: 'not a certificate' })).toThrow(/PEM certificates/);
  });
});
