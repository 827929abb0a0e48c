/**
 * Builds dist/ (and the native engine) once before the tests, so the end-to-end tests spawn the CLI exactly as a user runs it and
 * never a stale build. Type errors do not stop the build here (tsc still emits): `npm test` type-checks first
 * and fails on them there.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeEngineLoadError } from '../src/native/engine.js';

export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
    {
      cwd: root,
      stdio: 'ignore',
    },
  );
  // The native engine too, when its source changed (a no-op otherwise; it says so when it cannot be built).
  spawnSync(process.execPath, [join(root, 'scripts/build-native.mjs')], { cwd: root, stdio: 'inherit' });
  // A build that is there but does not load: one line too (test/native skips its tests then, or fails them in CI).
  const loadError = nativeEngineLoadError();
  if (loadError !== undefined) process.stderr.write(`ioc-enrich: ${loadError.message}\n`);
}
