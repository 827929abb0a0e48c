/**
 * How a SQLite cache file is opened and how replies are written into it: one place for the cache's own
 * connection and for its writer thread (sqlite-writer.ts), which both open the file and may both store.
 */
import Database from 'better-sqlite3';
import type { StoredReply } from './rows.js';

/**
 * A row as the SQLite cache stores it: the JSON texts already UTF-8, each in an ArrayBuffer of its own.
 * Design decision (issue 13 §5): a reply becomes this row when it is put, not when its batch is committed. Its
 * text (7–10 KB) then dies young instead of waiting in the queue through a young-generation collection (which
 * copied it, then promoted it to the old generation: a premium run with the cache on spent 1.5 s more in the
 * collector per 100,000 replies); and the bytes are handed to the writer thread without a copy (see
 * sqlite-writer.ts), where the text was serialised and copied for the thread, then encoded again there.
 */
export interface SqliteRow extends Omit<StoredReply, 'body' | 'resolutions'> {
  readonly body: Uint8Array | null;
  readonly resolutions: Uint8Array | null;
}

const encoder = new TextEncoder();

/** UTF-8 in a buffer of its own (never a slice of a shared pool, which could not be handed to a thread). */
function ownBytes(text: string | null): Uint8Array | null {
  return text === null ? null : encoder.encode(text);
}

/** The SQLite row of a stored reply. */
export function sqliteRow(row: StoredReply): SqliteRow {
  return { ...row, body: ownBytes(row.body), resolutions: ownBytes(row.resolutions) };
}

/** The buffers of `rows`' texts, to hand to another thread without copying them. */
export function rowBuffers(rows: readonly SqliteRow[]): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const row of rows) {
    for (const bytes of [row.body, row.resolutions]) if (bytes !== null) buffers.push(bytes.buffer as ArrayBuffer);
  }
  return buffers;
}

/**
 * Puts the file in WAL mode. SQLite can refuse this with SQLITE_BUSY at once, without its busy handler, while another
 * process is writing to a file just made (two runs started together on a new cache: one exited with "database is
 * locked", 3 times in 30 such starts). Retried every 20 ms until the busy timeout, as any other lock is waited for.
 */
function walMode(db: Database.Database, busyTimeoutMs: number): void {
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw error;
      // `open` is synchronous: a blocking wait, for milliseconds, only when two runs start at once.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

/**
 * Opens a cache file with the settings every connection to it uses. WAL: readers never block the writer, and
 * the cache's connection reads while its writer thread commits. synchronous=NORMAL is durable against a killed
 * process under WAL (only a power cut may lose the last commits, which costs a re-lookup, never a corrupt file).
 */
export function openCacheDatabase(path: string, busyTimeoutMs: number): Database.Database {
  const db = new Database(path, { timeout: busyTimeoutMs });
  try {
    walMode(db, busyTimeoutMs);
    db.pragma('synchronous = NORMAL');
    // 32 MiB of page cache (default 2 MiB): the lookup rows and key indexes of ~200,000 entries stay in memory.
    db.pragma('cache_size = -32768');
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * The transaction that stores rows (see rows.ts storedReply), prepared on `db`. It runs as BEGIN IMMEDIATE: a
 * deferred transaction that upgrades from read to write can fail with SQLITE_BUSY at once, whatever the busy
 * timeout, when another process wrote in between.
 */
export function replyStorer(db: Database.Database): (rows: readonly SqliteRow[]) => void {
  // A reply older than the stored one (two runs racing on one file) does not overwrite it: then no row is
  // returned and the body is left alone.
  const upsert = db.prepare<unknown[], { reply_id: number }>(
    `INSERT INTO replies (api, kind, id, type, value, outcome, verdict, positives, fetched_at)
     VALUES (@api, @kind, @id, @type, @value, @outcome, @verdict, @positives, @fetchedAt)
     ON CONFLICT (api, kind, id) DO UPDATE SET
       type = excluded.type, value = excluded.value, outcome = excluded.outcome, verdict = excluded.verdict,
       positives = excluded.positives, fetched_at = excluded.fetched_at
     WHERE excluded.fetched_at >= replies.fetched_at
     RETURNING reply_id`,
  );
  const storeBody = db.prepare(
    'INSERT OR REPLACE INTO bodies (reply_id, fetched_at, body, resolutions) VALUES (?, ?, ?, ?)',
  );
  // An earlier "not found" stored under one hash is superseded once a reply names that hash as the file's.
  const deleteSupersededBody = db.prepare(
    `DELETE FROM bodies WHERE reply_id IN (SELECT reply_id FROM replies WHERE api = ? AND kind = 'file' AND id = ?)`,
  );
  const deleteSuperseded = db.prepare(`DELETE FROM replies WHERE api = ? AND kind = 'file' AND id = ?`);
  const alias = db.prepare(
    `INSERT INTO file_aliases (api, hash, id) VALUES (?, ?, ?) ON CONFLICT (api, hash) DO UPDATE SET id = excluded.id`,
  );
  const store = db.transaction((rows: readonly SqliteRow[]) => {
    for (const row of rows) {
      const stored = upsert.get({
        api: row.api,
        kind: row.kind,
        id: row.id,
        type: row.type,
        value: row.value,
        outcome: row.outcome,
        verdict: row.verdict,
        positives: row.positives,
        fetchedAt: row.fetchedAt,
      });
      if (stored !== undefined) storeBody.run(stored.reply_id, row.fetchedAt, row.body, row.resolutions);
      for (const hash of row.superseded) {
        deleteSupersededBody.run(row.api, hash);
        deleteSuperseded.run(row.api, hash);
      }
      for (const hash of row.aliases) alias.run(row.api, hash, row.id);
    }
  });
  return (rows) => store.immediate(rows);
}
