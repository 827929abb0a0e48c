import { describe, expect, it } from 'vitest';
import { Allowlist } from '../src/allowlist.js';
import { InputError } from '../src/errors.js';
import type { IocType } from '../src/types.js';

const LIST = Allowlist.parse(
  [
    '# corporate allowlist',
    'example.com',
    '*.cdn.vendor.net   # wildcard form',
    '.partner.org',
    '',
    '8.8.8.8',
    '2001:4860:4860:0:0:0:0:8888',
    '45.77.0.0/16',
    '2a03:2880::/32',
    'D41D8CD98F00B204E9800998ECF8427E',
    'good[.]io',
  ].join('\r\n'),
  'allow.txt',
);

describe('Allowlist.matches', () => {
  it.each<[IocType, string, boolean]>([
    ['dns', 'example.com', true],
    ['dns', 'www.example.com', true],
    ['dns', 'a.b.example.com', true],
    ['dns', 'notexample.com', false],
    ['dns', 'example.com.evil.net', false],
    ['dns', 'x.cdn.vendor.net', true],
    ['dns', 'cdn.vendor.net', true],
    ['dns', 'vendor.net', false],
    ['dns', 'partner.org', true],
    ['dns', 'good.io', true],
    ['ipv4', '8.8.8.8', true],
    ['ipv4', '8.8.4.4', false],
    ['ipv4', '45.77.200.1', true],
    ['ipv4', '45.78.0.1', false],
    ['ipv6', '2001:4860:4860::8888', true],
    ['ipv6', '2a03:2880:f10c::25', true],
    ['ipv6', '2a03:2881::1', false],
    ['url', 'https://www.example.com/a?b=c', true],
    ['url', 'http://45.77.1.2:8080/x', true],
    ['url', 'http://[2a03:2880:f10c::25]/x', true],
    ['url', 'https://evil.com/example.com', false],
    ['md5_hash', 'd41d8cd98f00b204e9800998ecf8427e', true],
    ['sha256_hash', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', false],
  ])('%s %s → %s', (type, value, expected) => {
    expect(LIST.matches(type, value)).toBe(expected);
  });

  it('counts its entries, ignoring comments and blank lines', () => {
    expect(LIST.size).toBe(9);
  });
});

describe('Allowlist.parse errors', () => {
  it.each([
    ['a bad CIDR prefix', '8.8.8.0/33', 1],
    ['a bad CIDR address', 'evil.com/24', 1],
    ['an invalid name', 'ok.com\nbad_name!.com', 2],
    ['a URL', '# c\n\nhttp://evil.com/x', 3],
  ])('rejects %s naming the source and line', (_name, text, line) => {
    let caught: unknown;
    try {
      Allowlist.parse(text, 'allow.txt');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect(caught).toMatchObject({ code: 'BAD_INPUT', file: 'allow.txt', line });
    expect((caught as Error).message).toMatch(/^allow\.txt:\d+: Expected a domain/);
  });
});
