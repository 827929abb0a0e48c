import { describe, expect, it } from 'vitest';
import { hexHashEntropy, screenRefanged, screenValue } from '../src/screen.js';
import type { IocType } from '../src/types.js';

const PATTERN = (type: string) => `Observable does not match expected pattern for ${type}`;

describe('screenValue: accepted values come back normalised', () => {
  it.each([
    ['ipv4', '8.8.8.8', '8.8.8.8'],
    ['ipv4', ' 8.8.8.8\t', '8.8.8.8'],
    ['ipv4', '8[.]8[.]8[.]8', '8.8.8.8'],
    ['ipv4', '223.255.255.254', '223.255.255.254'],
    ['ipv6', '2001:4860:4860::8888', '2001:4860:4860::8888'],
    ['ipv6', '2001:4860:4860:0:0:0:0:8888', '2001:4860:4860::8888'],
    ['ipv6', '2A03:2880:F10C::25', '2a03:2880:f10c::25'],
    ['dns', 'UPPER.COM', 'upper.com'],
    ['dns', 'evil[.]com', 'evil.com'],
    ['dns', 'evil.com.', 'evil.com'],
    ['dns', 'invoice.zip', 'invoice.zip'],
    ['dns', 'a.b.co.uk', 'a.b.co.uk'],
    ['dns', 'xn--80ak6aa92e.com', 'xn--80ak6aa92e.com'],
    ['url', 'https://example.com:8443/a?b=c#frag', 'https://example.com:8443/a?b=c#frag'],
    ['url', 'HTTPS://Example.COM/Path?Q=V', 'https://example.com/Path?Q=V'],
    // Only non-ASCII capitals in the host: lower-cased as well (the fast path for lower-case URLs must not skip it).
    ['url', 'http://bÜcher.de/X', 'http://xn--bcher-kva.de/X'],
    ['url', 'hxxp://evil[.]com/a', 'http://evil.com/a'],
    ['url', 'http://100.64.0.1/', 'http://100.64.0.1/'],
    ['url', 'sftp://files.evil.com/a', 'sftp://files.evil.com/a'],
    ['url', 'http://[2a03:2880:f10c::25]/x', 'http://[2a03:2880:f10c::25]/x'],
    ['url', 'ftp://files.evil.com/a', 'ftp://files.evil.com/a'],
    ['md5_hash', '7657fcb7d772448a6d8504e4b20168b8', '7657fcb7d772448a6d8504e4b20168b8'],
    ['md5_hash', '7657FCB7D772448A6D8504E4B20168B8', '7657fcb7d772448a6d8504e4b20168b8'],
    ['sha1_hash', '3395856ce81f2b7382dee72602f798b642f14140', '3395856ce81f2b7382dee72602f798b642f14140'],
    [
      'sha256_hash',
      '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f',
      '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f',
    ],
    ['IPv4', '8.8.8.8', '8.8.8.8'],
    ['hostname', 'evil.com', 'evil.com'],
  ])('%s %j → %j', (type, raw, value) => {
    const outcome = screenValue(type, raw);
    expect(outcome).toMatchObject({ accepted: true, value });
  });

  it('picks the hash type from the length for file_hash', () => {
    expect(screenValue('file_hash', '3395856ce81f2b7382dee72602f798b642f14140')).toEqual({
      accepted: true,
      type: 'sha1_hash',
      value: '3395856ce81f2b7382dee72602f798b642f14140',
    });
  });
});

describe("screenValue: msticpy's rejection messages", () => {
  it.each([
    // any type: the pattern
    ['ipv4', '1.2.3', PATTERN('ipv4')],
    ['ipv4', '2001:db8::1', PATTERN('ipv4')],
    ['ipv4', '1.2.3.4:80', PATTERN('ipv4')],
    ['ipv6', '1.2.3.4', PATTERN('ipv6')],
    ['ipv6', '2001:db8::g', PATTERN('ipv6')],
    ['dns', 'example.local', PATTERN('dns')],
    ['dns', 'foo.internal', PATTERN('dns')],
    ['dns', 'localhost', PATTERN('dns')],
    ['dns', 'a.b', PATTERN('dns')],
    ['dns', 'exa_mple.com', PATTERN('dns')],
    ['dns', '-bad.com', PATTERN('dns')],
    ['dns', 'co.uk', PATTERN('dns')],
    ['dns', 'bad..com', PATTERN('dns')],
    ['url', 'evil.com/path', PATTERN('url')],
    ['url', 'gopher://evil.com/', PATTERN('url')],
    ['url', 'http://evil.com/a b', PATTERN('url')],
    ['md5_hash', 'd41d8cd98f00b204e9800998ecf8427', PATTERN('md5_hash')],
    ['md5_hash', 'da39a3ee5e6b4b0d3255bfef95601890afd80709', PATTERN('md5_hash')],
    ['sha1_hash', 'zz39a3ee5e6b4b0d3255bfef95601890afd80709', PATTERN('sha1_hash')],
    ['sha256_hash', 'e3b0c442', PATTERN('sha256_hash')],
    // ipv4 / ipv6
    ['ipv4', '999.1.1.1', 'IP address is invalid format'],
    ['ipv4', '01.2.3.4', 'IP address is invalid format'],
    ['ipv6', '1:2:3:4:5:6:7:8:9', 'IP address is invalid format'],
    ['ipv6', '12345::1', 'IP address is invalid format'],
    ['ipv6', '1::2::3', 'IP address is invalid format'],
    ['ipv4', '0.1.2.3', 'IP address is not global'],
    ['ipv4', '10.1.2.3', 'IP address is not global'],
    ['ipv4', '100.64.0.1', 'IP address is not global'],
    ['ipv4', '127.0.0.1', 'IP address is not global'],
    ['ipv4', '169.254.1.1', 'IP address is not global'],
    ['ipv4', '172.16.0.1', 'IP address is not global'],
    ['ipv4', '172.31.255.255', 'IP address is not global'],
    ['ipv4', '192.0.0.5', 'IP address is not global'],
    ['ipv4', '192.0.2.1', 'IP address is not global'],
    ['ipv4', '198.18.0.1', 'IP address is not global'],
    ['ipv4', '198.19.255.1', 'IP address is not global'],
    ['ipv4', '198.51.100.1', 'IP address is not global'],
    ['ipv4', '203.0.113.1', 'IP address is not global'],
    ['ipv4', '192.168.1.1', 'IP address is not global'],
    ['ipv4', '240.0.0.1', 'IP address is not global'],
    ['ipv4', '255.255.255.255', 'IP address is not global'],
    ['ipv6', '::1', 'IP address is not global'],
    ['ipv6', '::', 'IP address is not global'],
    ['ipv6', 'fe80::1', 'IP address is not global'],
    ['ipv6', 'fc00::1', 'IP address is not global'],
    ['ipv6', 'fd12:3456::1', 'IP address is not global'],
    ['ipv6', '2001:db8::1', 'IP address is not global'],
    ['ipv6', '::ffff:8.8.8.8', 'IP address is not global'],
    ['ipv6', '100::1', 'IP address is not global'],
    // dns
    ['dns', 'WORKSTATION01', 'Domain is unqualified domain name'],
    ['dns', '8.8.8.8', 'Domain is an IP address'],
    ['dns', '2001:4860::8888', 'Domain is an IP address'],
    // url
    ['url', 'file:///etc/passwd', 'Could not obtain scheme or host from file:///etc/passwd'],
    ['url', 'http:///path', 'Could not obtain scheme or host from http:///path'],
    ['url', 'http://10.0.0.1/admin', 'Host part of URL is a private IP address'],
    ['url', 'http://127.0.0.1:8080/', 'Host part of URL is a private IP address'],
    ['url', 'http://[::1]/', 'Host part of URL is a private IP address'],
    ['url', 'https://myhost/x', 'Host is unqualified domain name'],
    ['url', 'file://server.corp.com/share/a.txt', 'file URL scheme is not supported'],
    // hashes
    ['md5_hash', '00000000000000000000000000000000', 'String has too low an entropy to be a hash'],
    ['md5_hash', '0102030405060708090a0b0c0d0e0f10', 'String has too low an entropy to be a hash'],
    ['sha1_hash', 'aaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbb', 'String has too low an entropy to be a hash'],
    // unknown types
    [
      'sh256_hash',
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'Unsupported IoC type: sh256_hash',
    ],
    ['email', 'bob@evil.com', 'Unsupported IoC type: email'],
  ])('%s %j → %s', (type, raw, status) => {
    const outcome = screenValue(type, raw);
    expect(outcome).toMatchObject({ accepted: false, status });
  });

  it('keeps the given type name of an unsupported type and the stripped, refanged value', () => {
    expect(screenValue('Email', ' bob[at]evil.com ')).toEqual({
      accepted: false,
      type: 'Email',
      value: 'bob@evil.com',
      status: 'Unsupported IoC type: Email',
    });
  });

  it('reports the resolved type of a rejected known type', () => {
    expect(screenValue(' DNS ', 'localhost')).toMatchObject({ accepted: false, type: 'dns' });
  });
});

describe('screenRefanged', () => {
  it.each<[IocType, string]>([
    ['ipv4', '8.8.8.8'],
    ['ipv4', '10.1.2.3'],
    ['ipv4', '01.2.3.4'],
    ['ipv6', '2001:4860:4860:0:0:0:0:8888'],
    ['dns', 'Evil.COM'],
    ['dns', 'WORKSTATION01'],
    ['url', 'HTTP://Evil.com/A'],
    ['url', 'file:///etc/passwd'],
    ['md5_hash', '00000000000000000000000000000000'],
    ['sha1_hash', 'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709'],
  ])('gives screenValue’s outcome for an already refanged %s %s', (type, value) => {
    expect(screenRefanged(type, value)).toEqual(screenValue(type, value));
  });
});

describe("hexHashEntropy (msticpy's Shannon entropy of a hash)", () => {
  it.each([
    ['', 0],
    ['aaaa', 0],
    ['ab', 1],
    ['0123456789abcdef', 4],
  ])('%j → %d bits', (value, bits) => {
    expect(hexHashEntropy(value, value.length)).toBeCloseTo(bits, 10);
  });

  it("matches the doc's observed values", () => {
    expect(hexHashEntropy('0102030405060708090a0b0c0d0e0f10', 32)).toBeCloseTo(2.94, 2);
    expect(hexHashEntropy('7657fcb7d772448a6d8504e4b20168b8', 32)).toBeCloseTo(3.59, 2);
  });
});
