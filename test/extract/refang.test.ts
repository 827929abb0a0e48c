import { describe, expect, it } from 'vitest';
import { refang, refangWithMap } from '../../src/extract/refang.js';

describe('refang', () => {
  it.each([
    ['evil[.]com', 'evil.com'],
    ['evil(.)com', 'evil.com'],
    ['evil{.}com', 'evil.com'],
    ['evil[dot]com', 'evil.com'],
    ['evil(DOT)com', 'evil.com'],
    ['evil{dot}com', 'evil.com'],
    ['evil[ . ]com', 'evil.com'],
    ['evil [.] com', 'evil.com'],
    ['evil [dot] com', 'evil.com'],
    ['bob[at]evil.com', 'bob@evil.com'],
    ['bob(AT)evil.com', 'bob@evil.com'],
    ['bob[@]evil.com', 'bob@evil.com'],
    ['bob{@}evil.com', 'bob@evil.com'],
    ['http[:]//evil.com', 'http://evil.com'],
    ['http(:)//evil.com', 'http://evil.com'],
    ['http[://]evil.com', 'http://evil.com'],
    ['http:[//]evil.com', 'http://evil.com'],
    ['http://evil.com[/]path', 'http://evil.com/path'],
    ['hxxp://evil.com', 'http://evil.com'],
    ['hXXp://evil.com', 'http://evil.com'],
    ['HXXPS://evil.com', 'https://evil.com'],
    ['hXXps[:]//evil[.]com', 'https://evil.com'],
    ['hxxps[://]evil[.]com', 'https://evil.com'],
    ['hxtp://evil.com', 'http://evil.com'],
    ['htxp://evil.com', 'http://evil.com'],
    ['h**p://evil.com', 'http://evil.com'],
    ['h__ps://evil.com', 'https://evil.com'],
    ['h[tt]ps://evil.com', 'https://evil.com'],
    ['meow://evil.com', 'http://evil.com'],
    ['fxp://files.evil.com', 'ftp://files.evil.com'],
    ['FXP[:]//files.evil.com', 'ftp://files.evil.com'],
    ['sfxp://files.evil.com', 'sftp://files.evil.com'],
    ['8[.]8[.]8[.]8', '8.8.8.8'],
    ['8(.)8(.)8(.)8', '8.8.8.8'],
  ])('%s → %s', (defanged, fanged) => {
    expect(refang(defanged)).toBe(fanged);
  });

  it.each([
    ['a log timestamp', '[22/Nov/2026:01:02:03 +0000] "GET / HTTP/1.1"'],
    ['a user agent', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)'],
    ['a word ending in xp before a colon', 'winxp: ok; Xhxxp://not-a-scheme'],
    ['a JSON object', '{"a":"b","c":[1,2]}'],
    ['a Windows path with a dot directory', 'C:\\Users\\bob\\.aws\\credentials'],
  ])('leaves %s alone', (_name, text) => {
    expect(refang(text)).toBe(text);
    expect(refangWithMap(text).map).toBeNull();
  });

  it('maps every refanged character back to the original text', () => {
    const original = 'see hxxps[:]//evil[.]com/a now';
    const { text, map } = refangWithMap(original);
    expect(text).toBe('see https://evil.com/a now');
    expect(map).not.toBeNull();
    const at = (k: number): number => map?.original(k) ?? -1;
    const start = text.indexOf('https');
    const end = text.indexOf(' now');
    expect(original.slice(at(start), at(end))).toBe('hxxps[:]//evil[.]com/a');
    expect(at(text.length)).toBe(original.length);
    // Before any edit, inside a replacement (its start), and after one (shifted by what it saved).
    expect([0, 3, 4, 8, 9, 10, 12, 16, 17].map(at)).toEqual([0, 3, 4, 4, 9, 12, 14, 18, 21]);
  });

  it.each([
    ['a zero-width space', 'login-micro\u200Bsoft[.]com', 'login-microsoft.com'],
    ['a word joiner', 'evil\u2060.example.com', 'evil.example.com'],
    ['a zero-width no-break space', '45.61\uFEFF.2.9', '45.61.2.9'],
    ['a soft hyphen', 'hxxps://cdn\u00ADupdate[.]net/p', 'https://cdnupdate.net/p'],
    ['several, side by side', 'a\u200B\u200B\u00ADb[.]c', 'ab.c'],
  ])('removes %s, keeping the map to the text as written', (_name, original, fanged) => {
    const { text, map } = refangWithMap(original);
    expect(text).toBe(fanged);
    expect(map?.original(0)).toBe(0);
    expect(map?.original(text.length)).toBe(original.length);
  });

  it('maps around a removed character: what follows it keeps its own place', () => {
    const original = 'go to evil\u200B.example.com now';
    const { text, map } = refangWithMap(original);
    const start = text.indexOf('evil');
    const dot = text.indexOf('.example');
    expect([start, dot, text.indexOf(' now')].map((k) => map?.original(k))).toEqual([6, 11, 23]);
    expect(original.slice(map?.original(start), map?.original(text.indexOf(' now')))).toBe('evil\u200B.example.com');
  });

  it('ends a span before characters removed right at its end, as it starts after those right before it', () => {
    const original = '\u200Bevil.com\u200B\u2060 x\u200B[.]y';
    const { text, map } = refangWithMap(original);
    expect(text).toBe('evil.com x.y');
    const end = text.indexOf(' ');
    expect(original.slice(map?.original(0), map?.originalEnd(end))).toBe('evil.com');
    // Inside a span, a removed character stays in it; a replacement at the end is left out as before.
    expect(original.slice(map?.original(0), map?.originalEnd(text.length))).toBe(original.slice(1));
    expect(original.slice(map?.original(end + 1), map?.originalEnd(text.indexOf('.y')))).toBe('x');
    expect(map?.originalEnd(text.indexOf('y'))).toBe(original.indexOf('y'));
  });

  it.each([
    ['the zero-width joiner and non-joiner (IDNA keeps them in some scripts)', 'می\u200Cخواهم.ir a\u200Db.com'],
    ['other non-ASCII text', 'bücher.de пример.рф 例え.テスト'],
  ])('leaves %s alone', (_name, text) => {
    expect(refang(text)).toBe(text);
    expect(refangWithMap(text).map).toBeNull();
  });

  it('maps a line of many edits (binary search over them)', () => {
    const unit = 'hxxp://a[.]com/x ';
    const original = unit.repeat(5000);
    const { text, map } = refangWithMap(original);
    expect(text).toBe('http://a.com/x '.repeat(5000));
    for (const index of [0, 1, 2499, 4999]) {
      expect(map?.original(index * 15)).toBe(index * unit.length);
      expect(original.slice(map?.original(index * 15 + 8), map?.original(index * 15 + 12))).toBe('[.]com');
    }
    expect(map?.original(text.length)).toBe(original.length);
  });
});
