// What a profile expression depends on, through the profile's named values: the card's record
// (the record, the prep date, a serial counter — the steps built per card, ./template.ts), or
// the card in the encoder (card facts and card keys — the parts the runner completes,
// ./runparts.ts).
import type { Expr, ExprNode } from '../../profiles/expr.js';
import type { Profile } from '../../profiles/types.js';

/** Whether `node`, or a named value it uses (at any depth), has a node for which `hit` holds. */
function reaches(node: ExprNode, profile: Profile, hit: (n: ExprNode) => boolean, seen: Set<string>): boolean {
  if (hit(node)) return true;
  switch (node.k) {
    case 'text':
    case 'int':
      return false;
    case 'template':
      return node.parts.some((p) => reaches(p, profile, hit, seen));
    case 'call':
      return node.args.some((a) => reaches(a, profile, hit, seen));
    case 'ref': {
      // A value already followed adds nothing (the checker refuses cycles).
      if (node.ns !== 'value' || seen.has(node.name)) return false;
      seen.add(node.name);
      const v = profile.values.find((x) => x.name === node.name);
      return v !== undefined && reaches(v.expr.node, profile, hit, seen);
    }
  }
}

const readsRecord = (n: ExprNode): boolean => (n.k === 'ref' && (n.ns === 'record' || n.ns === 'date')) || (n.k === 'call' && n.fn === 'serial');
const readsCard = (n: ExprNode): boolean => n.k === 'ref' && (n.ns === 'card' || n.ns === 'key');

/** A test "does this expression differ from card to card?" (it reads the record, the date or a serial), answered once per expression. */
export function cardDependence(profile: Profile): (e: Expr) => boolean {
  const known = new Map<Expr, boolean>();
  return (e) => {
    let v = known.get(e);
    if (v === undefined) known.set(e, (v = reaches(e.node, profile, readsRecord, new Set())));
    return v;
  };
}

/** Whether evaluating the node needs a card fact or a card key (directly or through a named value). */
export function needsCardNode(node: ExprNode, profile: Profile): boolean {
  return reaches(node, profile, readsCard, new Set());
}
