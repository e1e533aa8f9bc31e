// Helpers the file commands share: life cycle status for the FCP, visibility per interface,
// resolving "the current EF or the EF with this SFI" (ISO/IEC 7816-4 §7.2.2 / §7.3.2).
import { equal } from '../../bytes/index.js';
import { SW, fail } from '../core/sw.js';
import { LCS, type FcpContext } from '../fs/fcp.js';
import type { EfSpec } from '../fs/spec.js';
import type { Ctx } from './context.js';
import { PPSE_NAME } from './layout.js';

export function lcsOf(c: Ctx, n: number): number {
  if (c.lifecycle() === 'blank') return LCS.INITIALISATION;
  switch (c.tree.effectiveState(n)) {
    case 'terminated':
      return LCS.TERMINATED;
    case 'blocked':
      return LCS.DEACTIVATED;
    default:
      return LCS.ACTIVATED;
  }
}

export function fcpContext(c: Ctx, n: number): FcpContext {
  const ctx: FcpContext = { lcs: lcsOf(c, n) };
  if (c.tree.spec(n).type === 'df') ctx.totalSize = c.tree.subtreeCost(n);
  return ctx;
}

/** The PPSE (and whatever lies under it) exists only for the contactless interface. */
export function visible(c: Ctx, n: number): boolean {
  if (c.session.iface === 'contactless') return true;
  for (let d: number | null = n; d !== null; d = c.tree.parent(d)) {
    const s = c.tree.spec(d);
    if (s.type === 'df' && s.name !== undefined && equal(s.name, PPSE_NAME)) return false;
  }
  return true;
}

/**
 * The EF a command addresses: SFI 0 → the current EF (6986 when there is none), otherwise
 * the EF with that SFI in the current DF (6A82 when absent), which then becomes current.
 */
export function targetEf(c: Ctx, sfi: number): { node: number; spec: EfSpec } {
  if (sfi === 0) {
    const ef = c.fs.currentEf;
    if (ef === null) return fail(SW.NO_CURRENT_EF);
    return { node: ef, spec: c.tree.ef(ef) };
  }
  const node = c.tree.efBySfi(c.fs.currentDf, sfi);
  if (node === undefined) return fail(SW.FILE_NOT_FOUND);
  c.fs.selectEf(c.tree, node);
  return { node, spec: c.tree.ef(node) };
}
