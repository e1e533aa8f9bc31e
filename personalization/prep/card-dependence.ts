// Which profile expressions differ from card to card: the ones that read the record, the prep
// date or a serial counter, directly or through named values. Card facts and card keys do not
// count: prep hands them to the runner as the same recipe for every card (./runparts.ts).
import type { Expr, ExprNode } from '../../profiles/expr.js';
import type { Profile } from '../../profiles/types.js';

/** A test "does this expression depend on the card's record?", with the profile's named values resolved once. */
export function cardDependence(profile: Profile): (e: Expr) => boolean {
  const values = new Map(profile.values.map((v) => [v.name, v.expr]));
  const known = new Map<string, boolean>();
  const valueDepends = (name: string): boolean => {
    const hit = known.get(name);
    if (hit !== undefined) return hit;
    known.set(name, true); // a cycle (the checker refuses them) counts as per card: the safe side
    const e = values.get(name);
    const v = e === undefined || nodeDepends(e.node);
    known.set(name, v);
    return v;
  };
  const nodeDepends = (n: ExprNode): boolean => {
    switch (n.k) {
      case 'text':
      case 'int':
        return false;
      case 'template':
        return n.parts.some(nodeDepends);
      case 'call':
        return n.fn === 'serial' || n.args.some(nodeDepends);
      case 'ref':
        return n.ns === 'record' || n.ns === 'date' || (n.ns === 'value' && valueDepends(n.name));
    }
  };
  return (e) => nodeDepends(e.node);
}
