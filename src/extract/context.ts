/**
 * How extraction passes what it saw next to a candidate to screening, in the candidate's value: the scan (in
 * src/extract/index.ts and native/extract.cc) recognises the shapes, screening (src/screen.ts) says why it rejects.
 *
 * - A hash right after `key=` whose key names no file hash ({@link NOT_FILE_HASH_KEYS}: `IMPHASH=<md5>`,
 *   `ja3=<md5>`) is passed as `key=<hash>`, the key in lower case (letters, digits and `_`, at most
 *   {@link MAX_HASH_KEY} of them), and screening rejects it. Any other key (`MD5=`, `SHA256=`, `token=`) tells
 *   nothing and is not passed: the hash is then one value whatever key it came with (the native engine asks
 *   {@link isTellingHashKey} once per distinct key).
 * - A dotted quad in a version's place is passed as `version/<address>`: after a product token with a lower-case
 *   letter and a `/` (`Agent/3.4.5.6`, `SplunkForwarder/9.1.2.3`: user agents and product strings; Squid's
 *   `HIER_DIRECT/93.184.216.34` has none and stays an address), after a word ending in `version` or the words `ver`
 *   and `build` with `=`, `:` or spaces between (`ProductVersion=5.2.3.4`, `version 2.3.4.5`), or after Adobe's
 *   `Reader DC ` and `Acrobat DC `. An address after `src=`, `connect ` or anything else stays one.
 */

/** Between a hash's key and the hash. */
export const HASH_KEY_SEPARATOR = '=';

/** Longest key passed with a hash. */
export const MAX_HASH_KEY = 24;

/**
 * Keys whose hex value is a hash of something other than a file (`IMPHASH=` in Sysmon's `Hashes`, TLS and SSH
 * client fingerprints, a certificate's thumbprint): VirusTotal's file lookup cannot find them.
 */
export const NOT_FILE_HASH_KEYS: ReadonlySet<string> = new Set([
  'imphash',
  'ja3',
  'ja3s',
  'hassh',
  'hasshserver',
  'pehash',
  'authentihash',
  'thumbprint',
]);

/** True when a hash's key (lower case) is passed to screening with it (see the head of this file). */
export function isTellingHashKey(key: string): boolean {
  return NOT_FILE_HASH_KEYS.has(key);
}

/** Before a dotted quad that is a version number. */
export const VERSION_PREFIX = 'version/';
