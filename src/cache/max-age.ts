/**
 * How long a cached reply stays fresh, by what it said, and the `--max-age` / `--older-than` syntax.
 */
import { OptionError } from '../errors.js';

/** Milliseconds in each duration unit `parseDuration` accepts. */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/**
 * Maximum age in milliseconds of a cached reply, by its verdict. An entry at least this old is stale: it is
 * looked up again.
 *
 * Why per verdict: a detection changes fastest while a campaign is live (engines add or drop it within
 * hours), a clean verdict on a long-known object rarely changes, and "not found" turns into "found" as soon
 * as someone submits the sample.
 */
export interface MaxAgePolicy {
  /** At least one engine says malicious. @default 1 day */
  malicious: number;
  /** No malicious engine, at least one suspicious (v3 only). @default the `malicious` age */
  suspicious?: number;
  /** Found, no malicious or suspicious engine. @default 7 days */
  clean: number;
  /** VirusTotal does not know it (v3 404, v2 response_code 0), or v2 has it queued (-2). @default 1 day */
  notFound: number;
}

/** The policy with every field set, as the cache applies it. */
export type ResolvedMaxAgePolicy = Required<MaxAgePolicy>;

/** The documented defaults: malicious 1 day, suspicious 1 day, clean 7 days, not found 1 day. */
export const DEFAULT_MAX_AGE: Readonly<ResolvedMaxAgePolicy> = Object.freeze({
  malicious: UNIT_MS.d,
  suspicious: UNIT_MS.d,
  clean: 7 * UNIT_MS.d,
  notFound: UNIT_MS.d,
});

/** Fills a partial policy from the defaults; an unset `suspicious` follows `malicious`. */
export function resolveMaxAge(partial: Partial<MaxAgePolicy> = {}): ResolvedMaxAgePolicy {
  const malicious = partial.malicious ?? DEFAULT_MAX_AGE.malicious;
  return {
    malicious,
    suspicious: partial.suspicious ?? (partial.malicious === undefined ? DEFAULT_MAX_AGE.suspicious : malicious),
    clean: partial.clean ?? DEFAULT_MAX_AGE.clean,
    notFound: partial.notFound ?? DEFAULT_MAX_AGE.notFound,
  };
}

/**
 * Parses a duration such as `90s`, `30m`, `12h`, `7d`, `2w` or `500ms` into milliseconds. A unit is required:
 * a bare `7` could mean days or seconds, and guessing wrong silently re-spends or starves the quota.
 *
 * @param option - the option name for the error message, e.g. `--older-than`.
 * @throws OptionError when the text is not a non-negative number with a unit.
 */
export function parseDuration(text: string, option: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/i.exec(text);
  if (match === null) {
    throw new OptionError(option, text, 'a duration such as 30m, 12h or 7d');
  }
  const unit = (match[2] ?? '').toLowerCase() as keyof typeof UNIT_MS;
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}

const POLICY_NAMES: Record<string, keyof MaxAgePolicy> = {
  malicious: 'malicious',
  suspicious: 'suspicious',
  clean: 'clean',
  notfound: 'notFound',
  not_found: 'notFound',
  'not-found': 'notFound',
};

/**
 * Parses `--max-age`: one duration for every verdict (`12h`), or a list of `verdict=duration`
 * (`malicious=1d,clean=7d,notfound=12h`); verdicts not listed keep their defaults.
 *
 * @throws OptionError naming `option` on an unknown verdict, a repeated one or a bad duration.
 */
export function parseMaxAge(text: string, option = '--max-age'): Partial<MaxAgePolicy> {
  if (!text.includes('=')) {
    const all = parseDuration(text, option);
    return { malicious: all, suspicious: all, clean: all, notFound: all };
  }
  const policy: Partial<MaxAgePolicy> = {};
  for (const part of text.split(',')) {
    const [rawName = '', rawDuration, ...extra] = part.split('=');
    const name = POLICY_NAMES[rawName.trim().toLowerCase()];
    if (name === undefined || rawDuration === undefined || extra.length > 0 || policy[name] !== undefined) {
      throw new OptionError(
        option,
        text,
        'a duration (12h) or a list of malicious|suspicious|clean|notfound=DURATION, each verdict once',
      );
    }
    policy[name] = parseDuration(rawDuration, option);
  }
  return policy;
}
