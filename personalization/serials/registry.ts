// The serial registry: card numbers and other serial counters of a card product, allocated
// across batches without gaps or repeats. They live in the bureau's registry file
// (personalization/registry/schema.ts) beside the issuance registry; `cardsmith prep` takes its
// counters from it.
//
// An allocation reads the counters when prep starts and records the range in one short write
// transaction when prep has written its cards, just before the batch's manifest appears. The file
// is not locked in between, so stations recording cards in the same registry never wait for a long
// prep. A second prep of the same product that committed in the meantime makes the commit fail
// (the counters moved): that prep's output is thrown away and it runs again, never handing out a
// number twice. A crash before the commit leaves the counters as they were; a crash after it leaves
// a recorded range whose batch folder has no manifest — a gap an operator can see in
// `cardsmith serials show`, never a repeat.
import type Database from 'better-sqlite3';
import { messageOf, openRegistryDb, RegistryFileError } from '../registry/schema.js';
import { CardsmithError, type ErrorKind } from '../../errors/index.js';

/** Allocation failed (exit 1); `serials show` reports a file that does not open as bad input. */
export class SerialRegistryError extends CardsmithError {
  override name = 'SerialRegistryError';
  readonly kind: ErrorKind = 'operation';
}

/** The counters of one product as prep starts: the first value each counter hands out. */
export interface SerialAllocation {
  readonly product: string;
  readonly first: Readonly<Record<string, number>>;
  /** Records that `count` values of every counter went to `batch`; ends the allocation. Fails when another prep committed meanwhile. */
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
    try {
      this.#db = openRegistryDb(path, 'serials', Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000)));
    } catch (e) {
      if (e instanceof RegistryFileError) throw new SerialRegistryError(e.message, { cause: e });
      throw e;
    }
  }

  /**
   * Starts an allocation for `product`. `starts` names every counter prep uses with its profile
   * start value: a counter continues from where the last committed batch stopped, or from the start
   * value when that is higher (a product line that moved to a new number range). Nothing is locked
   * or written until commit.
   */
  allocate(product: string, starts: Readonly<Record<string, number>>): SerialAllocation {
    if (this.#open) throw new SerialRegistryError('serials: an allocation is already open on this registry handle');
    if (product === '') throw new SerialRegistryError('serials: the product name is empty');
    for (const [name, start] of Object.entries(starts)) {
      if (!Number.isSafeInteger(start) || start < 0) throw new SerialRegistryError(`serials: counter ${name}: start must be a non-negative integer, got ${start}`);
    }
    const get = this.#db.prepare('SELECT next FROM counters WHERE product = ? AND counter = ?');
    const nextOf = (name: string): number | undefined => (get.get(product, name) as { next: number } | undefined)?.next;
    const seen: Record<string, number | undefined> = {};
    const first: Record<string, number> = {};
    for (const [name, start] of Object.entries(starts)) {
      seen[name] = nextOf(name);
      first[name] = Math.max(start, seen[name] ?? 0);
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
          this.#db.exec('BEGIN IMMEDIATE');
        } catch (e) {
          end();
          throw new SerialRegistryError(`serials: ${this.path}: ${messageOf(e)}`, { cause: e });
        }
        try {
          for (const name of Object.keys(first)) {
            if (nextOf(name) !== seen[name]) {
              throw new SerialRegistryError(
                `serials: another prep of ${product} took numbers from ${this.path} while this one ran (counter ${name} moved from ${seen[name] ?? 'unset'} to ${nextOf(name)}); nothing of this prep was kept: run it again`,
              );
            }
          }
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
          if (e instanceof SerialRegistryError) throw e;
          throw new SerialRegistryError(`serials: ${this.path}: could not record the allocation: ${messageOf(e)}`, { cause: e });
        } finally {
          end();
        }
      },
      abort: end,
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
