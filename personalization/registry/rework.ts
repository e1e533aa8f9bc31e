// An operator's decisions on single records, after looking at the card: each is written to the
// batch journal, the issuance registry and the batch audit log (DIR/audit.log), with the reason.
//
//   requeue   a rejected record, or one in review whose card is not good: back to pending, a new
//             card at the next run; the registry's reservation (if any) is voided
//   resolve   a record in review: --issued on the chip the operator checked (journal and registry
//             issue it), or --not-issued (as requeue)
import { join } from 'node:path';
import { AuditLog } from '../../keys/audit.js';
import { normalizeChip, type Journal } from '../journal/index.js';
import type { CardReservation, IssuanceRegistry } from './registry.js';
import { CardsmithError, type ErrorKind } from '../../errors/index.js';

export class ReworkError extends CardsmithError {
  override name = 'ReworkError';
  readonly kind: ErrorKind = 'input';
}

export interface ReworkContext {
  dir: string;
  journal: Journal;
  registry: IssuanceRegistry;
  batch: string;
  /** Who decided (the audit log's actor detail). */
  operator: string;
}

function audit(c: ReworkContext, op: string, record: string, detail: Record<string, string>): void {
  const log = AuditLog.openOrCreate(join(c.dir, 'audit.log'), 'sha256', 'runner');
  log.append({ op, label: record, detail: { ...detail, operator: c.operator } });
}

/** Back to pending: the record's card (if the registry reserved one) is recorded as not issued. */
export function requeueRecord(c: ReworkContext, record: string, reason: string): void {
  const rec = c.journal.get(record);
  if (!rec) throw new ReworkError(`rework: record ${record} is not in the journal of ${c.dir}`);
  const card = c.registry.cardOfRecord(c.batch, record);
  if (card && card.state !== 'reserved') {
    throw new ReworkError(`rework: the issuance registry holds record ${record} as ${card.state} on chip ${card.chip}: it is not requeued (its card exists); resolve it as issued, or issue a replacement in a new batch`);
  }
  c.journal.requeue(record, reason);
  if (card) c.registry.void(c.batch, record, card.chip, `operator: not issued: ${reason}`);
  c.registry.note(c.batch, record, 'requeued', reason);
  audit(c, 'record-requeued', record, { reason, ...(card ? { chip: card.chip } : {}) });
}

/**
 * A record in review whose card the operator found good on `card.chip`: issued in the journal and
 * the registry. `card` describes it for the registry when the registry holds none for the record.
 */
export function resolveIssued(c: ReworkContext, card: CardReservation, reason: string): void {
  const record = card.record;
  const want = normalizeChip(card.chip);
  const rec = c.journal.get(record);
  if (!rec) throw new ReworkError(`rework: record ${record} is not in the journal of ${c.dir}`);
  if (rec.state !== 'review') throw new ReworkError(`rework: record ${record} is ${rec.state}; only a record in review is resolved (requeue takes rejected ones)`);
  const known = c.registry.cardOfRecord(c.batch, record);
  if (known && known.chip !== want) {
    throw new ReworkError(`rework: the issuance registry has record ${record} ${known.state} on chip ${known.chip}, not ${want}: check which card you hold`);
  }
  if (!known) c.registry.reserve({ ...card, chip: want });
  c.registry.issue(c.batch, record, want);
  c.journal.confirmIssued(record, want, { ok: true }, `resolved by an operator: ${reason}`);
  c.registry.note(c.batch, record, 'resolved-issued', reason);
  audit(c, 'record-resolved', record, { outcome: 'issued', chip: want, reason });
}

/** A record in review whose card is not good (or was not found): not issued, back to pending. */
export function resolveNotIssued(c: ReworkContext, record: string, reason: string): void {
  const rec = c.journal.get(record);
  if (!rec) throw new ReworkError(`rework: record ${record} is not in the journal of ${c.dir}`);
  if (rec.state !== 'review') throw new ReworkError(`rework: record ${record} is ${rec.state}; only a record in review is resolved (requeue takes rejected ones)`);
  requeueRecord(c, record, `resolved as not issued: ${reason}`);
}
