/**
 * Where the cache lives by default.
 */
import { isAbsolute, join } from 'node:path';

/**
 * The default cache file: `$XDG_CACHE_HOME/ioc-enrich/cache.db`, else `~/.cache/ioc-enrich/cache.db`.
 * Pure: the CLI passes its environment and home directory in. A relative or empty `XDG_CACHE_HOME` is
 * ignored, as the XDG Base Directory specification requires.
 */
export function defaultCachePath(env: NodeJS.ProcessEnv, homedir: string): string {
  const xdg = env['XDG_CACHE_HOME'];
  const base = xdg !== undefined && xdg !== '' && isAbsolute(xdg) ? xdg : join(homedir, '.cache');
  return join(base, 'ioc-enrich', 'cache.db');
}
