// The batch journal: DIR/journal.sqlite (better-sqlite3 12, WAL, synchronous=FULL). Per record the
// state machine
//
//     pending ──claimNext──> in-progress(station, attempt) ──issue──────> issued
//        ^                        │  ├──rejectCard(retry)──> pending (card to the reject box)
//        │                        │  ├──rejectCard(final)──> rejected(reason)
//        └──────release───────────┘  └──markReview────────> review (operator)
//
// Every transition is one IMMEDIATE transaction, written before the card work starts (claimNext,
// setChip) and after it ends (issue, rejectCard, release). IMMEDIATE takes SQLite's write lock at
// BEGIN, so claimNext is atomic for any number of stations in one process (better-sqlite3 is
// synchronous: a transaction runs to its end before another JS task starts) and across processes
// (the lock, with busy_timeout for the wait). A transition on a claim that is no longer the
// record's current attempt fails with StaleClaimError, so a station can never write the outcome of
// a card that recovery or another process has already settled.
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { privateSqliteFileSync } from '../../files/private.js';
import { DoubleIssueError, JournalError, JournalInputError, JournalMismatchError, JournalNotFoundError, JournalStateError, StaleClaimError } from './errors.js';
import { decideRecovery, normalizeFinding, type InFlightRecord, type InspectResult, type RecoveryPlan } from './recovery.js';
import { RECORD_STATES, SCHEMA_SQL, SCHEMA_VERSION } from './schema.js';
import type { AttemptOutcome, AttemptRow, Claim, JournalCounts, JournalRecord, RecordState, Verification } from './types.js';

export const JOURNAL_FILE = 'journal.sqlite';

/** Called inside a transition's transaction, after its first write: for crash tests only. */
export interface JournalHooks {
  inTransaction?(op: string, recordId: string): void;
}

export interface JournalOptions {
  /** Create DIR/journal.sqlite when it does not exist (default false: it must exist). */
  create?: boolean;
  /** The batch this journal belongs to (manifest's id): stored on creation, checked afterwards. */
  batchId?: string;
  /** SHA-256 of the batch's manifest.json: stored on creation (or first use), checked afterwards. */
  manifestSha256?: string;
  /** Clock in ms since the epoch (tests pass a fake one). */
  now?: () => number;
  /** How long a transaction waits for another process's lock (default 10 000 ms). */
  busyTimeoutMs?: number;
  /** Physical cards one record may use up before it is rejected for good (default 3). */
  maxCardsPerRecord?: number;
  /** Who claims records (default host:pid). */
  owner?: string;
  hooks?: JournalHooks;
}

export interface RejectOptions {
  /** Put the record back to pending for another card (default true) unless its cards are used up. */
  retry?: boolean;
}

export interface IssueOptions {
  /** Chip serial of the card (hex); defaults to the one given to setChip. */
  chipSerial?: string;
  /** The read-back verification; must have ok: true. */
  verification: Verification;
}

export interface RecoveryOutcome extends RecoveryPlan {
  recordId: string;
  station: string;
  attempt: number;
  /** What the record is now (a `pending` decision may have become `rejected`). */
  state: RecordState;
}

export interface RecoverOptions {
  /** Only these stations' records (the ones this runner drives); default all. */
  stations?: readonly string[];
}

/** What a run of the batch has to do, from the journal alone. */
export interface JournalPlan {
  kind: 'nothing-to-do' | 'work' | 'recover-first' | 'review-needed';
  message: string;
  counts: JournalCounts;
}

interface RecordRow {
  id: string;
  seq: number;
  state: RecordState;
  station: string | null;
  owner: string | null;
  attempt: number;
  card_rejects: number;
  chip_serial: string | null;
  started_at: number | null;
  finished_at: number | null;
  reason: string | null;
  verification: string | null;
}

interface AttemptDbRow {
  id: number;
  record_id: string;
  attempt: number;
  station: string;
  owner: string | null;
  chip_serial: string | null;
  started_at: number;
  ended_at: number | null;
  outcome: AttemptOutcome;
  reason: string | null;
}

const MAX_TEXT = 500;
const KEYLIKE = /[0-9a-f]{32,}/i;

export class Journal {
  readonly path: string;
  readonly maxCardsPerRecord: number;
  readonly owner: string;
  #db: Database.Database;
  /** Prepared once per SQL text: every card runs the same few statements, and compiling is not free. */
  #statements = new Map<string, Database.Statement>();
  #now: () => number;
  #hooks: JournalHooks;
  #closed = false;

  static exists(dir: string): boolean {
    return existsSync(join(dir, JOURNAL_FILE));
  }

  static open(dir: string, options: JournalOptions = {}): Journal {
    return new Journal(dir, options);
  }

  private constructor(dir: string, options: JournalOptions) {
    this.path = join(dir, JOURNAL_FILE);
    this.#now = options.now ?? Date.now;
    this.#hooks = options.hooks ?? {};
    this.maxCardsPerRecord = options.maxCardsPerRecord ?? 3;
    if (!Number.isInteger(this.maxCardsPerRecord) || this.maxCardsPerRecord < 1 || this.maxCardsPerRecord > 100) {
      throw new RangeError(`journal: maxCardsPerRecord must be 1..100, got ${String(options.maxCardsPerRecord)}`);
    }
    this.owner = options.owner ?? `${hostname()}:${process.pid}`;
    const busy = options.busyTimeoutMs ?? 10_000;
    if (!options.create && !existsSync(this.path)) {
      throw new JournalNotFoundError(`journal: ${this.path} does not exist; is ${dir} a batch folder that has been run? (cardsmith run ${dir} creates it)`);
    }
    // SQLite would take a zero-length file for a new, empty database: a journal that lost its content.
    if (!options.create && statSync(this.path).size === 0) {
      throw new JournalMismatchError(`journal: ${this.path} is empty (0 bytes): the journal of this batch was truncated or replaced, so what was issued is unknown; restore it from a backup`);
    }
    if (options.create && !existsSync(dir)) {
      throw new JournalNotFoundError(`journal: batch folder ${dir} does not exist; prepare the batch first (cardsmith prep … --out ${dir})`);
    }
    try {
      if (options.create) privateSqliteFileSync(this.path); // personal data: 0600, and so its -wal/-shm
      this.#db = new Database(this.path, { timeout: busy });
    } catch (e) {
      throw new JournalError(`journal: cannot open ${this.path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    try {
      this.#db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busy))}`);
      const mode = this.#db.pragma('journal_mode = WAL', { simple: true });
      if (String(mode).toLowerCase() !== 'wal') throw new JournalError(`journal: ${this.path}: SQLite refused WAL mode (got ${String(mode)}); is the folder on a network file system?`);
      this.#db.pragma('synchronous = FULL');
      this.#db.pragma('foreign_keys = ON');
      this.#migrate(options.batchId, options.manifestSha256);
    } catch (e) {
      this.#db.close();
      throw e instanceof JournalError ? e : wrapSqlite(e, this.path);
    }
  }

  #migrate(batchId: string | undefined, manifestSha256: string | undefined): void {
    this.#tx(() => {
      const version = this.#db.pragma('user_version', { simple: true }) as number;
      if (version === 0) {
        this.#db.exec(SCHEMA_SQL);
        this.#db.pragma(`user_version = ${SCHEMA_VERSION}`);
        const put = this.#sql('INSERT INTO meta (key, value) VALUES (?, ?)');
        put.run('created_at', String(this.#now()));
        put.run('schema', String(SCHEMA_VERSION));
        if (batchId !== undefined) put.run('batch_id', batchId);
        if (manifestSha256 !== undefined) put.run('manifest_sha256', manifestSha256);
        return;
      }
      if (version > SCHEMA_VERSION) {
        throw new JournalMismatchError(`journal: ${this.path} has schema ${version}, this cardsmith knows ${SCHEMA_VERSION}; use a newer cardsmith`);
      }
      if (batchId !== undefined) {
        const row = this.#sql("SELECT value FROM meta WHERE key = 'batch_id'").get() as { value: string } | undefined;
        if (row === undefined) this.#sql("INSERT INTO meta (key, value) VALUES ('batch_id', ?)").run(batchId);
        else if (row.value !== batchId) {
          throw new JournalMismatchError(`journal: ${this.path} belongs to batch "${row.value}", not "${batchId}"; was the batch folder re-prepared? Keep the old journal with its batch, or start the new batch in a new folder`);
        }
      }
      if (manifestSha256 !== undefined) {
        const row = this.#sql("SELECT value FROM meta WHERE key = 'manifest_sha256'").get() as { value: string } | undefined;
        if (row === undefined) this.#sql("INSERT INTO meta (key, value) VALUES ('manifest_sha256', ?)").run(manifestSha256);
        else if (row.value !== manifestSha256) {
          throw new JournalMismatchError(`journal: ${this.path} was written for a batch whose manifest.json had SHA-256 ${row.value.slice(0, 16)}…, this one has ${manifestSha256.slice(0, 16)}…: it is another batch's journal`);
        }
      }
    });
  }

  /** Stored metadata (batch_id, created_at, schema). */
  meta(): Record<string, string> {
    this.#open();
    const rows = this.#sql('SELECT key, value FROM meta').all() as { key: string; value: string }[];
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  // --- records ---------------------------------------------------------------------------------

  /**
   * Adds the batch's records as pending, in the order given (the order claimNext hands them out).
   * Ids already in the journal are skipped, so calling it again on resume changes nothing.
   * Returns how many were added.
   */
  addRecords(ids: Iterable<string>): number {
    this.#open();
    const list = [...ids];
    for (const id of list) checkRecordId(id);
    return this.#tx(() => {
      const max = (this.#sql('SELECT COALESCE(MAX(seq), 0) AS m FROM records').get() as { m: number }).m;
      const insert = this.#sql("INSERT OR IGNORE INTO records (id, seq, state, updated_at) VALUES (?, ?, 'pending', ?)");
      let seq = max;
      let added = 0;
      const now = this.#now();
      for (const id of list) {
        const r = insert.run(id, seq + 1, now);
        if (r.changes === 1) {
          seq++;
          added++;
        }
      }
      return added;
    });
  }

  /**
   * Takes the next pending record (lowest seq) for `station` and marks it in progress, in one
   * transaction. Returns undefined when nothing is pending.
   */
  claimNext(station: string, options: { skip?: ReadonlySet<string> } = {}): Claim | undefined {
    this.#open();
    checkStation(station);
    return this.#tx(() => {
      // `skip`: records this run holds back (their holder's card is being written elsewhere).
      const row = (
        options.skip?.size
          ? this.#sql("SELECT id, seq, attempt FROM records WHERE state = 'pending' AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT 1").get(JSON.stringify([...options.skip]))
          : this.#sql("SELECT id, seq, attempt FROM records WHERE state = 'pending' ORDER BY seq LIMIT 1").get()
      ) as
        | { id: string; seq: number; attempt: number }
        | undefined;
      if (!row) return undefined;
      const now = this.#now();
      const attempt = row.attempt + 1;
      const r = this.#sql(
          "UPDATE records SET state = 'in-progress', station = ?, owner = ?, attempt = ?, chip_serial = NULL, started_at = ?, finished_at = NULL, updated_at = ? WHERE id = ? AND state = 'pending'",
        )
        .run(station, this.owner, attempt, now, now, row.id);
      if (r.changes !== 1) throw new JournalError(`journal: record ${row.id} changed under a write lock; the database file is shared without locking (network file system?)`);
      this.#hooks.inTransaction?.('claim', row.id);
      this.#sql("INSERT INTO attempts (record_id, attempt, station, owner, started_at, outcome) VALUES (?, ?, ?, ?, ?, 'running')")
        .run(row.id, attempt, station, this.owner, now);
      return { recordId: row.id, seq: row.seq, station, attempt, startedAt: now };
    });
  }

  /**
   * Records the chip serial of the card in the encoder, before anything is written to it. Fails
   * with DoubleIssueError when that chip already carries an issued record (the card must go to the
   * reject box, untouched).
   */
  setChip(claim: Claim, chipSerial: string): void {
    this.#open();
    const chip = normalizeChip(chipSerial);
    this.#tx(() => {
      this.#current(claim, 'setChip');
      const holder = this.#sql('SELECT record_id FROM issued WHERE chip_serial = ?').get(chip) as { record_id: string } | undefined;
      if (holder) {
        throw new DoubleIssueError(
          `journal: chip ${chip} already carries record ${holder.record_id}; an issued card came back into the feeder. Reject it (do not write to it) and check the card stock`,
          claim.recordId,
          chip,
          holder.record_id,
        );
      }
      this.#sql('UPDATE records SET chip_serial = ?, updated_at = ? WHERE id = ?').run(chip, this.#now(), claim.recordId);
      this.#hooks.inTransaction?.('setChip', claim.recordId);
      this.#sql('UPDATE attempts SET chip_serial = ? WHERE record_id = ? AND attempt = ?').run(chip, claim.recordId, claim.attempt);
    });
  }

  /** The card is personalized and verified: the record is issued, for good. */
  issue(claim: Claim, options: IssueOptions): void {
    this.#open();
    const verification = checkVerification(options.verification);
    if (!verification.ok) {
      throw new JournalStateError(`journal: record ${claim.recordId}: a card whose verification failed cannot be issued; reject it (rejectCard) instead`);
    }
    this.#tx(() => {
      const row = this.#current(claim, 'issue');
      const chip = options.chipSerial !== undefined ? normalizeChip(options.chipSerial) : row.chip_serial;
      if (chip === null) throw new JournalStateError(`journal: record ${claim.recordId}: no chip serial; call setChip before writing to the card, or pass chipSerial`);
      if (row.chip_serial !== null && row.chip_serial !== chip) {
        throw new JournalStateError(`journal: record ${claim.recordId}: issuing chip ${chip}, but this attempt was started on chip ${row.chip_serial}; the card was swapped — reject it`);
      }
      const now = this.#now();
      try {
        this.#sql('INSERT INTO issued (record_id, chip_serial, station, attempt, issued_at) VALUES (?, ?, ?, ?, ?)').run(claim.recordId, chip, claim.station, claim.attempt, now);
      } catch (e) {
        throw this.#doubleIssue(e, claim.recordId, chip);
      }
      this.#hooks.inTransaction?.('issue', claim.recordId);
      this.#sql("UPDATE records SET state = 'issued', chip_serial = ?, finished_at = ?, reason = NULL, verification = ?, updated_at = ? WHERE id = ?")
        .run(chip, now, JSON.stringify(verification), now, claim.recordId);
      this.#endAttempt(claim, 'issued', null, chip, now);
    });
  }

  /**
   * The card goes to the reject box. The record returns to pending for another card, unless
   * retry is false or it has used up maxCardsPerRecord cards: then it is rejected with `reason`.
   * Returns what the record is now.
   */
  rejectCard(claim: Claim, reason: string, options: RejectOptions = {}): 'pending' | 'rejected' {
    this.#open();
    const why = checkText(reason, 'reason');
    return this.#tx(() => {
      const row = this.#current(claim, 'rejectCard');
      const now = this.#now();
      const rejects = row.card_rejects + 1;
      const final = options.retry === false || rejects >= this.maxCardsPerRecord;
      const recordReason = final && options.retry !== false ? `${why} (${rejects} card${rejects === 1 ? '' : 's'} rejected)` : why;
      this.#sql('UPDATE records SET state = ?, card_rejects = ?, reason = ?, finished_at = ?, updated_at = ? WHERE id = ?')
        .run(final ? 'rejected' : 'pending', rejects, recordReason, final ? now : null, now, claim.recordId);
      this.#hooks.inTransaction?.('rejectCard', claim.recordId);
      this.#endAttempt(claim, 'card-rejected', why, row.chip_serial, now);
      return final ? 'rejected' : 'pending';
    });
  }

  /**
   * Gives the record back untouched (no card was written: e.g. the feeder was empty or the
   * station was paused before the card was read). It does not count as a rejected card.
   */
  release(claim: Claim, reason: string): void {
    this.#open();
    const why = checkText(reason, 'reason');
    this.#tx(() => {
      const row = this.#current(claim, 'release');
      const now = this.#now();
      this.#sql("UPDATE records SET state = 'pending', reason = ?, updated_at = ? WHERE id = ?").run(why, now, claim.recordId);
      this.#hooks.inTransaction?.('release', claim.recordId);
      this.#endAttempt(claim, 'released', why, row.chip_serial, now);
    });
  }

  /** Neither issued nor safely retryable: an operator decides (cardsmith report lists these). */
  markReview(claim: Claim, reason: string): void {
    this.#open();
    const why = checkText(reason, 'reason');
    this.#tx(() => {
      const row = this.#current(claim, 'markReview');
      const now = this.#now();
      this.#sql("UPDATE records SET state = 'review', reason = ?, finished_at = ?, updated_at = ? WHERE id = ?").run(why, now, now, claim.recordId);
      this.#hooks.inTransaction?.('markReview', claim.recordId);
      this.#endAttempt(claim, 'review', why, row.chip_serial, now);
    });
  }

  /** Operator: a record in review or rejected goes back to pending (e.g. after fixing a station). */
  requeue(recordId: string, reason: string): void {
    this.#open();
    const why = checkText(reason, 'reason');
    this.#tx(() => {
      const row = this.#stateOf(recordId);
      if (row.state !== 'review' && row.state !== 'rejected') {
        throw new JournalStateError(`journal: record ${recordId} is ${row.state}; only records in review or rejected can be requeued`);
      }
      this.#sql("UPDATE records SET state = 'pending', reason = ?, card_rejects = 0, finished_at = NULL, updated_at = ? WHERE id = ?").run(`requeued: ${why}`, this.#now(), recordId);
    });
  }

  /**
   * Operator: a record in review whose card was found good (read back and verified, e.g. with
   * `cardsmith verify`) is issued on that chip. The same constraints apply as for issue().
   */
  confirmIssued(recordId: string, chipSerial: string, verification: Verification, note?: string): void {
    this.#issueUnclaimed(recordId, chipSerial, verification, ['review'], 'only records in review can be confirmed as issued', note === undefined ? null : checkText(note, 'note'));
  }

  /**
   * The issuance registry holds the record as issued on `chipSerial` while this journal does not
   * (the journal was lost, or the run died between the two writes): the journal takes the
   * registry's word. Not for a record in progress: recovery settles that one first.
   */
  adoptIssued(recordId: string, chipSerial: string, reason: string): void {
    this.#issueUnclaimed(recordId, chipSerial, { ok: true, checks: 0 }, ['pending', 'rejected', 'review'], 'a record in progress is settled by recovery first', checkText(reason, 'reason'));
  }

  #issueUnclaimed(recordId: string, chipSerial: string, verification: Verification, from: readonly RecordState[], why: string, note: string | null): void {
    this.#open();
    const chip = normalizeChip(chipSerial);
    const v = checkVerification(verification);
    if (!v.ok) throw new JournalStateError(`journal: record ${recordId}: a card whose verification failed cannot be issued; requeue the record instead`);
    this.#tx(() => {
      const row = this.#sql('SELECT * FROM records WHERE id = ?').get(recordId) as RecordRow | undefined;
      if (!row) throw new JournalInputError(`journal: no record ${recordId}`);
      if (!from.includes(row.state)) throw new JournalStateError(`journal: record ${recordId} is ${row.state}; ${why}`);
      const now = this.#now();
      try {
        this.#sql('INSERT INTO issued (record_id, chip_serial, station, attempt, issued_at) VALUES (?, ?, ?, ?, ?)').run(recordId, chip, row.station ?? 'operator', row.attempt, now);
      } catch (e) {
        throw this.#doubleIssue(e, recordId, chip);
      }
      this.#sql("UPDATE records SET state = 'issued', chip_serial = ?, reason = ?, verification = ?, finished_at = ?, updated_at = ? WHERE id = ?")
        .run(chip, note, JSON.stringify(v), now, now, recordId);
    });
  }

  /** A record that is not in progress goes to review: something outside this journal (the registry) says an operator must look. */
  holdForReview(recordId: string, reason: string): void {
    this.#open();
    const why = checkText(reason, 'reason');
    this.#tx(() => {
      const row = this.#stateOf(recordId);
      if (row.state === 'review') return;
      if (row.state !== 'pending' && row.state !== 'rejected') throw new JournalStateError(`journal: record ${recordId} is ${row.state}; only pending or rejected records can be held for review`);
      const now = this.#now();
      this.#sql("UPDATE records SET state = 'review', reason = ?, finished_at = ?, updated_at = ? WHERE id = ?").run(why, now, now, recordId);
    });
  }

  // --- recovery --------------------------------------------------------------------------------

  /** Records in progress (with station and chip serial): after a crash, what recover() will look at. */
  inFlight(options: RecoverOptions = {}): InFlightRecord[] {
    this.#open();
    const rows = this.#sql("SELECT * FROM records WHERE state = 'in-progress' ORDER BY seq").all() as RecordRow[];
    return rows
      .filter((r) => !options.stations || options.stations.includes(r.station!))
      .map((r) => ({ recordId: r.id, seq: r.seq, station: r.station!, attempt: r.attempt, chipSerial: r.chip_serial, startedAt: r.started_at!, owner: r.owner }));
  }

  /**
   * After a crash: for every record in progress (on `stations`, default all), asks `inspect` what
   * the card in that station's encoder is, and settles the record by the decision table of
   * recovery.ts. Run it before the stations start claiming, and only for stations no other live
   * runner drives. Each record is settled in its own transaction; the returned list tells the
   * runner what to do with each physical card (eject, keep, reject, none, operator).
   */
  async recover(inspect: (record: InFlightRecord) => InspectResult | Promise<InspectResult>, options: RecoverOptions = {}): Promise<RecoveryOutcome[]> {
    const out: RecoveryOutcome[] = [];
    for (const record of this.inFlight(options)) {
      let result: InspectResult;
      try {
        result = await inspect(record);
      } catch (e) {
        result = { state: 'unknown', detail: `inspect failed: ${e instanceof Error ? e.message : String(e)}`.slice(0, 300) };
      }
      const finding = normalizeFinding(result);
      if (finding.chipSerial !== undefined) finding.chipSerial = normalizeChip(finding.chipSerial);
      let plan = decideRecovery(record, finding);
      let state: RecordState;
      try {
        state = this.#applyRecovery(record, plan, finding.verification);
      } catch (e) {
        if (!(e instanceof DoubleIssueError)) throw e;
        plan = { ...plan, decision: 'review', cardAction: 'operator', cardRejected: false, outcome: 'review', reason: `recovery: ${e.message}` };
        state = this.#applyRecovery(record, plan, undefined);
      }
      out.push({ ...plan, recordId: record.recordId, station: record.station, attempt: record.attempt, state });
    }
    return out;
  }

  #applyRecovery(record: InFlightRecord, plan: RecoveryPlan, verification: Verification | undefined): RecordState {
    const claim: Claim = { recordId: record.recordId, seq: record.seq, station: record.station, attempt: record.attempt, startedAt: record.startedAt };
    const reason = checkText(plan.reason, 'reason');
    return this.#tx(() => {
      const row = this.#current(claim, 'recover');
      const now = this.#now();
      const chip = plan.chipSerial;
      if (plan.decision === 'issued') {
        const v = checkVerification(verification ?? { ok: false });
        try {
          this.#sql('INSERT INTO issued (record_id, chip_serial, station, attempt, issued_at) VALUES (?, ?, ?, ?, ?)').run(claim.recordId, chip, claim.station, claim.attempt, now);
        } catch (e) {
          throw this.#doubleIssue(e, claim.recordId, chip ?? '');
        }
        this.#sql("UPDATE records SET state = 'issued', chip_serial = ?, finished_at = ?, reason = NULL, verification = ?, updated_at = ? WHERE id = ?")
          .run(chip, now, JSON.stringify(v), now, claim.recordId);
        this.#endAttempt(claim, plan.outcome, reason, chip, now);
        return 'issued';
      }
      if (plan.decision === 'review') {
        this.#sql("UPDATE records SET state = 'review', reason = ?, finished_at = ?, updated_at = ? WHERE id = ?").run(reason, now, now, claim.recordId);
        this.#endAttempt(claim, 'review', reason, chip, now);
        return 'review';
      }
      const rejects = row.card_rejects + (plan.cardRejected ? 1 : 0);
      const final = plan.cardRejected && rejects >= this.maxCardsPerRecord;
      this.#sql('UPDATE records SET state = ?, card_rejects = ?, reason = ?, finished_at = ?, updated_at = ? WHERE id = ?')
        .run(final ? 'rejected' : 'pending', rejects, final ? `${reason} (${rejects} cards rejected)` : reason, final ? now : null, now, claim.recordId);
      this.#endAttempt(claim, plan.outcome, reason, chip, now);
      return final ? 'rejected' : 'pending';
    });
  }

  // --- queries ---------------------------------------------------------------------------------

  get(recordId: string): JournalRecord | undefined {
    this.#open();
    const row = this.#sql('SELECT * FROM records WHERE id = ?').get(recordId) as RecordRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  records(options: { state?: RecordState } = {}): JournalRecord[] {
    this.#open();
    if (options.state !== undefined && !(RECORD_STATES as readonly string[]).includes(options.state)) {
      throw new JournalInputError(`journal: unknown state "${options.state}"; known: ${RECORD_STATES.join(', ')}`);
    }
    const rows = (
      options.state === undefined
        ? this.#sql('SELECT * FROM records ORDER BY seq').all()
        : this.#sql('SELECT * FROM records WHERE state = ? ORDER BY seq').all(options.state)
    ) as RecordRow[];
    return rows.map(toRecord);
  }

  attempts(options: { recordId?: string; station?: string } = {}): AttemptRow[] {
    this.#open();
    const where: string[] = [];
    const args: string[] = [];
    if (options.recordId !== undefined) {
      where.push('record_id = ?');
      args.push(options.recordId);
    }
    if (options.station !== undefined) {
      where.push('station = ?');
      args.push(options.station);
    }
    const sql = `SELECT * FROM attempts${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return (this.#sql(sql).all(...args) as AttemptDbRow[]).map((r) => ({
      id: r.id,
      recordId: r.record_id,
      attempt: r.attempt,
      station: r.station,
      owner: r.owner,
      chipSerial: r.chip_serial,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      outcome: r.outcome,
      reason: r.reason,
    }));
  }

  /** Issued rows: record, chip, station, attempt, time. */
  issuedCards(): { recordId: string; chipSerial: string; station: string; attempt: number; issuedAt: number }[] {
    this.#open();
    return (this.#sql('SELECT * FROM issued ORDER BY issued_at, record_id').all() as { record_id: string; chip_serial: string; station: string; attempt: number; issued_at: number }[]).map(
      (r) => ({ recordId: r.record_id, chipSerial: r.chip_serial, station: r.station, attempt: r.attempt, issuedAt: r.issued_at }),
    );
  }

  counts(): JournalCounts {
    this.#open();
    const rows = this.#sql('SELECT state, COUNT(*) AS n FROM records GROUP BY state').all() as { state: RecordState; n: number }[];
    const by = Object.fromEntries(rows.map((r) => [r.state, r.n])) as Partial<Record<RecordState, number>>;
    const c = { pending: by.pending ?? 0, inProgress: by['in-progress'] ?? 0, issued: by.issued ?? 0, rejected: by.rejected ?? 0, review: by.review ?? 0 };
    return { total: c.pending + c.inProgress + c.issued + c.rejected + c.review, ...c };
  }

  /**
   * Independent duplicate checks (the constraints make them 0; a report shows them anyway):
   * records issued more than once, chips carrying more than one record, records marked issued
   * without an issued row or the other way round.
   */
  duplicates(): { records: number; chips: number; inconsistent: number } {
    this.#open();
    const n = (sql: string) => (this.#sql(sql).get() as { n: number }).n;
    return {
      records: n('SELECT COUNT(*) AS n FROM (SELECT record_id FROM issued GROUP BY record_id HAVING COUNT(*) > 1)'),
      chips: n('SELECT COUNT(*) AS n FROM (SELECT chip_serial FROM issued GROUP BY chip_serial HAVING COUNT(*) > 1)'),
      inconsistent:
        n("SELECT COUNT(*) AS n FROM records r WHERE (r.state = 'issued') <> EXISTS (SELECT 1 FROM issued i WHERE i.record_id = r.id)") +
        n("SELECT COUNT(*) AS n FROM issued i JOIN records r ON r.id = i.record_id WHERE r.chip_serial IS NOT i.chip_serial"),
    };
  }

  /** What running the batch would do now; "nothing to do" for a finished batch. */
  plan(): JournalPlan {
    const counts = this.counts();
    if (counts.total === 0) return { kind: 'work', message: 'the journal has no records yet', counts };
    if (counts.inProgress > 0) {
      return { kind: 'recover-first', message: `${counts.inProgress} record(s) were in progress when the last run stopped: recover them first (cardsmith run DIR --resume)`, counts };
    }
    if (counts.pending > 0) return { kind: 'work', message: `${counts.pending} of ${counts.total} record(s) to personalize`, counts };
    if (counts.review > 0) {
      return { kind: 'review-needed', message: `nothing to personalize; ${counts.review} record(s) wait for an operator's review (cardsmith report DIR lists them)`, counts };
    }
    return { kind: 'nothing-to-do', message: `nothing to do: all ${counts.total} record(s) are finished (${counts.issued} issued, ${counts.rejected} rejected)`, counts };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
  }

  // --- internals -------------------------------------------------------------------------------

  #sql(text: string): Database.Statement {
    let st = this.#statements.get(text);
    if (!st) this.#statements.set(text, (st = this.#db.prepare(text)));
    return st;
  }

  #open(): void {
    if (this.#closed) throw new JournalError(`journal: ${this.path} is closed`);
  }

  #tx<T>(fn: () => T): T {
    try {
      return this.#db.transaction(fn).immediate();
    } catch (e) {
      if (e instanceof JournalError || e instanceof RangeError || e instanceof TypeError) throw e;
      throw wrapSqlite(e, this.path);
    }
  }

  #stateOf(recordId: string): { state: RecordState } {
    const row = this.#sql('SELECT state FROM records WHERE id = ?').get(recordId) as { state: RecordState } | undefined;
    if (!row) throw new JournalInputError(`journal: no record ${recordId}`);
    return row;
  }

  #current(claim: Claim, op: string): RecordRow {
    if (typeof claim !== 'object' || claim === null || typeof claim.recordId !== 'string') throw new TypeError(`journal: ${op}: expected a claim from claimNext`);
    const row = this.#sql('SELECT * FROM records WHERE id = ?').get(claim.recordId) as RecordRow | undefined;
    if (!row) throw new JournalInputError(`journal: ${op}: no record ${claim.recordId}`);
    if (row.state !== 'in-progress' || row.station !== claim.station || row.attempt !== claim.attempt) {
      throw new StaleClaimError(
        `journal: ${op}: record ${claim.recordId} is no longer in progress on station ${claim.station} attempt ${claim.attempt} (now ${row.state}${row.station ? ` on ${row.station} attempt ${row.attempt}` : ''}); stop writing to this card and reject it`,
      );
    }
    return row;
  }

  #endAttempt(claim: Claim, outcome: AttemptOutcome, reason: string | null, chip: string | null, now: number): void {
    this.#sql('UPDATE attempts SET outcome = ?, reason = ?, chip_serial = COALESCE(?, chip_serial), ended_at = ? WHERE record_id = ? AND attempt = ?')
      .run(outcome, reason, chip, now, claim.recordId, claim.attempt);
  }

  #doubleIssue(e: unknown, recordId: string, chip: string): Error {
    const code = (e as { code?: string }).code ?? '';
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      return new DoubleIssueError(`journal: record ${recordId} is already issued; a second card must not carry it — reject this card`, recordId, chip);
    }
    if (code === 'SQLITE_CONSTRAINT_UNIQUE') {
      const holder = this.#sql('SELECT record_id FROM issued WHERE chip_serial = ?').get(chip) as { record_id: string } | undefined;
      return new DoubleIssueError(
        `journal: chip ${chip} already carries record ${holder?.record_id ?? '?'}; record ${recordId} cannot be issued on it — reject this card`,
        recordId,
        chip,
        holder?.record_id,
      );
    }
    return e instanceof Error ? e : new Error(String(e));
  }
}

function toRecord(r: RecordRow): JournalRecord {
  return {
    id: r.id,
    seq: r.seq,
    state: r.state,
    station: r.station,
    owner: r.owner,
    attempt: r.attempt,
    cardRejects: r.card_rejects,
    chipSerial: r.chip_serial,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    reason: r.reason,
    verification: r.verification === null ? null : (JSON.parse(r.verification) as Verification),
  };
}

function wrapSqlite(e: unknown, path: string): Error {
  const code = (e as { code?: string }).code ?? '';
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new JournalError(`journal: ${path} stayed locked by another process beyond the busy timeout (${msg}); is another runner stuck? Retry, or raise busyTimeoutMs`, { cause: e });
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) return new JournalStateError(`journal: ${path}: the database refused the change: ${msg}`, { cause: e });
  if (code.startsWith('SQLITE_')) return new JournalError(`journal: ${path}: ${msg} (${code})`, { cause: e });
  return e instanceof Error ? e : new Error(msg);
}

// --- input checks --------------------------------------------------------------------------------

export function normalizeChip(chip: string): string {
  if (typeof chip !== 'string' || !/^(?:[0-9a-f]{2}){1,32}$/i.test(chip)) {
    throw new JournalInputError(`journal: chip serial must be 1..32 bytes of hex, got ${JSON.stringify(String(chip).slice(0, 80))}`);
  }
  return chip.toUpperCase();
}

function checkRecordId(id: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > 200 || /[\u0000-\u001f]/.test(id)) {
    throw new JournalInputError(`journal: a record id must be 1..200 printable characters, got ${JSON.stringify(String(id).slice(0, 80))}`);
  }
}

function checkStation(station: string): void {
  if (typeof station !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(station)) {
    throw new JournalInputError(`journal: station names are 1..64 of A-Z a-z 0-9 . _ : - (starting with a letter or digit), got ${JSON.stringify(String(station))}`);
  }
}

/** Short text without anything that looks like key bytes (32+ hex digits in a row). */
function checkText(text: string, what: string): string {
  if (typeof text !== 'string' || text.trim() === '') throw new JournalInputError(`journal: ${what} must be a non-empty string`);
  if (KEYLIKE.test(text)) {
    throw new JournalInputError(`journal: ${what} contains 32+ hex digits in a row, which looks like key or PIN material; journals hold KCVs at most — describe the failure without the bytes`);
  }
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}

function checkVerification(v: Verification): Verification {
  if (typeof v !== 'object' || v === null || typeof v.ok !== 'boolean') throw new JournalInputError('journal: verification must be an object with ok: boolean');
  const out: Verification = { ok: v.ok };
  if (v.checks !== undefined) {
    if (!Number.isInteger(v.checks) || v.checks < 0) throw new JournalInputError('journal: verification.checks must be a non-negative integer');
    out.checks = v.checks;
  }
  if (v.failures !== undefined) {
    if (!Array.isArray(v.failures)) throw new JournalInputError('journal: verification.failures must be an array of strings');
    out.failures = v.failures.slice(0, 50).map((f) => checkText(f, 'verification failure'));
  }
  if (v.kcvs !== undefined) {
    out.kcvs = {};
    for (const [name, kcv] of Object.entries(v.kcvs)) {
      if (typeof kcv !== 'string' || !/^[0-9a-f]{4,8}$/i.test(kcv)) {
        throw new JournalInputError(`journal: verification.kcvs.${name} must be a key check value of 4..8 hex digits (never key bytes)`);
      }
      out.kcvs[checkText(name, 'kcv name')] = kcv.toUpperCase();
    }
  }
  if (v.lifecycle !== undefined) out.lifecycle = checkText(v.lifecycle, 'verification.lifecycle');
  if (v.pinTries !== undefined) {
    out.pinTries = {};
    for (const [name, n] of Object.entries(v.pinTries)) {
      if (!Number.isInteger(n) || n < 0 || n > 255) throw new JournalInputError(`journal: verification.pinTries.${name} must be 0..255`);
      out.pinTries[checkText(name, 'pin name')] = n;
    }
  }
  return out;
}
