// The card's persistent memory (EEPROM/flash) with atomic transactions and a power-loss hook.
// Model (how native COSes make updates atomic, cf. Java Card 3 "atomicity and transactions"):
// every command that changes persistent state runs one transaction, which is written as
//   1. one journal write per changed cell (new value into the journal),
//   2. one commit-marker write (the journal becomes valid, with a checksum),
//   3. one apply write per changed cell (copy to its home location),
//   4. one journal-clear write.
// Each of these is a *persistent write*, counted from 1. Power can be cut before, during or
// after any of them. At the next power-on the card recovers: a committed journal is replayed
// (so a torn home cell is repaired), an uncommitted one is dropped. Hence: a cut anywhere in
// steps 1–2 (a torn commit marker fails its checksum) leaves the old state; a cut after the
// commit marker leaves the new state. Never anything in between.
import { CardsmithError, type ErrorKind } from '../../errors/index.js';

export type PowerLossPhase = 'before' | 'during' | 'after';

/** Cut the power at the `atWrite`-th persistent write from now (1 = the next write). */
export interface PowerLossPlan {
  atWrite: number;
  phase: PowerLossPhase;
}

export type WriteStep = 'journal' | 'commit' | 'apply' | 'clear';

/** What happened at the cut, for tests and logs (cell ids name files/keys, never their values). */
export interface PowerLossEvent {
  atWrite: number;
  phase: PowerLossPhase;
  step: WriteStep;
  cell?: string;
}

/** Internal signal: the power is gone; the command stops where it is and nothing is answered. */
export class PowerCut extends CardsmithError {
  override readonly name = 'PowerCut';
  readonly kind: ErrorKind = 'card';
  constructor(readonly event: PowerLossEvent) {
    super(`power cut at write ${event.atWrite} (${event.phase} ${event.step})`);
  }
}

export interface JournalEntry<V> {
  id: string;
  /** null deletes the cell. */
  value: V | null;
  /** A journal write that the power cut in the middle of; only ever in an uncommitted journal. */
  torn?: boolean;
}

/** The persistent part of a store, as an image holds it (a journal only after an unrecovered cut). */
export interface StoreSnapshot<V> {
  cells: Map<string, V>;
  journal: JournalEntry<V>[];
  committed: boolean;
}

export interface TransactionWriter<V> {
  get(id: string): V | undefined;
  put(id: string, value: V): void;
  remove(id: string): void;
}

export class Store<V> {
  private home: Map<string, V>;
  private journal: JournalEntry<V>[];
  private committed: boolean;
  /** The running transaction's writes; `inTransaction` says whether one runs (the map is reused). */
  private readonly pending = new Map<string, V | null>();
  private inTransaction = false;
  private readonly writer: TransactionWriter<V> = {
    get: (id) => this.get(id),
    put: (id, value) => this.journalWrite(id, value),
    remove: (id) => this.journalWrite(id, null),
  };
  private total = 0;
  private plan: { left: number; phase: PowerLossPhase; atWrite: number } | null = null;

  /**
   * `torn(id)` is what a home cell holds after a write the power cut in half: a value that must
   * never be read (recovery replaces it), so a missing recovery shows up at once.
   */
  constructor(
    private readonly torn: (id: string) => V,
    snapshot?: StoreSnapshot<V>,
    /** Trace events as `head` and an optional `tail` (the event reads `head tail`), so that no string is built per event. */
    private readonly onEvent: (head: string, tail?: string) => void = () => {},
  ) {
    this.home = new Map(snapshot?.cells ?? []);
    this.journal = [...(snapshot?.journal ?? [])];
    this.committed = snapshot?.committed ?? false;
  }

  /** Persistent writes performed since this store object was made (all four steps count). */
  get writeCount(): number {
    return this.total;
  }

  armPowerLoss(plan: PowerLossPlan): void {
    if (!Number.isSafeInteger(plan.atWrite) || plan.atWrite < 1) {
      throw new RangeError(`simulator: injectPowerLoss: atWrite must be an integer ≥ 1, got ${String(plan.atWrite)}`);
    }
    if (plan.phase !== 'before' && plan.phase !== 'during' && plan.phase !== 'after') {
      throw new RangeError(`simulator: injectPowerLoss: phase must be 'before', 'during' or 'after', got ${String(plan.phase)}`);
    }
    this.plan = { left: plan.atWrite, phase: plan.phase, atWrite: plan.atWrite };
  }

  disarmPowerLoss(): void {
    this.plan = null;
  }

  get armed(): boolean {
    return this.plan !== null;
  }

  /** Reads see the running transaction's own writes. */
  get(id: string): V | undefined {
    if (this.inTransaction && this.pending.has(id)) {
      const v = this.pending.get(id);
      return v === null ? undefined : v;
    }
    return this.home.get(id);
  }

  /** Committed cells whose id starts with `prefix` (the running transaction's writes included). */
  idsWithPrefix(prefix: string): string[] {
    const ids = new Set<string>();
    for (const id of this.home.keys()) if (id.startsWith(prefix)) ids.add(id);
    if (this.inTransaction) {
      for (const [id, v] of this.pending) {
        if (!id.startsWith(prefix)) continue;
        if (v === null) ids.delete(id);
        else ids.add(id);
      }
    }
    return [...ids].sort();
  }

  /**
   * Runs `fn` as one transaction. If `fn` throws (a status word, a bug), nothing it wrote
   * counts: the uncommitted journal is simply abandoned, which costs no write. A PowerCut
   * propagates to the caller with the journal left as the cut left it.
   */
  transaction<T>(label: string, fn: (tx: TransactionWriter<V>) => T): T {
    if (this.inTransaction) throw new Error(`simulator: nested transaction (${label})`);
    this.inTransaction = true;
    if (this.journal.length > 0) this.journal = [];
    this.committed = false;
    this.onEvent('begin', label);
    try {
      const result = fn(this.writer);
      this.commitJournal();
      return result;
    } catch (e) {
      if (!(e instanceof PowerCut)) {
        this.journal = [];
        this.committed = false;
        this.onEvent('abort', label);
      }
      throw e;
    } finally {
      this.inTransaction = false;
      if (this.pending.size !== 0) this.pending.clear();
    }
  }

  /** Power-on recovery: replay a committed journal, drop an uncommitted one. Costs no counted write. */
  recover(): 'replayed' | 'dropped' | 'clean' {
    this.inTransaction = false;
    this.pending.clear();
    if (this.journal.length === 0 && !this.committed) return 'clean';
    const outcome = this.committed ? 'replayed' : 'dropped';
    if (this.committed) for (const e of this.journal) this.setHome(e.id, e.value);
    this.journal = [];
    this.committed = false;
    this.onEvent('recover', outcome);
    return outcome;
  }

  snapshot(): StoreSnapshot<V> {
    return { cells: new Map(this.home), journal: this.journal.map((e) => ({ ...e })), committed: this.committed };
  }

  private journalWrite(id: string, value: V | null): void {
    this.write(
      'journal',
      id,
      () => this.journal.push({ id, value }),
      () => this.journal.push({ id, value: null, torn: true }),
    );
    this.pending.set(id, value);
  }

  private commitJournal(): void {
    if (this.journal.length === 0) return;
    // A torn commit marker fails its checksum at power-on, so it counts as not written.
    this.write('commit', undefined, () => (this.committed = true), () => {});
    for (const e of this.journal) {
      this.write('apply', e.id, () => this.setHome(e.id, e.value), () => this.home.set(e.id, this.torn(e.id)));
    }
    // A torn clear leaves the journal committed; replaying it again is harmless.
    this.write(
      'clear',
      undefined,
      () => {
        this.journal = [];
        this.committed = false;
      },
      () => {},
    );
  }

  private setHome(id: string, value: V | null): void {
    if (value === null) this.home.delete(id);
    else this.home.set(id, value);
  }

  private write(step: WriteStep, cell: string | undefined, doWrite: () => void, tornWrite: () => void): void {
    this.total++;
    const plan = this.plan;
    if (plan && --plan.left === 0) {
      this.plan = null;
      const event: PowerLossEvent = { atWrite: plan.atWrite, phase: plan.phase, step };
      if (cell !== undefined) event.cell = cell;
      if (plan.phase === 'during') tornWrite();
      else if (plan.phase === 'after') doWrite();
      this.onEvent(`cut ${plan.phase} ${step}`, cell);
      throw new PowerCut(event);
    }
    doWrite();
    this.onEvent(step, cell);
  }
}
