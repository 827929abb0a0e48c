/**
 * The cache's SQLite schema and its versioning.
 */
import type Database from 'better-sqlite3';
import { IocEnrichError } from '../errors.js';

/** The schema version this code writes. A file with a newer one is refused rather than misread. */
export const SCHEMA_VERSION = 1;

/*
 * replies: one row per observable and API version. `kind` is the IoC type, or `file` for the three hash types;
 * `id` is the normalised observable, for a found file its SHA-256. The key of the row is what was asked, the
 * rest is what VirusTotal answered and when: no column holds the API key or anything derived from it.
 * A rowid table (not WITHOUT ROWID): rows carry 2-80 KB of JSON, which SQLite stores better out of the key's
 * B-tree.
 *
 * file_aliases: every hash of a file seen in a reply (and the one looked up) → the file's row, so that an md5
 * lookup answers a later sha1 or sha256 lookup of the same file.
 */
const SCHEMA_V1 = `
CREATE TABLE replies (
  api         TEXT    NOT NULL CHECK (api IN ('v3', 'v2')),
  kind        TEXT    NOT NULL,
  id          TEXT    NOT NULL,
  type        TEXT    NOT NULL,
  value       TEXT    NOT NULL,
  outcome     TEXT    NOT NULL CHECK (outcome IN ('found', 'not_found')),
  verdict     TEXT    NOT NULL CHECK (verdict IN ('malicious', 'suspicious', 'clean', 'not_found')),
  positives   INTEGER,
  fetched_at  INTEGER NOT NULL,
  body        TEXT,
  resolutions TEXT,
  UNIQUE (api, kind, id)
);
CREATE INDEX replies_fetched_at ON replies (fetched_at);
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
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = db.prepare('SELECT max(version) AS version FROM schema_version').get() as { version: number | null };
    if (row.version === null) {
      db.exec(SCHEMA_V1);
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
    } else if (row.version > SCHEMA_VERSION) {
      throw new IocEnrichError(
        'CACHE_ERROR',
        `${path}: cache schema version ${row.version} is newer than this ioc-enrich understands (${SCHEMA_VERSION}); upgrade ioc-enrich or use another --cache`,
      );
    }
  }).immediate();
}
