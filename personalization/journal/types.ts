// Plain data the journal stores and returns. No key or PIN bytes: a verification carries at most
// key check values (KCVs, 2–4 bytes of hex), counts and short failure notes.
import type { ATTEMPT_OUTCOMES, RECORD_STATES } from './schema.js';

export type RecordState = (typeof RECORD_STATES)[number];
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** Result of reading a card back after personalization (STANDARDS: read back, authenticate, check counters). */
export interface Verification {
  ok: boolean;
  /** Number of checks that ran. */
  checks?: number;
  /** What did not match, one short line each (no data values that could be secret). */
  failures?: string[];
  /** Key check values by key name, hex (4–8 digits). Never key bytes. */
  kcvs?: Record<string, string>;
  /** Card life cycle read back (e.g. "personalized"). */
  lifecycle?: string;
  /** PIN try counters read back, by PIN name. */
  pinTries?: Record<string, number>;
}

export interface JournalRecord {
  id: string;
  seq: number;
  state: RecordState;
  /** Station of the current (in-progress) or last attempt. */
  station: string | null;
  owner: string | null;
  /** Claims so far (1 after the first claim). */
  attempt: number;
  /** Physical cards rejected while personalizing this record. */
  cardRejects: number;
  chipSerial: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  /** Reject reason (rejected), review reason (review), or the last retry's reason (pending). */
  reason: string | null;
  verification: Verification | null;
}

export interface AttemptRow {
  id: number;
  recordId: string;
  attempt: number;
  station: string;
  owner: string | null;
  chipSerial: string | null;
  startedAt: number;
  endedAt: number | null;
  outcome: AttemptOutcome;
  reason: string | null;
}

/** What claimNext hands a station: the record to put on the card in its encoder. */
export interface Claim {
  recordId: string;
  seq: number;
  station: string;
  attempt: number;
  startedAt: number;
}

export interface JournalCounts {
  total: number;
  pending: number;
  inProgress: number;
  issued: number;
  rejected: number;
  review: number;
}
