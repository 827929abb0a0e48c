/**
 * End-to-end: the built CLI, spawned as a user runs it (dist/ is built by the global setup).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { spawnCli, type CliResult } from '../support/spawn-cli.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const demo = join(root, 'fixtures', 'demo', 'siem-export.csv');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  args: string[],
  options: {
    env?: Record<string, string>;
    input?: string;
    onStderr?: (text: string, child: ReturnType<typeof spawn>) => void;
  } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '',
      HOME: work,
      XDG_CACHE_HOME: join(work, 'cache'),
      ...options.env,
    };
    const child = spawn(process.execPath, [cli, ...args], { env, cwd: work });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      options.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

function rows(csv: string): Array<Record<string, string>> {
  return parse<Record<string, string>>(csv, { columns: true, skip_empty_lines: true });
}

let work: string;
let emulator: Emulator;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ioc-enrich-cli-'));
  emulator = await startEmulator({ keys: [{ key: 'cli-test-key', tier: 'premium' }] });
});
afterAll(async () => {
  await emulator.close();
});

describe('ioc-enrich extract', () => {
  it('extracts, refangs, screens and dedups a CSV export, with a summary on stderr', async () => {
    const result = await run(['extract', demo]);
    expect(result.code).toBe(0);
    const output = rows(result.stdout);
    expect(output.length).toBeGreaterThan(20);
    expect(output.find((row) => row['SourceText'] === 'malware[.]example[.]com')).toMatchObject({
      Observable: 'malware.example.com',
      IoCType: 'dns',
      Status: 'Valid',
      SourceIndex: '2',
      SourceField: 'Message',
    });
    expect(output.filter((row) => row['Observable'] === '45.33.100.66').map((row) => row['Status'])).toEqual([
      'Valid',
      'Duplicate',
      'Duplicate',
    ]);
    expect(output.some((row) => row['Observable'] === '10.4.27.5423' || row['Observable'] === 'invoice.zip')).toBe(
      false,
    );
    expect(result.stderr).toMatch(/records read\s+13/);
    expect(result.stderr).toMatch(/IP address is not global\s+\d+/);
  });

  it('reads stdin with -, as text', async () => {
    const result = await run(['extract', '--format', 'jsonl', '-'], {
      input: 'beacon to evil-domain[.]ru and 8.8.8.8\nnothing here\n8.8.8.8 again\n',
    });
    expect(result.code).toBe(0);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, string>);
    expect(lines.map((line) => [line['Observable'], line['SourceIndex'], line['Status']])).toEqual([
      ['evil-domain.ru', '0', 'Valid'],
      ['8.8.8.8', '0', 'Valid'],
      ['8.8.8.8', '2', 'Duplicate'],
    ]);
  });

  it('with --strict-csv, fails on a malformed row with one line naming the file and line, keeping the rows before it', async () => {
    const input = join(work, 'broken.csv');
    writeFileSync(input, 'a,b\n8.8.8.8,x\n"1.1.1.1,y\n9.9.9.9,z\n');
    const output = join(work, 'broken-out.csv');
    const result = await run(['extract', '--strict-csv', input, '-o', output]);
    expect(result.code).toBe(1);
    const errorLines = result.stderr.split('\n').filter((line) => line.startsWith('ioc-enrich:'));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toContain('broken.csv:3');
    expect(errorLines[0]).toContain('without it');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(rows(readFileSync(output, 'utf8')).map((row) => row['Observable'])).toEqual(['8.8.8.8']);
    // By default the unclosed quote is read as Python reads it (the rest of the file is one field), and said.
    const lenient = await run(['extract', input, '-o', output]);
    expect(lenient.code).toBe(0);
    expect(rows(readFileSync(output, 'utf8')).map((row) => row['Observable'])).toEqual([
      '8.8.8.8',
      '1.1.1.1',
      '9.9.9.9',
    ]);
    expect(lenient.stderr).toContain('broken.csv:3: a quote opened here is never closed');
  });

  it('writes nothing but one line when the input cannot be read', async () => {
    const result = await run(['extract', join(work, 'no-such-file.csv')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      `ioc-enrich: Input file not found: ${join(work, 'no-such-file.csv')}`,
    ]);
    const enrich = await run([
      'enrich',
      '--emulator',
      '--log-level',
      'silent',
      join(work, 'no-such-file.csv'),
      '-o',
      'never.csv',
    ]);
    expect(enrich.code).toBe(1);
    expect(existsSync(join(work, 'never.csv'))).toBe(false);
  });

  it('an output that cannot be written is one line naming it and the problem, not the temporary file', async () => {
    const input = join(work, 'one-ip.txt');
    writeFileSync(input, 'seen 8.8.8.8\n');
    const target = join(work, 'no-such-folder', 'out.csv');
    // Without a key, and with one (the output then goes through the redacting writer).
    const enrich = ['enrich', '--vt-url', emulator.url, input];
    for (const [args, env] of [
      [['extract', input], {}],
      [['extract', input], { VT_API_KEY: 'a-key-to-redact-1234' }],
      [enrich, { VT_API_KEY: 'a-key-to-redact-1234' }],
    ] as const) {
      const result = await run([...args, '-o', target], { env });
      expect(result.code).toBe(1);
      expect(
        result.stderr
          .trim()
          .split('\n')
          .filter((line) => line.startsWith('ioc-enrich:')),
      ).toEqual([`ioc-enrich: ${target}: cannot write the output: its folder does not exist (ENOENT)`]);
    }
  });

  it('skips malformed rows with --skip-bad-rows and reports them', async () => {
    const input = join(work, 'broken2.csv');
    writeFileSync(input, 'a,b\n8.8.8.8,x\n9.9.9.9,z,extra\n1.0.0.1,y\n');
    const result = await run(['extract', '--skip-bad-rows', input]);
    expect(result.code).toBe(0);
    expect(rows(result.stdout).map((row) => row['Observable'])).toEqual(['8.8.8.8', '1.0.0.1']);
    expect(result.stderr).toMatch(/skipped 1 malformed row/);
  });

  it('--jobs N, the removed worker threads: one line on stderr, and the run goes on as without it', async () => {
    const notice =
      'ioc-enrich: --jobs is no longer used: extraction runs on one thread (in the native engine where it is ' +
      'built, faster than the former JavaScript workers); ignored\n';
    const input = join(work, 'many.txt');
    const lines: string[] = [];
    for (let line = 0; line < 5_000; line++)
      lines.push(
        `${line} conn ${(line % 200) + 20}.0.${line % 9}.1 -> evil${line % 300}[.]com/x?${line} 10.0.0.${line % 250}`,
      );
    writeFileSync(input, `${lines.join('\n')}\n`);
    const cli = (args: string[]): Promise<CliResult> => spawnCli(args, { cwd: work });
    const plain = await cli(['extract', input, '-o', join(work, 'many.csv')]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(/records read\s+5,000/);
    const expected = readFileSync(join(work, 'many.csv'), 'utf8');
    expect(expected.split('\n').length).toBeGreaterThan(15_000);
    // Any value (it is not checked any more), either spelling, given twice: the same rows and exactly one more line.
    for (const jobs of [['--jobs', '0'], ['--jobs', '2'], ['--jobs=many'], ['--jobs', '1', '--jobs', '3']]) {
      const output = join(work, `many-${jobs.join('')}.csv`);
      const result = await cli(['extract', ...jobs, input, '-o', output]);
      expect(result.code, jobs.join(' ')).toBe(0);
      expect(result.stderr).toBe(notice + plain.stderr);
      expect(readFileSync(output, 'utf8') === expected).toBe(true);
    }
    // Stdout output and a failing run: the same exit code and messages as without it.
    const toStdout = await cli(['extract', '--jobs', '2', '--format', 'jsonl', input]);
    expect(toStdout.code).toBe(0);
    expect(toStdout.stdout).toBe((await cli(['extract', '--format', 'jsonl', input])).stdout);
    const missing = join(work, 'no-such-input.txt');
    const failed = await cli(['extract', missing]);
    expect(failed.code).not.toBe(0);
    const failedWithJobs = await cli(['extract', '--jobs', '4', missing]);
    expect(failedWithJobs.code).toBe(failed.code);
    expect(failedWithJobs.stderr).toBe(notice + failed.stderr);
    // Gone from the help.
    expect((await cli(['extract', '--help'])).stdout).not.toContain('--jobs');
  });

  it('rejects an unknown option with a usage error', async () => {
    const result = await run(['extract', '--no-such-option', demo]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('makes attacker-controlled cells spreadsheet-safe', async () => {
    const input = join(work, 'typed.csv');
    writeFileSync(
      input,
      'Observable,IoCType,SourceIndex\n"=HYPERLINK(""http://evil.example.com"",""x"")",url,@SUM(1)\n8.8.8.8,ipv4,+7\n',
    );
    const result = await run([
      'extract',
      '--observable-col',
      'Observable',
      '--type-col',
      'IoCType',
      '--index-col',
      'SourceIndex',
      input,
    ]);
    expect(result.code).toBe(0);
    const output = rows(result.stdout);
    expect(output[0]?.['Observable']?.startsWith("'=")).toBe(true);
    expect(output[0]?.['SourceIndex']).toBe("'@SUM(1)");
    expect(output[1]).toMatchObject({ Observable: '8.8.8.8', Status: 'Valid', SourceIndex: "'+7" });
  });

  /**
   * A preload that prints `NAME <the list>` on stderr at exit, the list being what `expression` (CommonJS, run at
   * exit) gives joined with commas; the environment that loads it, and the reader of the list.
   */
  function atExit(
    name: string,
    expression: string,
  ): { env: Record<string, string>; list: (stderr: string) => string[] } {
    const preload = join(work, `${name}.cjs`);
    writeFileSync(
      preload,
      `process.on("exit", () => process.stderr.write("${name} " + ${expression}.join(",") + "\\n"));\n`,
    );
    const line = new RegExp(`^${name} (.*)$`, 'm');
    return {
      env: { NODE_OPTIONS: `--require=${preload}` },
      list: (stderr) => (line.exec(stderr)?.[1] ?? '').split(','),
    };
  }

  it('does not load the lookup stage (HTTP, TLS) to extract; a lookup does', async () => {
    // Node's list of the built-in modules it loaded.
    const { env, list } = atExit('LOADED', 'process.moduleLoadList');
    const builtIns = (stderr: string): string[] =>
      list(stderr).filter((name) => /^NativeModule (https?|tls)$/.test(name));
    const extracted = await run(['extract', demo], { env });
    expect(extracted.code).toBe(0);
    expect(extracted.stderr).toContain('LOADED ');
    expect(builtIns(extracted.stderr)).toEqual([]);
    const looked = await run(['lookup', '--emulator', '8.8.8.8'], { env });
    expect(looked.code).toBe(0);
    expect(builtIns(looked.stderr)).toEqual(expect.arrayContaining(['NativeModule http', 'NativeModule tls']));
  });

  it('loads ipaddr.js only when it is needed (an allowlist), not to extract', async () => {
    // The packages in the CommonJS cache (tldts and ipaddr.js are loaded with require).
    const { env, list } = atExit(
      'PACKAGES',
      'Object.keys(require.cache).filter((key) => key.includes("/node_modules/"))' +
        '.map((key) => key.split("/node_modules/").pop().split("/")[0])',
    );
    const extracted = await run(['extract', demo], { env });
    expect(extracted.code).toBe(0);
    expect(list(extracted.stderr)).toContain('tldts');
    expect(list(extracted.stderr)).not.toContain('ipaddr.js');
    const allowlist = join(work, 'allow-cidr.txt');
    writeFileSync(allowlist, '10.0.0.0/8\n');
    const allowed = await run(['extract', '--allowlist', allowlist, demo], { env });
    expect(allowed.code).toBe(0);
    expect(list(allowed.stderr)).toContain('ipaddr.js');
  });
});

describe('ioc-enrich enrich', () => {
  it('runs the README demo against the bundled emulator', async () => {
    const result = await run(['enrich', '--emulator', demo, '-o', 'demo-out.csv']);
    expect(result.code).toBe(0);
    const output = rows(readFileSync(join(work, 'demo-out.csv'), 'utf8'));
    const extracted = rows((await run(['extract', demo])).stdout);
    expect(output).toHaveLength(extracted.length);
    expect(output.map((row) => row['SourceIndex'])).toEqual(extracted.map((row) => row['SourceIndex']));
    expect(output.find((row) => row['Observable'] === 'e85bcfce6f59e0c96ea44b4c59d00ea1')).toMatchObject({
      Status: 'Success',
      Positives: '48',
      Severity: 'high',
    });
    expect(result.stderr).toMatch(
      /occurrences = \d+ rejected \+ 0 allowlisted \+ \d+ duplicates \+ \d+ looked up \+ 0 not submitted \+ 0 failed/,
    );
    expect(result.stderr).toContain('most detected');
    expect(readdirSync(work).some((name) => name.includes('.tmp-'))).toBe(false);
  });

  it('joins the verdicts back into the source table with --join', async () => {
    const result = await run(['enrich', '--emulator', demo, '-o', 'join-results.csv', '--join', 'joined.csv']);
    expect(result.code).toBe(0);
    const source = readFileSync(demo, 'utf8').split('\n');
    const joined = readFileSync(join(work, 'joined.csv'), 'utf8').split('\n');
    expect(joined[0]).toBe(`${source[0]},vt_max_positives,vt_severity,vt_malicious,vt_observables`);
    // The source's own bytes survive; each row gains its verdict cells.
    expect(joined[2]?.startsWith(source[2] ?? '-')).toBe(true);
    const rowsJoined = rows(readFileSync(join(work, 'joined.csv'), 'utf8'));
    expect(rowsJoined[1]).toMatchObject({
      vt_max_positives: '48',
      vt_severity: 'high',
      vt_malicious: 'e85bcfce6f59e0c96ea44b4c59d00ea1',
    });
    expect(rowsJoined).toHaveLength(13);
    const stdin = await run(['enrich', '--emulator', '--join', 'x.csv', '-o', 'y.csv', '-'], { input: 'a\n' });
    expect(stdin.code).toBe(2);
  });

  it('needs a key unless it runs against the emulator, and never prints the key', async () => {
    const missing = await run(['enrich', '--no-cache', demo]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('VT_API_KEY');
    const refused = await run(['enrich', '--vt-url', emulator.url, demo], { env: { VT_API_KEY: 'not-the-key-1234' } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/ioc-enrich: .*(401|credential|key)/i);
    expect(refused.stderr + refused.stdout).not.toContain('not-the-key-1234');
  });

  it('reads the key from the environment and writes JSON lines', async () => {
    const result = await run(
      ['enrich', '--vt-url', emulator.url, '--tier', 'premium', '--format', 'jsonl', '--log-level', 'silent', demo],
      {
        env: { VT_API_KEY: 'cli-test-key' },
      },
    );
    expect(result.code).toBe(0);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((line) => line['Observable'] === 'malware.example.com')).toMatchObject({
      Status: 'Success',
      Positives: 12,
    });
    expect(result.stdout).not.toContain('cli-test-key');
  });

  it('prints the plan on a dry run and spends nothing', async () => {
    const before = emulator.stats().requests;
    const result = await run(['enrich', '--dry-run', '--vt-url', emulator.url, demo]);
    expect(result.code).toBe(0);
    expect(emulator.stats().requests).toBe(before);
    expect(result.stdout).toMatch(/lookups needed\s+16/);
    expect(result.stdout).toMatch(/time at the configured rate\s+4 min at 4\/min/);
  });

  it('exits 3 and says how many remain when the daily quota runs out', async () => {
    const small = await startEmulator({ perDay: 5, perMinute: 1000 });
    try {
      const result = await run(
        ['enrich', '--vt-url', small.url, '--tier', 'premium', '--concurrency', '1', demo, '-o', 'quota.csv'],
        { env: { VT_API_KEY: 'k' } },
      );
      expect(result.code).toBe(3);
      const output = rows(readFileSync(join(work, 'quota.csv'), 'utf8'));
      expect(output.filter((row) => row['Status'] === 'NotSubmitted: daily quota exhausted').length).toBeGreaterThan(0);
      expect(result.stderr).toMatch(/not submitted \(daily quota exhausted\)/);
    } finally {
      await small.close();
    }
  });

  it('writes what is known and exits 130 on Ctrl-C', async () => {
    const slow = await startEmulator();
    try {
      // Public pacing: 4 lookups, then a wait of about a minute, during which the interrupt arrives.
      let sent = false;
      const result = await run(['enrich', '--vt-url', slow.url, demo, '-o', 'interrupted.csv'], {
        env: { VT_API_KEY: 'k' },
        onStderr: (text, child) => {
          if (!sent && /"done":[1-9]/.test(text)) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      });
      expect(result.code).toBe(130);
      const output = rows(readFileSync(join(work, 'interrupted.csv'), 'utf8'));
      expect(output.some((row) => row['Status'] === 'NotSubmitted: interrupted')).toBe(true);
      expect(output.some((row) => row['Status'] === 'Success' || row['Status'] === 'NotFound')).toBe(true);
    } finally {
      await slow.close();
    }
  });
});

describe('ioc-enrich lookup', () => {
  it('infers types, refangs, and prints JSON', async () => {
    const result = await run([
      'lookup',
      '--emulator',
      '--format',
      'json',
      'malware[.]example[.]com',
      'E85BCFCE6F59E0C96EA44B4C59D00EA1',
      '10.1.1.1',
    ]);
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(output.map((row) => [row['Observable'], row['IoCType'], row['Status']])).toEqual([
      ['malware.example.com', 'dns', 'Success'],
      ['e85bcfce6f59e0c96ea44b4c59d00ea1', 'md5_hash', 'Success'],
      ['10.1.1.1', 'ipv4', 'IP address is not global'],
    ]);
  });
});

describe('ioc-enrich', () => {
  it('prints help and rejects unknown commands', async () => {
    expect((await run(['--help'])).stdout).toContain('Commands:');
    const unknown = await run(['frobnicate']);
    expect(unknown.stderr).toContain('unknown command');
    expect(unknown.code).toBe(2);
    expect(existsSync(cli)).toBe(true);
  });
});
