import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMain, type MainResult } from '../support/run-main.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ioc-join-cli-'));
  writeFileSync(join(dir, 'source.csv'), 'time,msg\r\n1,"to evil.example.com,\r\nthen quiet"\r\n2,nothing\r\n');
  writeFileSync(
    join(dir, 'results.csv'),
    'Observable,IoCType,Status,ResponseCode,SourceIndex,Positives,Severity\nevil.example.com,dns,Success,1,0,4,high\nx.example.com,dns,Success,1,9,1,warning\n',
  );
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], stdin?: string): Promise<MainResult> {
  return runMain(args, stdin === undefined ? {} : { stdin });
}

const JOINED =
  'time,msg,vt_max_positives,vt_severity,vt_malicious,vt_observables\r\n1,"to evil.example.com,\r\nthen quiet",4,high,evil.example.com,1\r\n2,nothing,,,,\r\n';

describe('ioc-enrich join', () => {
  it('writes the joined table to -o FILE and reports rows and unmatched results on stderr', async () => {
    const out = join(dir, 'joined.csv');
    const result = await run(['join', '--results', join(dir, 'results.csv'), join(dir, 'source.csv'), '-o', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe(JOINED);
    expect(result.stderr).toContain('joined 2 rows: 1 with results (2 result rows)');
    expect(result.stderr).toContain('warning: 1 SourceIndex values');
    expect(readdirSync(dir).sort()).toEqual(['joined.csv', 'results.csv', 'source.csv']);
  });

  it('writes to stdout, reading the source from stdin with --input-format', async () => {
    const source = readFileSync(join(dir, 'source.csv'), 'utf8');
    const result = await run(['join', '--results', join(dir, 'results.csv'), '--input-format', 'csv', '-'], source);
    expect(result).toMatchObject({ code: 0, stdout: JOINED });
  });

  it.each([
    [['join', 'source.csv']],
    [['join', '--results', 'r.csv']],
    [['join', '--results', 'r.csv', 'a.csv', 'b.csv']],
    [['join', '--results', 'r.csv', '--input-format', 'xlsx', 'a.csv']],
    [['join', '--results', 'r.csv', '-']],
    [['join', '--nope']],
  ])('%j is a usage error: exit 2, one line on stderr', async (args) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('fails with exit 1 and one line naming file and line for a broken source, leaving no output', async () => {
    writeFileSync(join(dir, 'broken.jsonl'), '{"a":1}\n{"open\n');
    const out = join(dir, 'joined.csv');
    const result = await run(['join', '--results', join(dir, 'results.csv'), join(dir, 'broken.jsonl'), '-o', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^ioc-enrich: ${join(dir, 'broken.jsonl')}:2: not valid JSON: .*\\n$`));
    expect(readdirSync(dir).sort()).toEqual(['broken.jsonl', 'results.csv', 'source.csv']);
  });
});
