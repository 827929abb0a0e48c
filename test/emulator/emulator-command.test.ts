import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { emulatorCommand, emulatorOptions } from '../../src/cli/emulator-command.js';
import { at, get } from './helpers.js';

function capture(): { stream: PassThrough; text: () => string; firstLine: () => Promise<string> } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return {
    stream,
    text: () => text,
    firstLine: () =>
      new Promise((resolve) => {
        const check = (): void => {
          const newline = text.indexOf('\n');
          if (newline === -1) return;
          stream.off('data', check);
          resolve(text.slice(0, newline));
        };
        stream.on('data', check);
        check();
      }),
  };
}

describe('ioc-enrich emulator', () => {
  it('prints its URL first, serves until aborted, then stops cleanly with 0, never printing a key', async () => {
    const stdout = capture();
    const stderr = capture();
    const controller = new AbortController();
    const done = emulatorCommand(['--key', 'secret-key-123:premium', '--per-minute', '7'], {
      stdout: stdout.stream,
      stderr: stderr.stream,
      signal: controller.signal,
    });
    const url = await stdout.firstLine();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await get(url, '/api/v3/domains/malware.example.com', 'secret-key-123')).status).toBe(200);
    expect((await get(url, '/api/v3/domains/malware.example.com', 'other')).status).toBe(401);
    const quotas = await get(url, '/api/v3/users/secret-key-123/overall_quotas', 'secret-key-123');
    // The lookup and this request itself: every request counts against the minute.
    expect(at(quotas.json, 'data', 'api_requests_minutely', 'user')).toEqual({ used: 2, allowed: 7 });
    controller.abort();
    expect(await done).toBe(0);
    await expect(fetch(`${url}/__emulator/stats`)).rejects.toThrow();
    expect(stdout.text()).toBe(`${url}\n`);
    expect(stderr.text()).toContain('premium 7/min, 1,000,000/day, 30,000,000/month');
    expect(`${stdout.text()}${stderr.text()}`).not.toContain('secret-key-123');
  });

  it.each([
    [['--port', 'abc'], '--port'],
    [['--tier', 'gold'], '--tier'],
    [['--per-minute', '-1'], '--per-minute'],
    [['--fault-rate', 'explode=0.1'], '--fault-rate'],
    [['--fault-rate', '2'], '--fault-rate'],
    [['--bogus'], 'bogus'],
    [['--fixtures', '/nonexistent/fixtures'], 'fixturesDir'],
    [['--key', ':premium'], '--key'],
  ])('rejects %j with one line on stderr and exit code 2', async (args, mention) => {
    const stdout = capture();
    const stderr = capture();
    expect(await emulatorCommand(args, { stdout: stdout.stream, stderr: stderr.stream })).toBe(2);
    expect(stdout.text()).toBe('');
    expect(stderr.text().trimEnd().split('\n')).toHaveLength(1);
    expect(stderr.text()).toContain(mention);
  });

  it('prints help with 0', async () => {
    const stdout = capture();
    expect(await emulatorCommand(['--help'], { stdout: stdout.stream, stderr: new PassThrough() })).toBe(0);
    expect(stdout.text()).toContain('Usage: ioc-enrich emulator');
  });

  it.each([
    [
      ['--key', 'a', '--key', 'b:premium', '--key', 'c:d:public'],
      {
        keys: [
          { key: 'a', tier: 'public' },
          { key: 'b', tier: 'premium' },
          { key: 'c:d', tier: 'public' },
        ],
      },
    ],
    [['--tier', 'premium', '--key', 'a'], { tier: 'premium', keys: [{ key: 'a', tier: 'premium' }] }],
    [['--per-day', '100', '--per-month', '1000', '--unlimited'], { perDay: 100, perMonth: 1000, unlimited: true }],
    [
      ['--fault-rate', 'transient=0.1,reset=0.05', '--slow-ms', '10', '--seed', '9'],
      { faults: { transient: 0.1, reset: 0.05, slowDelayMs: 10 }, seed: 9 },
    ],
    [
      ['--not-found-rate', '0.5', '--malicious-rate', '0.25', '--port', '0'],
      { notFoundRate: 0.5, maliciousRate: 0.25, port: 0 },
    ],
  ])('maps %j to the emulator options', (args, expected) => {
    expect(emulatorOptions(args)).toMatchObject(expected);
  });

  it('spreads a bare --fault-rate over every fault kind', () => {
    const options = emulatorOptions(['--fault-rate', '0.07']);
    expect(options === 'help' ? undefined : options.faults).toEqual({
      tooManyRequests: 0.01,
      transient: 0.01,
      deadline: 0.01,
      reset: 0.01,
      slow: 0.01,
      truncated: 0.01,
      malformed: 0.01,
    });
  });
});
