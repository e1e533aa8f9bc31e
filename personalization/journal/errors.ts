// The journal's failure families. Every message says what happened, to which record or chip, and
// what to do next; none carries key or PIN bytes (the journal never sees them).
import { CardsmithError, type ErrorKind } from '../../errors/index.js';

/** Base class: something about the journal itself (file, schema, input) is wrong: bad input. */
export class JournalError extends CardsmithError {
  override name = 'JournalError';
  readonly kind: ErrorKind = 'input';
}

/** `DIR/journal.sqlite` does not exist (the batch never ran, or DIR is not a batch folder). */
export class JournalNotFoundError extends JournalError {
  override name = 'JournalNotFoundError';
}

/** The journal belongs to another batch, or was written by a newer cardsmith. */
export class JournalMismatchError extends JournalError {
  override name = 'JournalMismatchError';
}

/** A value handed to the journal is malformed (empty record id, chip serial not hex, text that looks like key bytes). */
export class JournalInputError extends JournalError {
  override name = 'JournalInputError';
}

/**
 * The claim is no longer the record's current attempt: another station, another process or a
 * recovery moved the record on. The caller must stop working on the card it holds.
 */
export class StaleClaimError extends JournalError {
  override name = 'StaleClaimError';
  /** The runner stops work on the card itself (run.ts); rework reports it as bad input. */
  override readonly kind: ErrorKind = 'operation';
}

/**
 * Issuing would break "one issued card per record, one record per chip": the record is already
 * issued, or the chip in the encoder already carries another record. Raised by the database's own
 * constraints, so no code path can get around it.
 */
export class DoubleIssueError extends JournalError {
  override name = 'DoubleIssueError';
  /** In the runner the card in the encoder is rejected (run.ts); in rework the operator's chip is bad input. */
  override readonly kind: ErrorKind = 'card';
  constructor(
    message: string,
    readonly recordId: string,
    readonly chipSerial: string,
    /** The record that already holds this chip, when that is the conflict. */
    readonly holder?: string,
  ) {
    super(message);
  }
}

/** A transition the state machine does not have (e.g. issuing a pending record). */
export class JournalStateError extends JournalError {
  override name = 'JournalStateError';
}
