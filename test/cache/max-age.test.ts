import { describe, expect, it } from 'vitest';
import { defaultCachePath, parseDuration, parseMaxAge, resolveMaxAge } from '../../src/cache/index.js';
import { errorWith } from '../support/matchers.js';

const H = 3_600_000;
const D = 24 * H;

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['30m', 30 * 60_000],
    ['12h', 12 * H],
    ['7d', 7 * D],
    ['2w', 14 * D],
    ['1.5h', 1.5 * H],
    [' 0d ', 0],
    ['7D', 7 * D],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text, '--older-than')).toBe(ms);
  });

  it.each(['', '7', 'd', '-1d', '7 days', '1y', '1e3s'])('rejects `%s` naming the option', (text) => {
    expect(() => parseDuration(text, '--older-than')).toThrow(
      errorWith({ code: 'BAD_OPTION', option: '--older-than', value: text }),
    );
  });
});

describe('parseMaxAge', () => {
  it.each([
    ['12h', { malicious: 12 * H, suspicious: 12 * H, clean: 12 * H, notFound: 12 * H }],
    ['malicious=1d,clean=7d,notfound=12h', { malicious: D, clean: 7 * D, notFound: 12 * H }],
    ['not_found=3h', { notFound: 3 * H }],
    ['Suspicious=2h , clean=30d', { suspicious: 2 * H, clean: 30 * D }],
  ])('%s', (text, policy) => {
    expect(parseMaxAge(text)).toEqual(policy);
  });

  it.each(['bad=1d', 'clean=7d,clean=1d', 'clean=', 'clean=1d=2', 'clean=7'])('rejects %s', (text) => {
    expect(() => parseMaxAge(text)).toThrow(errorWith({ code: 'BAD_OPTION', option: '--max-age' }));
  });
});

describe('resolveMaxAge', () => {
  it('documents its defaults: malicious 1d, suspicious 1d, clean 7d, not found 1d', () => {
    expect(resolveMaxAge()).toEqual({ malicious: D, suspicious: D, clean: 7 * D, notFound: D });
  });

  it('lets an unset suspicious age follow the malicious one', () => {
    expect(resolveMaxAge({ malicious: 6 * H })).toMatchObject({ malicious: 6 * H, suspicious: 6 * H });
    expect(resolveMaxAge({ malicious: 6 * H, suspicious: H })).toMatchObject({ suspicious: H });
  });
});

describe('defaultCachePath', () => {
  it.each([
    [{ XDG_CACHE_HOME: '/var/cache/me' }, '/var/cache/me/ioc-enrich/cache.db'],
    [{}, '/home/ana/.cache/ioc-enrich/cache.db'],
    [{ XDG_CACHE_HOME: '' }, '/home/ana/.cache/ioc-enrich/cache.db'],
    [{ XDG_CACHE_HOME: 'relative/cache' }, '/home/ana/.cache/ioc-enrich/cache.db'],
  ])('%o', (env, path) => {
    expect(defaultCachePath(env, '/home/ana')).toBe(path);
  });
});
