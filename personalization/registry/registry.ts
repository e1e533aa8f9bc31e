// The issuance registry: the bureau's own record of every card it ever issued, across batches and
// across the loss of any batch's journal (schema in ./schema.ts). The runner writes it around every
// card, before the journal at each step, so that whatever file is lost the registry still says
// which records and chips have a card:
//
//   check(record, holder)      before a card is loaded: refused if the record already has a card, or
//                              the holder a live card of the product (unless a replacement)
//   reserve(card)              after the chip serial is known, before the first write to the chip
//   issue(batch, record, chip) after the card verified, before the journal marks it issued
//   void(batch, record, chip)  after the journal rejected that card
//
// A crash between two writes leaves the registry a step ahead of the journal; the runner settles
// that at its next start (./reconcile.ts). Every write is one IMMEDIATE transaction (WAL,
// synchronous = FULL): it is on disk before the card work that depends on it starts.
import type Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { normalizeChip } from '../journal/index.js';
import { SerialRegistry } from '../serials/registry.js';
import { messageOf, openRegistryDb, RegistryFileError, type CardState } from './schema.js';
import { CardsmithError, type ErrorKind } from '../../errors/index.js';

export { RegistryFileError } from './schema.js';

/** A key of the batch, as the registry keeps it: enough for a rotation campaign to find the cards. */
export interface KeyUse {
  label: string;
  version: number;
  kcv?: string;
}

/** Why a card replaces the holder's earlier one. */
export interface Replacement {
  /** lost, stolen, damaged, defective, expired, changed */
  kind: string;
  reason: string;
}

export interface CardEntry {
  id: number;
  product: string;
  revision: string;
  batch: string;
  record: string;
  holder: string | null;
  cardNumber: string | null;
  chip: string;
  state: CardState;
  keys: KeyUse[];
  station: string;
  reservedAt: string;
  issuedAt: string | null;
  endedAt: string | null;
  reason: string | null;
  replacement: Replacement | null;
  replaces: number | null;
}

/** What the runner knows of a card when it reserves it. */
export interface CardReservation {
  product: string;
  revision: string;
  batch: string;
  record: string;
  /** Keyed hash of the cardholder's ID number (hex); absent when the profile names no record key. */
  holder?: string;
  cardNumber?: string;
  chip: string;
  keys: KeyUse[];
  station: string;
  replacement?: Replacement;
}

export type ConflictKind = 'record-issued' | 'record-in-progress' | 'chip-known' | 'holder-live' | 'holder-in-progress';

/**
 * The registry refuses the card: the reason names the earlier card (batch, card number, chip);
 * `conflict` says which rule. An operation failure; the runner decides itself what a refusal
 * means for the record and the card in the encoder (run.ts), and rework reports it as bad input
 * (the operator named a record or chip that does not fit).
 */
export class RegistryConflictError extends CardsmithError {
  override name = 'RegistryConflictError';
  readonly kind: ErrorKind = 'operation';
  constructor(
    message: string,
    readonly conflict: ConflictKind,
    readonly existing: CardEntry,
  ) {
    super(message);
  }
}

/**
 * A registry operation was asked for something its state does not allow (no such card, wrong
 * state): an operation that failed; rework reports it as bad input (the operator's request).
 */
export class RegistryStateError extends CardsmithError {
  override name = 'RegistryStateError';
  readonly kind: ErrorKind = 'operation';
}

export interface IssuanceRegistryOptions {
  busyTimeoutMs?: number;
  now?: () => Date;
  /** Who writes (events.who); default host:pid. */
  who?: string;
}

/** A cards row as SQLite returns it: snake_case columns, JSON in keys and replacement. */
type CardRow = Omit<CardEntry, 'cardNumber' | 'keys' | 'reservedAt' | 'issuedAt' | 'endedAt' | 'replacement'> & {
  card_number: string | null;
  keys: string;
  reserved_at: string;
  issued_at: string | null;
  ended_at: string | null;
  replacement: string | null;
};

const MAX_REASON = 300;

export class IssuanceRegistry {
  readonly path: string;
  #db: Database.Database;
  #now: () => Date;
  #who: string;
  #statements = new Map<string, Database.Statement>();
  #serials: SerialRegistry | undefined;
  #busy: number;

  static open(path: string, options: IssuanceRegistryOptions = {}): IssuanceRegistry {
    return new IssuanceRegistry(path, options);
  }

  private constructor(path: string, options: IssuanceRegistryOptions) {
    this.path = path;
    this.#now = options.now ?? (() => new Date());
    this.#who = options.who ?? `${hostname()}:${process.pid}`;
    this.#busy = Math.max(0, Math.floor(options.busyTimeoutMs ?? 10_000));
    this.#db = openRegistryDb(path, 'registry', this.#busy);
  }

  /** The serial counters in the same file (card numbers continue across batches). */
  get serials(): SerialRegistry {
    return (this.#serials ??= SerialRegistry.open(this.path, { busyTimeoutMs: this.#busy, now: this.#now }));
  }

  /** The key the cardholder hashes are keyed with, once the first prep bound it. */
  holderKey(): KeyUse | undefined {
    const row = this.#sql("SELECT value FROM meta WHERE key = 'holder_key'").get() as { value: string } | undefined;
    return row && (JSON.parse(row.value) as KeyUse);
  }

  /** Binds the registry to the holder hash key (first prep only; another key is refused by holder.ts). */
  bindHolderKey(key: KeyUse): void {
    this.#tx(() => {
      if (!this.holderKey()) this.#sql("INSERT INTO meta (key, value) VALUES ('holder_key', ?)").run(JSON.stringify({ label: key.label, version: key.version, kcv: key.kcv }));
    });
  }

  /** The record's card that is not void (reserved, issued or replaced), if any. */
  cardOfRecord(batch: string, record: string): CardEntry | undefined {
    const row = this.#sql("SELECT * FROM cards WHERE batch = ? AND record = ? AND state <> 'void'").get(batch, record) as CardRow | undefined;
    return row && entryOf(row);
  }

  /** The holder's live card of the product: issued, else one being written. */
  liveCardOf(product: string, holder: string): CardEntry | undefined {
    const row = this.#sql("SELECT * FROM cards WHERE product = ? AND holder = ? AND state IN ('issued', 'reserved') ORDER BY state = 'issued' DESC, id LIMIT 1").get(product, holder) as
      | CardRow
      | undefined;
    return row && entryOf(row);
  }

  /** The live card on a chip (any product), if any. */
  cardOnChip(chip: string): CardEntry | undefined {
    const row = this.#sql("SELECT * FROM cards WHERE chip = ? AND state <> 'void'").get(normalizeChip(chip)) as CardRow | undefined;
    return row && entryOf(row);
  }

  /** Every card row of a batch, void ones included, oldest first. */
  cardsOfBatch(batch: string): CardEntry[] {
    return (this.#sql('SELECT * FROM cards WHERE batch = ? ORDER BY id').all(batch) as CardRow[]).map(entryOf);
  }

  /** Every card row, newest first (at most `limit`). */
  cards(options: { product?: string; state?: CardState; limit?: number } = {}): CardEntry[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (options.product !== undefined) (where.push('product = ?'), args.push(options.product));
    if (options.state !== undefined) (where.push('state = ?'), args.push(options.state));
    const sql = `SELECT * FROM cards${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.#db.prepare(sql).all(...args, options.limit ?? -1) as CardRow[]).map(entryOf);
  }

  /** Cards per state. */
  counts(): Record<CardState, number> {
    const out: Record<CardState, number> = { reserved: 0, issued: 0, void: 0, replaced: 0 };
    for (const r of this.#sql('SELECT state, count(*) AS n FROM cards GROUP BY state').all() as { state: CardState; n: number }[]) out[r.state] = r.n;
    return out;
  }

  /**
   * Refuses a record that already has a card, or whose holder has a live card of the product
   * (unless the record is a replacement). Read-only: the runner asks before it loads a card.
   */
  check(c: Pick<CardReservation, 'product' | 'batch' | 'record' | 'holder' | 'replacement'>): void {
    const mine = this.cardOfRecord(c.batch, c.record);
    if (mine) throw recordConflict(mine);
    this.#checkHolder(c);
  }

  /** The holder part of check(): a live card of the product refuses the record unless it is a replacement. */
  #checkHolder(c: Pick<CardReservation, 'product' | 'holder' | 'replacement'>): void {
    if (c.holder === undefined) return;
    const live = this.liveCardOf(c.product, c.holder);
    if (!live) return;
    if (live.state === 'reserved') {
      throw new RegistryConflictError(`the cardholder's card of ${c.product} is being written (batch ${live.batch}, record ${shortId(live.record)}, chip ${live.chip} at ${live.station})`, 'holder-in-progress', live);
    }
    if (!c.replacement) {
      throw new RegistryConflictError(
        `the cardholder already has a live card of ${c.product} (card number ${live.cardNumber ?? 'none'}, batch ${live.batch}, issued ${live.issuedAt}); to issue another, prepare the record as a replacement (columns replacement and replacementReason)`,
        'holder-live',
        live,
      );
    }
  }

  /**
   * Records that `c.chip` is about to be written with the record. Idempotent for the same record
   * and chip (a resumed card). Throws RegistryConflictError when the record, the chip or the holder
   * already has a card (check() and the chip).
   */
  reserve(c: CardReservation): CardEntry {
    const chip = normalizeChip(c.chip);
    return this.#tx(() => {
      const mine = this.cardOfRecord(c.batch, c.record);
      if (mine && mine.state === 'reserved' && mine.chip === chip) return mine;
      if (mine) throw recordConflict(mine);
      this.#checkHolder(c);
      const other = this.cardOnChip(chip);
      if (other) {
        throw new RegistryConflictError(`chip ${chip} already carries a card of the registry (${other.product}, batch ${other.batch}, record ${shortId(other.record)}, ${other.state})`, 'chip-known', other);
      }
      const at = this.#now().toISOString();
      const r = this.#sql(
        'INSERT INTO cards (product, revision, batch, record, holder, card_number, chip, state, keys, station, reserved_at, replacement) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(c.product, c.revision, c.batch, c.record, c.holder ?? null, c.cardNumber ?? null, chip, 'reserved', JSON.stringify(c.keys), c.station, at, c.replacement ? JSON.stringify(c.replacement) : null);
      this.#event(Number(r.lastInsertRowid), c.batch, c.record, 'reserved', `chip ${chip} at ${c.station}`, at);
      return this.cardOfRecord(c.batch, c.record)!;
    });
  }

  /**
   * The reserved card verified: it is issued. A replacement marks the holder's earlier issued card
   * of the product replaced in the same transaction.
   */
  issue(batch: string, record: string, chip: string): CardEntry {
    const want = normalizeChip(chip);
    return this.#tx(() => {
      const card = this.cardOfRecord(batch, record);
      if (card?.state === 'issued' && card.chip === want) return card;
      if (!card || card.state !== 'reserved' || card.chip !== want) {
        throw new RegistryStateError(`registry: record ${shortId(record)} of batch ${batch} has no card reserved on chip ${want} (${card ? `${card.state} on ${card.chip}` : 'no card'})`);
      }
      const at = this.#now().toISOString();
      if (card.holder !== null) {
        const earlier = this.#sql("SELECT * FROM cards WHERE product = ? AND holder = ? AND state = 'issued'").all(card.product, card.holder) as CardRow[];
        for (const old of earlier) {
          const why = card.replacement ? `replaced by card ${card.cardNumber ?? card.chip} (${card.replacement.kind}: ${card.replacement.reason})` : undefined;
          // The reservation was checked; an issued card of the holder appearing since is a race another station won.
          if (!why) throw new RegistryConflictError(`the cardholder got a live card of ${card.product} while this one was written (batch ${old.batch})`, 'holder-live', entryOf(old));
          this.#sql("UPDATE cards SET state = 'replaced', ended_at = ?, reason = ? WHERE id = ?").run(at, clip(why), old.id);
          this.#sql('UPDATE cards SET replaces = ? WHERE id = ?').run(old.id, card.id);
          this.#event(old.id, old.batch, old.record, 'replaced', why, at);
        }
      }
      this.#sql("UPDATE cards SET state = 'issued', issued_at = ? WHERE id = ?").run(at, card.id);
      this.#event(card.id, batch, record, 'issued', `chip ${want}`, at);
      return this.cardOfRecord(batch, record)!;
    });
  }

  /** The reserved card was rejected (or found blank): the record and chip are free again. */
  void(batch: string, record: string, chip: string, reason: string): void {
    const want = normalizeChip(chip);
    this.#tx(() => {
      const card = this.cardOfRecord(batch, record);
      if (!card || card.chip !== want) return; // nothing reserved on that chip: already settled
      if (card.state !== 'reserved') throw new RegistryStateError(`registry: record ${shortId(record)} of batch ${batch} is ${card.state} on chip ${want}; only a reserved card can be voided`);
      const at = this.#now().toISOString();
      this.#sql("UPDATE cards SET state = 'void', ended_at = ?, reason = ? WHERE id = ?").run(at, clip(reason), card.id);
      this.#event(card.id, batch, record, 'void', reason, at);
    });
  }

  /** Appends an operator's decision (rework) to the events. */
  note(batch: string, record: string, op: string, reason: string): void {
    this.#tx(() => {
      const card = this.cardOfRecord(batch, record);
      this.#event(card?.id ?? null, batch, record, op, reason, this.#now().toISOString());
    });
  }

  /** Events of a record (or of all records of a batch), oldest first. */
  events(batch: string, record?: string): { at: string; record: string; op: string; reason: string | null; who: string | null }[] {
    return this.#sql(`SELECT at, record, op, reason, who FROM events WHERE batch = ?${record === undefined ? ' AND ? IS NULL' : ' AND record = ?'} ORDER BY id`).all(batch, record ?? null) as {
      at: string;
      record: string;
      op: string;
      reason: string | null;
      who: string | null;
    }[];
  }

  close(): void {
    this.#serials?.close();
    if (this.#db.open) this.#db.close();
  }

  #event(card: number | null, batch: string, record: string, op: string, reason: string | undefined, at: string): void {
    this.#sql('INSERT INTO events (at, card, batch, record, op, reason, who) VALUES (?, ?, ?, ?, ?, ?, ?)').run(at, card, batch, record, op, reason === undefined ? null : clip(reason), this.#who);
  }

  #sql(text: string): Database.Statement {
    let s = this.#statements.get(text);
    if (!s) this.#statements.set(text, (s = this.#db.prepare(text)));
    return s;
  }

  #tx<T>(fn: () => T): T {
    if (this.#db.inTransaction) return fn();
    try {
      return this.#db.transaction(fn).immediate();
    } catch (e) {
      if (e instanceof RegistryConflictError || e instanceof RegistryStateError) throw e;
      const code = (e as { code?: string }).code;
      if (code === 'SQLITE_CONSTRAINT_UNIQUE') throw new RegistryStateError(`registry: ${this.path}: refused by its constraints (${messageOf(e)}): another station or process wrote the same record, chip or holder at the same time`, { cause: e });
      if (code === 'SQLITE_BUSY') throw new RegistryFileError(`registry: ${this.path} stayed locked by another process for ${this.#busy} ms`, { cause: e });
      throw e;
    }
  }
}

function recordConflict(mine: CardEntry): RegistryConflictError {
  if (mine.state === 'reserved') {
    return new RegistryConflictError(`the record is being written on chip ${mine.chip} at ${mine.station} since ${mine.reservedAt} (registry)`, 'record-in-progress', mine);
  }
  return new RegistryConflictError(`the record already has a card: ${mine.state} on chip ${mine.chip}${mine.issuedAt ? ` (issued ${mine.issuedAt})` : ''}`, 'record-issued', mine);
}

function entryOf(r: CardRow): CardEntry {
  return {
    id: r.id,
    product: r.product,
    revision: r.revision,
    batch: r.batch,
    record: r.record,
    holder: r.holder,
    cardNumber: r.card_number,
    chip: r.chip,
    state: r.state,
    keys: JSON.parse(r.keys) as KeyUse[],
    station: r.station,
    reservedAt: r.reserved_at,
    issuedAt: r.issued_at,
    endedAt: r.ended_at,
    reason: r.reason,
    replacement: r.replacement === null ? null : (JSON.parse(r.replacement) as Replacement),
    replaces: r.replaces,
  };
}


/** Record ids in messages: enough to find the record, short enough for journals that refuse key-like hex runs. */
export function shortId(record: string): string {
  return record.length > 16 ? `${record.slice(0, 12)}…` : record;
}

function clip(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > MAX_REASON ? `${one.slice(0, MAX_REASON - 1)}…` : one;
}
