/**
 * The emulator's object store model: one v3-shaped object per observable, from which v3 and v2 replies are
 * both rendered, so the two APIs always agree.
 */

/** The v3 object types the emulator serves. */
export type ObjectKind = 'file' | 'url' | 'domain' | 'ip_address';

/** The v3 collection of each kind. */
export const COLLECTION_OF: Readonly<Record<ObjectKind, string>> = {
  file: 'files',
  url: 'urls',
  domain: 'domains',
  ip_address: 'ip_addresses',
};

/** A synthetic observable's overall verdict; `not-found` means VirusTotal does not know it. */
export type Verdict = 'malicious' | 'suspicious' | 'harmless' | 'not-found';

/** One passive-DNS resolution: a host name seen resolving to an IP address at `date` (epoch seconds). */
export interface Resolution {
  readonly date: number;
  readonly hostName: string;
  readonly ipAddress: string;
}

/** An object in the store: the v3 `data` member's content plus what v2 needs and v3 serves separately. */
export interface VtObject {
  readonly type: ObjectKind;
  /** sha256 for files, sha256 of the canonical URL for URLs, the name for domains and IPs. */
  readonly id: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** Domains and IPs: resolutions, newest first (the `resolutions` relationship and v2 `resolutions`). */
  readonly resolutions: readonly Resolution[];
  /** Fixture domains and IPs: URLs hosted there (v2 `detected_urls` / `undetected_urls`); synthetic ones derive them. */
  readonly urls?: readonly string[];
}
