// Two optional columns every batch may carry, whatever the profile: a record that replaces the
// cardholder's earlier card of the product says why. Without them a cardholder who already has a
// live card of the product is refused (the issuance registry knows every card issued).
import type { FieldSpec } from '../../profiles/index.js';

export const REPLACEMENT_FIELD = 'replacement';
export const REPLACEMENT_REASON_FIELD = 'replacementReason';
export const REPLACEMENT_KINDS = ['lost', 'stolen', 'damaged', 'defective', 'expired', 'changed'] as const;

const builtIn = { file: '(every batch)', line: 1, col: 1 };

/** The replacement columns, unless the profile declares fields of those names itself. */
export function replacementFields(declared: readonly FieldSpec[]): FieldSpec[] {
  const names = new Set(declared.map((f) => f.name));
  const extra: FieldSpec[] = [
    { name: REPLACEMENT_FIELD, type: 'enum', required: false, values: [...REPLACEMENT_KINDS], description: 'this card replaces the holder’s earlier one: why', loc: builtIn },
    { name: REPLACEMENT_REASON_FIELD, type: 'text', charset: 'gbk', maxLength: 200, required: false, description: 'free text: the case, the request number', loc: builtIn },
  ];
  return extra.filter((f) => !names.has(f.name));
}

/** The record's replacement, or a problem when only one of the two columns is filled. */
export function replacementOf(record: Readonly<Record<string, string>>): { kind: string; reason: string } | undefined | string {
  const kind = record[REPLACEMENT_FIELD] ?? '';
  const reason = (record[REPLACEMENT_REASON_FIELD] ?? '').trim();
  if (kind === '' && reason === '') return undefined;
  if (kind === '') return `${REPLACEMENT_REASON_FIELD} is given but ${REPLACEMENT_FIELD} is empty: say why the card is replaced (${REPLACEMENT_KINDS.join(', ')})`;
  if (reason === '') return `a replacement (${kind}) needs ${REPLACEMENT_REASON_FIELD}: the case or request it answers`;
  return { kind, reason };
}
