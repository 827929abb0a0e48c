/**
 * Small VirusTotal replies for the cache tests, shaped like the recorded samples (v3 `{"data": …}`, v2 report).
 */
import type { ApiVersion, IocType, VtReply } from '../../src/types.js';

/** One file's three hashes. */
export const FILE = {
  md5: '7657fcb7d772448a6d8504e4b20168b8',
  sha1: '5f1b8f6e0c7d2d35a3c6a1e4f5b2a9c8d7e6f5a4',
  sha256: 'b2a7f3c1d9e8a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1',
} as const;

/** A v3 reply for `type`/`value` with the given engine counts; `null` stats makes a not-found reply. */
export function v3Reply(
  type: IocType,
  value: string,
  stats: { malicious: number; suspicious?: number } | null,
  fetchedAt: number,
  extra: Record<string, unknown> = {},
): VtReply {
  if (stats === null) return { api: 'v3', type, value, body: null, fetchedAt };
  const hashes = type.endsWith('_hash') ? { md5: FILE.md5, sha1: FILE.sha1, sha256: FILE.sha256 } : {};
  return {
    api: 'v3',
    type,
    value,
    fetchedAt,
    body: {
      data: {
        type: 'object',
        id: type.endsWith('_hash') ? FILE.sha256 : value,
        links: { self: `https://www.virustotal.com/api/v3/x/${value}` },
        attributes: {
          ...hashes,
          last_analysis_stats: {
            harmless: 60,
            malicious: stats.malicious,
            suspicious: stats.suspicious ?? 0,
            undetected: 10,
          },
          reputation: -3,
          ...extra,
        },
      },
    },
  };
}

/** A v2 file report (response_code 1) with `positives`. */
export function v2FileReply(value: string, positives: number, fetchedAt: number): VtReply {
  return {
    api: 'v2',
    type: value.length === 32 ? 'md5_hash' : value.length === 40 ? 'sha1_hash' : 'sha256_hash',
    value,
    fetchedAt,
    body: {
      response_code: 1,
      resource: value,
      md5: FILE.md5.toUpperCase(),
      sha1: FILE.sha1,
      sha256: FILE.sha256,
      positives,
      total: 70,
      scan_id: `${FILE.sha256}-1700000000`,
    },
  };
}

/** Shorthand for a reply of any API with an explicit body. */
export function reply(api: ApiVersion, type: IocType, value: string, body: unknown, fetchedAt: number): VtReply {
  return { api, type, value, body, fetchedAt };
}
