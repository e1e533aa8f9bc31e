// The journal's SQLite schema (version 1). The constraints are the last line of defence: whatever
// the runner does, the database itself refuses a second issued card for a record, a second record
// on one chip, a record marked issued without its issued row, and any change to an issued row.
//
//   records   one row per batch record: its state machine (pending → in-progress → issued |
//             rejected, plus review for the operator), station, attempt, chip, times, reason
//   issued    one row per issued record; record_id PRIMARY KEY and chip_serial UNIQUE make double
//             issue impossible; rows can be neither updated nor deleted
//   attempts  one row per claim (every card a record went onto, or was about to), for reports
//   meta      batch id, creation time, cardsmith version of the schema

export const SCHEMA_VERSION = 1;

export const RECORD_STATES = ['pending', 'in-progress', 'issued', 'rejected', 'review'] as const;
export const ATTEMPT_OUTCOMES = [
  'running',
  'issued',
  'card-rejected',
  'released',
  'recovered-issued',
  'recovered-blank',
  'recovered-partial',
  'recovered-empty',
  'review',
] as const;

const quoted = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(', ');

export const SCHEMA_SQL = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE records (
  id           TEXT PRIMARY KEY,
  seq          INTEGER NOT NULL UNIQUE,
  state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN (${quoted(RECORD_STATES)})),
  station      TEXT,
  owner        TEXT,
  attempt      INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  card_rejects INTEGER NOT NULL DEFAULT 0 CHECK (card_rejects >= 0),
  chip_serial  TEXT,
  started_at   INTEGER,
  finished_at  INTEGER,
  reason       TEXT,
  verification TEXT,
  updated_at   INTEGER NOT NULL,
  CHECK (state <> 'in-progress' OR (station IS NOT NULL AND started_at IS NOT NULL AND attempt > 0)),
  CHECK (state NOT IN ('rejected', 'review') OR reason IS NOT NULL)
);
CREATE INDEX records_state_seq ON records (state, seq);

CREATE TABLE issued (
  record_id   TEXT PRIMARY KEY REFERENCES records (id),
  chip_serial TEXT NOT NULL UNIQUE,
  station     TEXT NOT NULL,
  attempt     INTEGER NOT NULL,
  issued_at   INTEGER NOT NULL
);

CREATE TABLE attempts (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  record_id   TEXT NOT NULL REFERENCES records (id),
  attempt     INTEGER NOT NULL,
  station     TEXT NOT NULL,
  owner       TEXT,
  chip_serial TEXT,
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER,
  outcome     TEXT NOT NULL CHECK (outcome IN (${quoted(ATTEMPT_OUTCOMES)})),
  reason      TEXT,
  UNIQUE (record_id, attempt)
);
CREATE INDEX attempts_station ON attempts (station);

CREATE TRIGGER records_issued_needs_row BEFORE UPDATE OF state ON records
  WHEN NEW.state = 'issued' AND NOT EXISTS (SELECT 1 FROM issued WHERE record_id = NEW.id)
  BEGIN SELECT RAISE(ABORT, 'journal: a record becomes issued only together with its issued row'); END;

CREATE TRIGGER records_issued_is_final BEFORE UPDATE OF state ON records
  WHEN OLD.state = 'issued' AND NEW.state <> 'issued'
  BEGIN SELECT RAISE(ABORT, 'journal: an issued record never changes state'); END;

CREATE TRIGGER records_no_delete BEFORE DELETE ON records
  BEGIN SELECT RAISE(ABORT, 'journal: records are never deleted'); END;

CREATE TRIGGER issued_no_update BEFORE UPDATE ON issued
  BEGIN SELECT RAISE(ABORT, 'journal: issued rows are final'); END;

CREATE TRIGGER issued_no_delete BEFORE DELETE ON issued
  BEGIN SELECT RAISE(ABORT, 'journal: issued rows are final'); END;
`;
