// Builds the native extraction engine (native/extract.cc) with node-gyp, the build tool npm ships. Run by
// `npm run build` (so by `npm ci`, through `prepare`) and by `npm install` of the package.
//
// Design decisions:
// - Optional: without a C++ compiler or Node's headers the engine is not built, one line says so, and extraction
//   runs in JavaScript (same output, slower). Installing never fails for it.
// - Offline: node-gyp would download Node's headers; the headers installed with Node itself are used when they are
//   there (`<prefix>/include/node`), and npm's own `nodedir` setting wins when it is set.
// - Built again only when a source is newer than the module.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const folder = join(root, 'native');
const built = join(folder, 'build', 'Release', 'ioc_extract.node');
const sources = ['extract.cc', 'result-csv.cc', 'load.h', 'binding.gyp'].map((name) => join(folder, name));

function say(message) {
  process.stderr.write(`ioc-enrich: ${message}\n`);
}

/** Says why the engine is not built, removing an older build so that no stale module is ever loaded. */
function notBuilt(reason) {
  rmSync(join(folder, 'build'), { recursive: true, force: true });
  say(
    `the native extraction engine is not built (${reason}); extraction runs in JavaScript, with the same output, slower`,
  );
  process.exit(0);
}

if (existsSync(built) && sources.every((source) => statSync(source).mtimeMs <= statSync(built).mtimeMs))
  process.exit(0);

const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((path) => path !== undefined && existsSync(path));
if (candidates.length === 0) notBuilt('node-gyp not found');
const args = [candidates[0], 'rebuild'];
const prefix = resolve(dirname(process.execPath), '..');
if (process.env.npm_config_nodedir === undefined && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
// A time limit: without local headers node-gyp downloads them, which could hang an install on a network that
// drops traffic.
const result = spawnSync(process.execPath, args, { cwd: folder, encoding: 'utf8', timeout: 180_000 });
if (result.status !== 0 || !existsSync(built)) {
  const output = `${result.stderr ?? ''}${result.stdout ?? ''}`.split('\n');
  // node-gyp's own account of the failure ("gyp ERR! stack Error: not found: make"), else its first error line.
  const cause =
    output.find((line) => line.includes('ERR! stack Error:')) ?? output.find((line) => /\berror\b/i.test(line));
  const reason =
    result.error !== undefined
      ? `node-gyp: ${result.error.message}`
      : (cause?.replace(/^gyp ERR! stack /, '').trim() ?? `node-gyp exit code ${result.status}`);
  notBuilt(reason);
}
say('native extraction engine built');
