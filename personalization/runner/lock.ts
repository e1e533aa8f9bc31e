// One run per batch folder: DIR/run.lock, a small SQLite file whose write lock the running process
// holds for the whole run (an open IMMEDIATE transaction). The operating system drops the lock when
// the process ends, however it ends (SIGKILL, power cut on a local disk), so a lock is never stale;
// the holder's host, pid and start time are kept in the file for the message of a refused run.
// Taken before the journal or the audit log is opened: a refused run writes to neither.
import Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { privateSqliteFileSync } from '../../files/private.js';
import { CardsmithError, type ErrorKind } from '../../errors/index.js';

export const RUN_LOCK = 'run.lock';

/** Another process runs this batch now: exit 1, and the message says how to wait for it or stop it. */
export class RunLockedError extends CardsmithError {
  override name = 'RunLockedError';
  readonly kind: ErrorKind = 'operation';
}

interface Holder {
  host: string;
  pid: number;
  started: string;
}

export interface BatchLock {
  release(): void;
}

const isBusy = (e: unknown): boolean => /SQLITE_BUSY|database is locked/i.test(String((e as { code?: string }).code ?? '') + String((e as Error).message ?? ''));

function refused(dir: string, db: Database.Database): RunLockedError {
  let h: Holder | undefined;
  try {
    h = db.prepare('SELECT host, pid, started FROM holder WHERE id = 1').get() as Holder | undefined;
  } catch {
    h = undefined; // the holder has not committed its name yet
  }
  const who = h ? `process ${h.pid} on ${h.host}, started ${h.started}` : 'another process';
  const stop = h ? (h.host === hostname() ? `, or stop it with Ctrl-C in its terminal (kill -INT ${h.pid}), which finishes the cards in the encoders` : `, or stop it with Ctrl-C on ${h.host}`) : '';
  return new RunLockedError(`${dir} is being personalized by another run (${who}); nothing was done. Let that run finish${stop}; then run this command again`);
}

/** Takes DIR's run lock or throws RunLockedError naming the holder. */
export function lockBatch(dir: string): BatchLock {
  const path = join(dir, RUN_LOCK);
  privateSqliteFileSync(path); // private, before SQLite would create it with the umask
  const db = new Database(path, { timeout: 0 });
  const begin = (): void => {
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      if (!isBusy(e)) throw e;
      const err = refused(dir, db);
      db.close();
      throw err;
    }
  };
  try {
    begin();
    db.exec('CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), host TEXT NOT NULL, pid INTEGER NOT NULL, started TEXT NOT NULL)');
    db.prepare('INSERT OR REPLACE INTO holder (id, host, pid, started) VALUES (1, ?, ?, ?)').run(hostname(), process.pid, new Date().toISOString());
    // The commit waits for a refused run that is reading the holder's name.
    db.pragma('busy_timeout = 2000');
    db.exec('COMMIT');
    db.pragma('busy_timeout = 0');
    begin(); // held until release or the end of the process
  } catch (e) {
    if (db.open) db.close();
    throw e;
  }
  return {
    release: () => {
      if (!db.open) return;
      if (db.inTransaction) db.exec('ROLLBACK');
      db.close();
    },
  };
}
