/**
 * Retry delays: exponential backoff with full jitter (AWS's "full jitter": a uniform draw between 0 and the
 * doubling ceiling, which spreads concurrent retriers best), floored by a server's Retry-After.
 */

/** The delay before retry number `retry` (0 = the first retry), in ms. */
export function backoffDelay(retry: number, options: { baseMs: number; maxMs: number; random: () => number }): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(retry, 30));
  return Math.floor(options.random() * ceiling);
}

/**
 * Parses a Retry-After header (delta seconds or an HTTP date) into ms from `now`; undefined when absent or
 * unreadable. Capped at one hour so that a hostile header cannot park the run.
 */
export function parseRetryAfter(header: string | undefined, now: number): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (text === '') return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
  else {
    const date = Date.parse(text);
    if (Number.isNaN(date)) return undefined;
    ms = date - now;
  }
  return Math.min(3_600_000, Math.max(0, Math.ceil(ms)));
}

/** The wait before a retry: the jittered backoff, but never less than what Retry-After asked for. */
export function retryDelay(
  retry: number,
  retryAfterMs: number | undefined,
  options: { baseMs: number; maxMs: number; random: () => number },
): number {
  const jittered = backoffDelay(retry, options);
  return retryAfterMs === undefined ? jittered : Math.max(retryAfterMs, jittered);
}
