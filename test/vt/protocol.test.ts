import { describe, expect, it } from 'vitest';
import type { Observable } from '../../src/types.js';
import { NetworkFailure } from '../../src/vt/http-client.js';
import {
  classify,
  matchBatch,
  parseOverallQuotas,
  redact,
  v2ReportPath,
  v3ObjectPath,
  v3QuotasPath,
} from '../../src/vt/protocol.js';

function reply(
  status: number,
  body: unknown,
  retryAfter?: string,
): { status: number; retryAfter: string | undefined; body: Buffer } {
  return { status, retryAfter, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) };
}

const error = (code: string): unknown => ({ error: { code, message: 'm' } });

describe('classify', () => {
  it.each([
    ['v3', reply(200, { data: {} }), { kind: 'ok' }],
    ['v3', reply(200, '{"data": {'), { kind: 'retry', code: 'malformed reply' }],
    ['v3', reply(200, ''), { kind: 'retry', code: 'malformed reply' }],
    ['v3', reply(404, error('NotFoundError')), { kind: 'notFound' }],
    ['v3', reply(401, error('WrongCredentialsError')), { kind: 'auth', code: 'WrongCredentialsError', status: 401 }],
    ['v3', reply(403, error('ForbiddenError')), { kind: 'forbidden', code: 'ForbiddenError' }],
    ['v3', reply(400, error('InvalidArgumentError')), { kind: 'failed', code: 'InvalidArgumentError' }],
    ['v3', reply(400, error('NotAvailableYet')), { kind: 'retry', code: 'NotAvailableYet' }],
    [
      'v3',
      reply(429, error('TooManyRequestsError'), '3'),
      { kind: 'retry', code: 'TooManyRequestsError', retryAfter: '3' },
    ],
    ['v3', reply(429, error('QuotaExceededError')), { kind: 'quota', code: 'QuotaExceededError' }],
    ['v3', reply(503, error('TransientError')), { kind: 'retry', code: 'TransientError' }],
    ['v3', reply(504, error('DeadlineExceededError')), { kind: 'retry', code: 'DeadlineExceededError' }],
    ['v3', reply(502, '<html>bad gateway</html>'), { kind: 'retry', code: 'http 502' }],
    ['v3', reply(418, ''), { kind: 'failed', code: 'http 418' }],
    ['v2', reply(200, [{ response_code: 1 }]), { kind: 'ok' }],
    ['v2', reply(204, ''), { kind: 'quota', code: 'http 204' }],
    ['v2', reply(403, ''), { kind: 'auth', code: 'ForbiddenError', status: 403 }],
    ['v2', reply(400, ''), { kind: 'failed', code: 'http 400' }],
    ['v2', reply(404, ''), { kind: 'failed', code: 'http 404' }],
    ['v3', new NetworkFailure('ECONNRESET', 'cut'), { kind: 'retry', code: 'network error ECONNRESET' }],
    ['v3', new NetworkFailure('ETIMEDOUT', 'slow'), { kind: 'retry', code: 'timeout' }],
  ] as const)('%s %j', (api, input, expected) => {
    expect(classify(api, input)).toMatchObject(expected);
  });

  it('never takes a VT code that is not a plain word (it ends up in a Status)', () => {
    expect(classify('v3', reply(400, error('a "quoted" <code>')))).toMatchObject({ kind: 'failed', code: 'http 400' });
  });
});

describe('paths', () => {
  const observable = (type: Observable['type'], value: string): Observable => ({
    type,
    value,
    key: `${type}:${value}`,
  });

  it.each([
    [observable('md5_hash', '7657fcb7d772448a6d8504e4b20168b8'), '/api/v3/files/7657fcb7d772448a6d8504e4b20168b8'],
    [observable('dns', 'example.com'), '/api/v3/domains/example.com'],
    [observable('ipv4', '8.8.8.8'), '/api/v3/ip_addresses/8.8.8.8'],
    [observable('ipv6', '2001:4860:4860::8888'), '/api/v3/ip_addresses/2001:4860:4860::8888'],
    [observable('url', 'http://example.com/a?b=c'), '/api/v3/urls/aHR0cDovL2V4YW1wbGUuY29tL2E_Yj1j'],
  ])('v3 %j → %s', (input, expected) => {
    expect(v3ObjectPath(input)).toBe(expected);
  });

  it('v2 batches hashes with commas and URLs with newlines', () => {
    const files = new URL(`http://h${v2ReportPath('file', ['a1', 'b2'], 'k&y')}`);
    expect(files.pathname).toBe('/vtapi/v2/file/report');
    expect(files.searchParams.get('resource')).toBe('a1,b2');
    expect(files.searchParams.get('apikey')).toBe('k&y');
    const urls = new URL(`http://h${v2ReportPath('url', ['http://a.com/x,y', 'http://b.com/'], 'k')}`);
    expect(urls.searchParams.get('resource')).toBe('http://a.com/x,y\nhttp://b.com/');
    expect(new URL(`http://h${v2ReportPath('ip-address', ['8.8.8.8'], 'k')}`).searchParams.get('ip')).toBe('8.8.8.8');
    expect(new URL(`http://h${v2ReportPath('domain', ['a.com'], 'k')}`).searchParams.get('domain')).toBe('a.com');
  });

  it('redacts the key, raw and URL-encoded, from any text', () => {
    const key = 'abc/def+1';
    const text = `GET ${v3QuotasPath(key)} and ${v2ReportPath('file', ['x'], key)} with ${key}`;
    expect(redact(text, key)).not.toContain(key);
    expect(redact(text, key)).not.toContain(encodeURIComponent(key));
  });
});

describe('matchBatch', () => {
  const hashes: Observable[] = ['aa11', 'bb22', 'cc33'].map((value) => ({
    type: 'md5_hash',
    value,
    key: `md5_hash:${value}`,
  }));

  it('matches by resource, whatever the order and case', () => {
    const answers = matchBatch(hashes, [
      { resource: 'CC33', n: 3 },
      { resource: 'aa11', n: 1 },
      { resource: 'bb22', n: 2 },
    ]);
    expect(answers.map((answer) => answer?.['n'])).toEqual([1, 2, 3]);
  });

  it('leaves out what the reply left out (a batch cut at the server’s limit)', () => {
    const answers = matchBatch(hashes, [{ resource: 'aa11' }, { resource: 'bb22' }]);
    expect(answers.map((answer) => answer === undefined)).toEqual([false, false, true]);
  });

  it('reads a single object as a one-answer batch, and positions answers without resource', () => {
    expect(matchBatch(hashes.slice(0, 1), { resource: 'aa11', n: 1 })[0]).toMatchObject({ n: 1 });
    expect(matchBatch(hashes.slice(0, 1), { response_code: 1 })[0]).toMatchObject({ response_code: 1 });
  });

  it('ignores answers for resources that were not sent', () => {
    expect(matchBatch(hashes, [{ resource: 'ffff' }]).every((answer) => answer === undefined)).toBe(true);
  });
});

describe('parseOverallQuotas', () => {
  it('reads VirusTotal’s shape', () => {
    const json = {
      data: {
        api_requests_minutely: { user: { used: 1, allowed: 4 } },
        api_requests_daily: { user: { used: 120, allowed: 500 } },
        api_requests_monthly: { user: { used: 3_000, allowed: 15_500 } },
      },
    };
    expect(parseOverallQuotas(json)).toEqual({
      minuteUsed: 1,
      minuteAllowed: 4,
      dayUsed: 120,
      dayAllowed: 500,
      monthUsed: 3_000,
      monthAllowed: 15_500,
    });
  });

  it.each([
    [null],
    [{}],
    [{ data: [] }],
    [{ data: { something: 1 } }],
    [{ data: { api_requests_daily: { user: { used: 'x' } } } }],
  ])('tolerates another shape: %j', (json) => {
    expect(parseOverallQuotas(json)).toBeUndefined();
  });
});
