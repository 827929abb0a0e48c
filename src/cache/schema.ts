/**
 * The cache's SQLite schema and its versioning.
 */
import type Database from 'better-sqlite3';
import { IocEnrichError } from '../errors.js';

/**
 * The schema version this code writes. A file with a newer one is refused rather than misread; an older one is
 * dropped and created again (it is a cache: the price is looking things up again).
 */
export const SCHEMA_VERSION = 2;

/*
 * replies: one small row per observable and API version, what lookups and freshness checks read. `kind` is the
 * IoC type, or `file` for the three hash types; `id` is the normalised observable, for a found file its
 * SHA-256. The key is what was asked, the rest what VirusTotal answered and when: no column holds the API key
 * or anything derived from it.
 *
 * bodies: the reply itself (UTF-8 JSON BLOBs, 2-80 KB), one row per reply, read only when the reply is used.
 * Design decision, measured: with the JSON in the same row, each row filled a page of its own and a lookup
 * read one page per entry (about 18,000 lookups/s on a 40,000-entry file); kept apart, the lookup rows pack
 * about 40 to a page and stay in SQLite's page cache.
 *
 * file_aliases: every hash of a file seen in a reply (and the one looked up) → the file's row, so that an md5
 * lookup answers a later sha1 or sha256 lookup of the same file.
 */
const SCHEMA = `
CREATE TABLE replies (
  reply_id    INTEGER PRIMARY KEY,
  api         TEXT    NOT NULL CHECK (api IN ('v3', 'v2')),
  kind        TEXT    NOT NULL,
  id          TEXT    NOT NULL,
  type        TEXT    NOT NULL,
  value       TEXT    NOT NULL,
  outcome     TEXT    NOT NULL CHECK (outcome IN ('found', 'not_found')),
  verdict     TEXT    NOT NULL CHECK (verdict IN ('malicious', 'suspicious', 'clean', 'not_found')),
  positives   INTEGER,
  fetched_at  INTEGER NOT NULL,
  UNIQUE (api, kind, id)
);
CREATE INDEX replies_fetched_at ON replies (fetched_at);
CREATE TABLE bodies (
  reply_id    INTEGER PRIMARY KEY,
  fetched_at  INTEGER NOT NULL,
  body        BLOB,
  resolutions BLOB
);
CREATE TABLE file_aliases (
  api  TEXT NOT NULL,
  hash TEXT NOT NULL,
  id   TEXT NOT NULL,
  PRIMARY KEY (api, hash)
) WITHOUT ROWID;
CREATE INDEX file_aliases_id ON file_aliases (api, id);
`;

/**
 * Creates the schema in a new file, or checks an existing file's version. Runs in an IMMEDIATE transaction so
 * that two runs creating the same new file at once serialise instead of both trying to create the tables.
 */
export function ensureSchema(db: Database.Database, path: string): void {
  db.transaction(() => {
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
    const version = tables.includes('schema_version')
      ? (db.prepare('SELECT max(version) FROM schema_version').pluck().get() as number | null)
      : null;
    if (version === null && tables.some((name) => name !== 'schema_version')) {
      // Someone's other database given as --cache: never touch its tables.
      throw new IocEnrichError('CACHE_ERROR', `${path}: not an ioc-enrich cache (it has tables ${tables.join(', ')})`);
    }
    if (version !== null && version > SCHEMA_VERSION) {
      throw new IocEnrichError(
        'CACHE_ERROR',
        `${path}: cache schema version ${version} is newer than this ioc-enrich understands (${SCHEMA_VERSION}); upgrade ioc-enrich or use another --cache`,
      );
    }
    if (version === SCHEMA_VERSION) return;
    db.exec(`DROP TABLE IF EXISTS replies; DROP TABLE IF EXISTS bodies; DROP TABLE IF EXISTS file_aliases;
             DROP TABLE IF EXISTS schema_version; CREATE TABLE schema_version (version INTEGER NOT NULL);`);
    db.exec(SCHEMA);
    db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
  }).immediate();
}
