// Crash recovery: what to do with a record the journal shows in progress when no runner is
// working on it any more (the process was killed, the power went). The journal knows the station,
// the attempt and — once the card was read — its chip serial; the runner reads the card still in
// that station's encoder and says what it found. This module is the decision table, a pure
// function, so that it can be tested and documented row by row (docs/runner.md).
//
// | found in the encoder                                  | record becomes                 | the card             |
// |-------------------------------------------------------|--------------------------------|----------------------|
// | issued: this record's data, verified, same chip       | issued                         | print face and eject |
// | issued, but the chip differs from the journal's       | review                         | leave it (operator)  |
// | issued, but without a verification that passed        | pending (card counted rejected)| reject box           |
// | blank                                                 | pending                        | keep: take next record |
// | partial (some of the data, or not verifiable)         | pending (card counted rejected)| reject box           |
// | empty, and no chip was recorded for this attempt      | pending                        | none                 |
// | empty, but a chip had been recorded                   | review                         | operator searches    |
// | unknown (cannot tell, reader error, inspect threw)    | review                         | operator             |
//
// "pending (card counted rejected)" turns into rejected when the record has used up its cards
// (Journal option maxCardsPerRecord).
import type { Verification } from './types.js';

export const INSPECT_STATES = ['issued', 'blank', 'partial', 'unknown', 'empty'] as const;
/**
 * What the card in the station's encoder turned out to be.
 * `empty` (no card in the encoder) extends the four states of the issue: it lets a crash that came
 * before any card was read return the record to pending without an operator.
 */
export type InspectState = (typeof INSPECT_STATES)[number];

export interface InspectFinding {
  state: InspectState;
  /** Chip serial of the card found (hex), when there is a card and it could be read. */
  chipSerial?: string;
  /** For `issued`: the read-back verification of this record's data. */
  verification?: Verification;
  /** A short note for the operator (no secrets). */
  detail?: string;
}

/** The inspect callback may answer with just the state, or with the state and what it read. */
export type InspectResult = InspectState | InspectFinding;

/** A record the journal shows in progress, as handed to the inspect callback. */
export interface InFlightRecord {
  recordId: string;
  seq: number;
  station: string;
  attempt: number;
  /** Chip serial written to the journal when the card was read, or null if the crash came before. */
  chipSerial: string | null;
  startedAt: number;
  /** The process that claimed it (host:pid). */
  owner: string | null;
}

export type CardAction = 'eject' | 'keep' | 'reject' | 'none' | 'operator';

export interface RecoveryPlan {
  /** What the record becomes. `pending` may still turn into `rejected` when its cards are used up. */
  decision: 'issued' | 'pending' | 'review';
  /** What the runner does with the physical card in the encoder. */
  cardAction: CardAction;
  /** The physical card counts as rejected for this record. */
  cardRejected: boolean;
  reason: string;
  outcome: 'recovered-issued' | 'recovered-blank' | 'recovered-partial' | 'recovered-empty' | 'review';
  /** Chip serial to record (of the card found, else the journal's). */
  chipSerial: string | null;
}

export function normalizeFinding(result: InspectResult): InspectFinding {
  const finding: InspectFinding = typeof result === 'string' ? { state: result } : result;
  if (typeof finding !== 'object' || finding === null || !(INSPECT_STATES as readonly string[]).includes(finding.state)) {
    return { state: 'unknown', detail: `inspect returned ${JSON.stringify(result)}; expected one of ${INSPECT_STATES.join(', ')}` };
  }
  return finding;
}

export function decideRecovery(record: InFlightRecord, finding: InspectFinding): RecoveryPlan {
  const note = finding.detail ? ` (${finding.detail})` : '';
  const found = finding.chipSerial ?? null;
  const known = record.chipSerial;
  switch (finding.state) {
    case 'issued': {
      if (!finding.verification || finding.verification.ok !== true) {
        return {
          decision: 'pending',
          cardAction: 'reject',
          cardRejected: true,
          reason: `recovery: the card reads as personalized but its verification did not pass${note}`,
          outcome: 'recovered-partial',
          chipSerial: found ?? known,
        };
      }
      if (found === null) {
        return {
          decision: 'review',
          cardAction: 'operator',
          cardRejected: false,
          reason: `recovery: the card reads as issued but no chip serial was read${note}`,
          outcome: 'review',
          chipSerial: known,
        };
      }
      if (known !== null && known !== found) {
        return {
          decision: 'review',
          cardAction: 'operator',
          cardRejected: false,
          reason: `recovery: the card in the encoder (chip ${found}) is not the card this attempt started on (chip ${known})${note}`,
          outcome: 'review',
          chipSerial: known,
        };
      }
      return { decision: 'issued', cardAction: 'eject', cardRejected: false, reason: `recovery: card verified${note}`, outcome: 'recovered-issued', chipSerial: found };
    }
    case 'blank':
      return {
        decision: 'pending',
        cardAction: 'keep',
        cardRejected: false,
        reason: `recovery: the card in the encoder is blank${note}`,
        outcome: 'recovered-blank',
        chipSerial: found ?? known,
      };
    case 'partial':
      return {
        decision: 'pending',
        cardAction: 'reject',
        cardRejected: true,
        reason: `recovery: the card is partly personalized${note}`,
        outcome: 'recovered-partial',
        chipSerial: found ?? known,
      };
    case 'empty':
      if (known === null) {
        return {
          decision: 'pending',
          cardAction: 'none',
          cardRejected: false,
          reason: `recovery: no card in the encoder and none had been read for this attempt${note}`,
          outcome: 'recovered-empty',
          chipSerial: null,
        };
      }
      return {
        decision: 'review',
        cardAction: 'operator',
        cardRejected: false,
        reason: `recovery: chip ${known} was in the encoder and is gone; look for it in the output hopper and the reject box${note}`,
        outcome: 'review',
        chipSerial: known,
      };
    default:
      return {
        decision: 'review',
        cardAction: 'operator',
        cardRejected: false,
        reason: `recovery: cannot tell what is on the card${note}`,
        outcome: 'review',
        chipSerial: found ?? known,
      };
  }
}
