// `npm run bench`: runs every bench/*.bench.mjs in a fixed order (others after, alphabetically) and prints
// their figures. Each bench imports the built code from dist/ (npm run bench builds first).
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const order = ['extract', 'pipeline', 'emulator', 'lookup', 'enrich', 'cache', 'team', 'join', 'report'];
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((name) => name.endsWith('.bench.mjs'))
  .map((name) => name.slice(0, -'.bench.mjs'.length))
  .filter((name) => only.length === 0 || only.includes(name))
  .sort((a, b) => {
    const ia = order.indexOf(a) === -1 ? order.length : order.indexOf(a);
    const ib = order.indexOf(b) === -1 ? order.length : order.indexOf(b);
    return ia - ib || a.localeCompare(b);
  });
let failed = 0;
for (const name of files) {
  console.log(`\n== ${name}`);
  const started = Date.now();
  try {
    const module = await import(pathToFileURL(join(here, `${name}.bench.mjs`)).href);
    await module.default();
  } catch (error) {
    failed++;
    console.log(`${name}: FAILED: ${error instanceof Error ? error.message : String(error)}`);
  }
  console.log(`(${name} took ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
process.exitCode = failed === 0 ? 0 : 1;
