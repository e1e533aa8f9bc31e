// The serial registry: card numbers and other serial counters of a card product, allocated
// across batches without gaps or repeats. One SQLite file (better-sqlite3, like the journal) per
// bureau or product line; `cardsmith prep --serials FILE` takes its counters from it.
//
// An allocation is one write transaction held for the whole prep run (BEGIN IMMEDIATE): a second
// prep on the same registry waits, then fails with a clear message, instead of handing out the
// same numbers. Prep commits the count of cards it wrote before it publishes the batch's manifest,
// so a crash before the commit leaves the counters as they were (SQLite rolls the transaction
// back) and a crash after it leaves a recorded range whose batch folder has no manifest — a gap an
// operator can see in `cardsmith serials show`, never a repeat.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { privateSqliteFileSync } from '../../files/private.js';

export class SerialRegistryError extends Error {
  override name = 'SerialRegistryError';
}

/** The counters of one product as prep starts: the first value each counter hands out. */
export interface SerialAllocation {
  readonly product: string;
  readonly first: Readonly<Record<string, number>>;
  /** Records that `count` values of every counter went to `batch`; ends the allocation. */
  commit(count: number, batch: string): void;
  /** Gives the values back (nothing was published); ends the allocation. */
  abort(): void;
}

/** One committed range. */
export interface AllocationRow {
  product: string;
  counter: string;
  first: number;
  last: number;
  count: number;
  batch: string;
  at: string;
}

/** The counters' next values, per product. */
export interface CounterRow {
  product: string;
  counter: string;
  next: number;
}

const SCHEMA_VERSION = 1;
const SCHEMA_SQL = `
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

export interface RegistryOptions {
  /** How long `allocate` waits for another prep to finish; default 5000 ms. */
  busyTimeoutMs?: number;
  now?: () => Date;
}

export class SerialRegistry {
  readonly path: string;
  #db: Database.Database;
  #now: () => Date;
  #open: SerialAllocation | undefined;

  /** Opens (or creates) the registry file. Its folder must exist. */
  static open(path: string, options: RegistryOptions = {}): SerialRegistry {
    return new SerialRegistry(path, options);
  }

  private constructor(path: string, options: RegistryOptions) {
    this.path = path;
    this.#now = options.now ?? (() => new Date());
    if (!existsSync(dirname(path))) throw new SerialRegistryError(`serials: the folder of ${path} does not exist`);
    const busy = Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000));
    try {
      privateSqliteFileSync(path);
      this.#db = new Database(path, { timeout: busy });
    } catch (e) {
      throw new SerialRegistryError(`serials: cannot open ${path}: ${messageOf(e)}`, { cause: e });
    }
    try {
      this.#db.pragma(`busy_timeout = ${busy}`);
      this.#db.pragma('synchronous = FULL');
      this.#migrate();
    } catch (e) {
      this.#db.close();
      throw e instanceof SerialRegistryError ? e : new SerialRegistryError(`serials: ${path}: ${messageOf(e)}`, { cause: e });
    }
  }

  #migrate(): void {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const version = this.#db.pragma('user_version', { simple: true }) as number;
      if (version === 0) {
        const tables = this.#db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
        if (tables.n > 0) throw new SerialRegistryError(`serials: ${this.path} is an SQLite file but not a serial registry`);
        this.#db.exec(SCHEMA_SQL);
        this.#db.pragma(`user_version = ${SCHEMA_VERSION}`);
      } else if (version !== SCHEMA_VERSION) {
        throw new SerialRegistryError(`serials: ${this.path} has schema ${version}, this cardsmith knows ${SCHEMA_VERSION}`);
      }
      this.#db.exec('COMMIT');
    } catch (e) {
      this.#db.exec('ROLLBACK');
      throw e;
    }
  }

  /**
   * Starts an allocation for `product` and locks the registry until commit or abort. `starts`
   * names every counter prep uses with its profile start value: a counter continues from where
   * the last committed batch stopped, or from the start value when that is higher (a product line
   * that moved to a new number range).
   */
  allocate(product: string, starts: Readonly<Record<string, number>>): SerialAllocation {
    if (this.#open) throw new SerialRegistryError('serials: an allocation is already open on this registry handle');
    if (product === '') throw new SerialRegistryError('serials: the product name is empty');
    for (const [name, start] of Object.entries(starts)) {
      if (!Number.isSafeInteger(start) || start < 0) throw new SerialRegistryError(`serials: counter ${name}: start must be a non-negative integer, got ${start}`);
    }
    try {
      this.#db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_BUSY') {
        throw new SerialRegistryError(`serials: ${this.path} is locked by another prep that is allocating numbers; wait for it to finish and run again`, { cause: e });
      }
      throw new SerialRegistryError(`serials: ${this.path}: ${messageOf(e)}`, { cause: e });
    }
    const get = this.#db.prepare('SELECT next FROM counters WHERE product = ? AND counter = ?');
    const first: Record<string, number> = {};
    for (const [name, start] of Object.entries(starts)) {
      const row = get.get(product, name) as { next: number } | undefined;
      first[name] = Math.max(start, row?.next ?? 0);
    }
    let done = false;
    const end = (): void => {
      done = true;
      this.#open = undefined;
    };
    const allocation: SerialAllocation = {
      product,
      first: Object.freeze({ ...first }),
      commit: (count, batch) => {
        if (done) throw new SerialRegistryError('serials: this allocation has already ended');
        if (!Number.isSafeInteger(count) || count < 0) throw new SerialRegistryError(`serials: count must be a non-negative integer, got ${count}`);
        try {
          if (count > 0) {
            const put = this.#db.prepare('INSERT INTO counters (product, counter, next) VALUES (?, ?, ?) ON CONFLICT (product, counter) DO UPDATE SET next = excluded.next');
            const log = this.#db.prepare('INSERT INTO allocations (product, counter, first, last, batch, at) VALUES (?, ?, ?, ?, ?, ?)');
            const at = this.#now().toISOString();
            for (const [name, value] of Object.entries(first)) {
              put.run(product, name, value + count);
              log.run(product, name, value, value + count - 1, batch, at);
            }
          }
          this.#db.exec('COMMIT');
        } catch (e) {
          if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
          throw new SerialRegistryError(`serials: ${this.path}: could not record the allocation: ${messageOf(e)}`, { cause: e });
        } finally {
          end();
        }
      },
      abort: () => {
        if (done) return;
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
        end();
      },
    };
    this.#open = allocation;
    return allocation;
  }

  /** The next value of every counter. */
  counters(product?: string): CounterRow[] {
    const sql = 'SELECT product, counter, next FROM counters' + (product === undefined ? '' : ' WHERE product = ?') + ' ORDER BY product, counter';
    return this.#db.prepare(sql).all(...(product === undefined ? [] : [product])) as CounterRow[];
  }

  /** Every committed range, oldest first. */
  allocations(product?: string): AllocationRow[] {
    const sql =
      'SELECT product, counter, first, last, last - first + 1 AS count, batch, at FROM allocations' + (product === undefined ? '' : ' WHERE product = ?') + ' ORDER BY id';
    return this.#db.prepare(sql).all(...(product === undefined ? [] : [product])) as AllocationRow[];
  }

  close(): void {
    this.#open?.abort();
    if (this.#db.open) this.#db.close();
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
