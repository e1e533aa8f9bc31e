// The bureau's registry file (SQLite): the issuance registry (every card the bureau ever issued)
// and the serial counters card numbers come from, in one file so that one backup holds both.
//
//   counters      next value of every serial counter, per product
//   allocations   every range of counter values a batch was given
//   cards         one row per card the runner started to write: product, batch, record, keyed hash
//                 of the cardholder's ID, card number, chip, key versions, station, state
//   meta          which key the cardholder hashes are keyed with (label, version, KCV)
//   events        every change of a card row (reserved, issued, voided, replaced, resolved), with
//                 the reason: append-only
//
// A card row is `reserved` before the first write to the chip, `issued` after the card verified,
// `void` when that card was rejected, `replaced` when a replacement card of the holder was issued.
// The constraints hold whatever the code does: one live card per (batch, record), one live record
// per chip, one issued card per (product, holder); card rows are never deleted.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { privateSqliteFileSync } from '../../files/private.js';
import { dirname } from 'node:path';
import { CardsmithError, type ErrorKind } from '../../errors/index.js';

/** Version 1 held the serial counters only; version 2 adds the cards. */
export const REGISTRY_SCHEMA_VERSION = 2;

export const CARD_STATES = ['reserved', 'issued', 'void', 'replaced'] as const;
export type CardState = (typeof CARD_STATES)[number];

const SERIALS_SQL = `
CREATE TABLE counters (
  product TEXT NOT NULL,
  counter TEXT NOT NULL,
  next INTEGER NOT NULL CHECK (next >= 0),
  PRIMARY KEY (product, counter)
);
CREATE TABLE allocations (
  id INTEGER PRIMARY KEY,
  product TEXT NOT NULL,
  counter TEXT NOT NULL,
  first INTEGER NOT NULL,
  last INTEGER NOT NULL,
  batch TEXT NOT NULL,
  at TEXT NOT NULL,
  CHECK (last >= first)
);
`;

const CARDS_SQL = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE cards (
  id          INTEGER PRIMARY KEY,
  product     TEXT NOT NULL,
  revision    TEXT NOT NULL,
  batch       TEXT NOT NULL,
  record      TEXT NOT NULL,
  holder      TEXT,
  card_number TEXT,
  chip        TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN (${CARD_STATES.map((s) => `'${s}'`).join(', ')})),
  keys        TEXT NOT NULL,
  station     TEXT NOT NULL,
  reserved_at TEXT NOT NULL,
  issued_at   TEXT,
  ended_at    TEXT,
  reason      TEXT,
  replacement TEXT,
  replaces    INTEGER REFERENCES cards (id),
  CHECK (state <> 'issued' OR issued_at IS NOT NULL),
  CHECK (state NOT IN ('void', 'replaced') OR reason IS NOT NULL)
);
CREATE UNIQUE INDEX cards_live_record ON cards (batch, record) WHERE state <> 'void';
CREATE UNIQUE INDEX cards_live_chip ON cards (chip) WHERE state <> 'void';
CREATE UNIQUE INDEX cards_issued_holder ON cards (product, holder) WHERE state = 'issued' AND holder IS NOT NULL;
CREATE INDEX cards_holder ON cards (holder);
CREATE INDEX cards_batch ON cards (batch);

CREATE TABLE events (
  id      INTEGER PRIMARY KEY,
  at      TEXT NOT NULL,
  card    INTEGER REFERENCES cards (id),
  batch   TEXT NOT NULL,
  record  TEXT NOT NULL,
  op      TEXT NOT NULL,
  reason  TEXT,
  who     TEXT
);

CREATE TRIGGER cards_no_delete BEFORE DELETE ON cards
  BEGIN SELECT RAISE(ABORT, 'registry: card rows are never deleted'); END;
CREATE TRIGGER cards_final BEFORE UPDATE OF state ON cards
  WHEN OLD.state IN ('void', 'replaced') OR (OLD.state = 'issued' AND NEW.state <> 'replaced')
  BEGIN SELECT RAISE(ABORT, 'registry: a void or replaced card never changes state, an issued one only to replaced'); END;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'registry: events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'registry: events are append-only'); END;
`;

/** The registry file could not be opened, is not a registry, or has a newer schema. */
export class RegistryFileError extends CardsmithError {
  override name = 'RegistryFileError';
  readonly kind: ErrorKind = 'input';
}

/**
 * Opens (creating when missing, mode 0600) and migrates the registry file. `what` prefixes messages
 * ("registry", "serials"). WAL: readers (prep's holder checks, `cardsmith verify`) never wait for a
 * station's write.
 * @internal (keeps better-sqlite3's types out of the package's declarations)
 */
export function openRegistryDb(path: string, what: string, busyTimeoutMs: number): Database.Database {
  if (!existsSync(dirname(path))) throw new RegistryFileError(`${what}: the folder of ${path} does not exist`);
  // 0600 before SQLite writes a byte: it holds keyed hashes of ID numbers and card numbers.
  try {
    privateSqliteFileSync(path);
  } catch (e) {
    throw new RegistryFileError(`${what}: cannot create ${path}: ${messageOf(e)}`, { cause: e });
  }
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
  } catch (e) {
    throw new RegistryFileError(`${what}: cannot open ${path}: ${messageOf(e)}`, { cause: e });
  }
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal') throw new RegistryFileError(`${what}: ${path}: SQLite refused WAL mode (got ${String(mode)}); is the folder on a network file system?`);
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, path, what);
    return db;
  } catch (e) {
    db.close();
    throw e instanceof RegistryFileError ? e : new RegistryFileError(`${what}: ${path}: ${messageOf(e)}`, { cause: e });
  }
}

function migrate(db: Database.Database, path: string, what: string): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version === 0) {
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
      if (tables.n > 0) throw new RegistryFileError(`${what}: ${path} is an SQLite file but not a cardsmith registry`);
      db.exec(SERIALS_SQL);
    } else if (version > REGISTRY_SCHEMA_VERSION) {
      throw new RegistryFileError(`${what}: ${path} has schema ${version}, this cardsmith knows ${REGISTRY_SCHEMA_VERSION}; use a newer cardsmith`);
    }
    // A version-1 file (serial counters only) gains the cards tables; its counters stay.
    if (version < 2) db.exec(CARDS_SQL);
    if (version !== REGISTRY_SCHEMA_VERSION) db.pragma(`user_version = ${REGISTRY_SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (e) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw e;
  }
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
