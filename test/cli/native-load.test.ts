/**
 * The built CLI (dist/, built by the global setup) with a native engine that is there but does not load: a copy of
 * dist/ next to a broken native/build/Release/ioc_extract.node. Extraction must run in JavaScript with the same
 * rows, and `extract` must say why in one line on stderr rather than only being slower.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'ioc-native-load-'));
const broken = join(work, 'package');
const input = join(work, 'report.txt');

function extract(
  cli: string,
  env: Record<string, string> = {},
  command: string[] = ['extract'],
): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...command, input], {
    env: { PATH: process.env['PATH'] ?? '', HOME: work, ...env },
    cwd: work,
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  cpSync(join(root, 'dist'), join(broken, 'dist'), { recursive: true });
  cpSync(join(root, 'package.json'), join(broken, 'package.json'));
  // The bundled emulator's recorded replies, for enrich.
  cpSync(join(root, 'fixtures'), join(broken, 'fixtures'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(broken, 'node_modules'));
  mkdirSync(join(broken, 'native', 'build', 'Release'), { recursive: true });
  writeFileSync(join(broken, 'native', 'build', 'Release', 'ioc_extract.node'), 'not a shared object\n');
  writeFileSync(input, 'beacon to hxxps://cdn-static[.]top/p/svc.exe\nresolver 8.8.8.8 asked for exfil-data.xyz\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('extract with a native engine that does not load', () => {
  it('says so in one line on stderr and extracts in JavaScript, with the same rows', () => {
    const reference = extract(join(root, 'dist', 'cli', 'main.js'), { IOC_ENRICH_ENGINE: 'js' });
    expect(reference.code).toBe(0);
    expect(reference.stdout.split('\n')).toHaveLength(5);
    const result = extract(join(broken, 'dist', 'cli', 'main.js'));
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(reference.stdout);
    const notes = result.stderr.split('\n').filter((line) => line.includes('native'));
    expect(notes).toEqual([
      expect.stringMatching(
        /^ioc-enrich: the native extraction engine \S+ioc_extract\.node does not load \(.+\); extracting in JavaScript$/,
      ),
    ]);
  });

  it('says the same of enrich, which extracts text the same way, and runs', () => {
    const result = extract(join(broken, 'dist', 'cli', 'main.js'), {}, ['enrich', '--emulator', '--no-cache']);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').filter((line) => line.includes('cdn-static.top'))).toHaveLength(1);
    expect(result.stderr.split('\n').filter((line) => line.includes('native'))).toEqual([
      expect.stringMatching(
        /^ioc-enrich: the native extraction engine \S+ does not load \(.+\); extracting in JavaScript$/,
      ),
    ]);
  });

  it('says nothing of it when IOC_ENRICH_ENGINE=js asks for JavaScript', () => {
    const result = extract(join(broken, 'dist', 'cli', 'main.js'), { IOC_ENRICH_ENGINE: 'js' });
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('native');
  });

  it('refuses an IOC_ENRICH_ENGINE it does not know, in one line', () => {
    const result = extract(join(root, 'dist', 'cli', 'main.js'), { IOC_ENRICH_ENGINE: 'javascript' });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('ioc-enrich: Expected `IOC_ENRICH_ENGINE` to be `js` or `native`, got `javascript`\n');
  });
});
