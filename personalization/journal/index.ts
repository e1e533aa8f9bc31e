// The batch journal (docs/runner.md): SQLite in the batch folder, the per-record state machine,
// atomic claims for N stations and several processes, crash recovery's decision table.
export { Journal, JOURNAL_FILE, normalizeChip } from './journal.js';
export type { IssueOptions, JournalHooks, JournalOptions, JournalPlan, RecoverOptions, RecoveryOutcome, RejectOptions } from './journal.js';
export { decideRecovery, INSPECT_STATES, normalizeFinding } from './recovery.js';
export type { CardAction, InFlightRecord, InspectFinding, InspectResult, InspectState, RecoveryPlan } from './recovery.js';
export { ATTEMPT_OUTCOMES, RECORD_STATES, SCHEMA_VERSION } from './schema.js';
export type { AttemptOutcome, AttemptRow, Claim, JournalCounts, JournalRecord, RecordState, Verification } from './types.js';
export { DoubleIssueError, JournalError, JournalInputError, JournalMismatchError, JournalNotFoundError, JournalStateError, StaleClaimError } from './errors.js';
