/**
 * Runs the CLI in-process with captured streams, for tests of a command's behaviour without spawning a process.
 */
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';

/** What a run printed and returned. */
export interface MainResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `ioc-enrich ARGS` with `env` (nothing else from the process) and, if given, `stdin` as standard input. */
export async function runMain(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string } = {},
): Promise<MainResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await main(args, {
    stdout,
    stderr,
    env: options.env ?? {},
    ...(options.stdin === undefined ? {} : { stdin: Readable.from([Buffer.from(options.stdin)]) }),
  });
  return { code, stdout: out, stderr: err };
}
