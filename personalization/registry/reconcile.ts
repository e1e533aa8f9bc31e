// Journal and registry side by side. The runner writes the registry first at every step, so after
// a crash, or with the batch journal deleted, emptied or taken from another copy of the batch, the
// registry may be ahead of the journal; `reconcile` brings the journal (and the registry's
// unfinished reservations) to what is known, and `compare` lists what still disagrees for
// `cardsmith verify`.
//
//   registry issued,   journal not issued (not in progress)      → the journal adopts the card
//   registry reserved, journal issued on that chip               → the registry issues it
//   registry reserved, the journal ended that card's attempt     → the registry voids the reservation
//   registry reserved, the journal knows nothing of that chip    → the record goes to review: a card
//                                                                  may be half written; an operator
//                                                                  looks at it (cardsmith rework)
// A record in progress in the journal is left to recovery (run --resume), then reconciled again.
import type { Journal } from '../journal/index.js';
import type { CardEntry, IssuanceRegistry } from './registry.js';

export interface ReconcileResult {
  /** Records the journal took as issued from the registry. */
  adopted: string[];
  /** Reservations the registry marked issued (the journal had them issued). */
  issued: string[];
  /** Reservations voided (the journal had ended that card). */
  voided: string[];
  /** Records put in review (the registry has a card in the making the journal does not know). */
  review: string[];
}

export function reconcile(journal: Journal, registry: IssuanceRegistry, batch: string): ReconcileResult {
  const out: ReconcileResult = { adopted: [], issued: [], voided: [], review: [] };
  for (const card of registry.cardsOfBatch(batch)) {
    if (card.state === 'void') continue;
    const rec = journal.get(card.record);
    if (!rec || rec.state === 'in-progress') continue;
    if (card.state === 'issued' || card.state === 'replaced') {
      if (rec.state === 'issued') continue; // a different chip is a disagreement compare() reports
      journal.adoptIssued(card.record, card.chip, `issued on chip ${card.chip} at ${card.station} ${card.issuedAt ?? ''} (from the issuance registry)`.trim());
      out.adopted.push(card.record);
      continue;
    }
    // reserved
    if (rec.state === 'issued' && rec.chipSerial === card.chip) {
      registry.issue(batch, card.record, card.chip);
      out.issued.push(card.record);
      continue;
    }
    const ended = journal.attempts({ recordId: card.record }).find((a) => a.chipSerial === card.chip && a.outcome !== 'running' && a.outcome !== 'issued' && a.outcome !== 'recovered-issued');
    if (ended) {
      registry.void(batch, card.record, card.chip, `journal: that card ended ${ended.outcome}${ended.reason ? ` (${ended.reason})` : ''}`);
      out.voided.push(card.record);
      continue;
    }
    if (rec.state !== 'review') {
      journal.holdForReview(card.record, reviewReason(card));
      out.review.push(card.record);
    }
  }
  return out;
}

function reviewReason(card: CardEntry): string {
  return `the issuance registry has this record being written on chip ${card.chip} at ${card.station} since ${card.reservedAt}, and the journal does not know that card (was the journal lost?): find the card, check it, then cardsmith rework resolve`;
}

export interface Disagreement {
  record: string;
  journal: string;
  registry: string;
}

/** Where journal and registry disagree about the batch's cards (an empty list when they agree). */
export function compare(journal: Journal, registry: IssuanceRegistry, batch: string): Disagreement[] {
  const out: Disagreement[] = [];
  const live = new Map<string, CardEntry>();
  for (const c of registry.cardsOfBatch(batch)) if (c.state !== 'void') live.set(c.record, c);
  for (const rec of journal.records()) {
    const card = live.get(rec.id);
    const reg = card ? `${card.state} on ${card.chip}` : 'no card';
    if (rec.state === 'issued') {
      if (!card || card.state === 'reserved' || card.chip !== rec.chipSerial) out.push({ record: rec.id, journal: `issued on ${rec.chipSerial}`, registry: reg });
    } else if (card && card.state !== 'reserved') {
      out.push({ record: rec.id, journal: rec.state, registry: reg });
    } else if (card && rec.state !== 'in-progress' && rec.state !== 'review') {
      out.push({ record: rec.id, journal: rec.state, registry: reg });
    }
    live.delete(rec.id);
  }
  for (const card of live.values()) out.push({ record: card.record, journal: 'not in the journal', registry: `${card.state} on ${card.chip}` });
  return out;
}
