// The journal's failure families. Every message says what happened, to which record or chip, and
// what to do next; none carries key or PIN bytes (the journal never sees them).

/** Base class: something about the journal itself (file, schema, input) is wrong. */
export class JournalError extends Error {
  override name = 'JournalError';
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
}

/**
 * Issuing would break "one issued card per record, one record per chip": the record is already
 * issued, or the chip in the encoder already carries another record. Raised by the database's own
 * constraints, so no code path can get around it.
 */
export class DoubleIssueError extends JournalError {
  override name = 'DoubleIssueError';
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
