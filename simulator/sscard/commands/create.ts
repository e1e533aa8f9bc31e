// CREATE FILE 80 E0 00 00 Lc <62 FCP template> (the PBOC-style COS, JR/T 0025 names the instruction; the data
// format is cardsmith's: the ISO/IEC 7816-4 FCP objects, as ISO/IEC 7816-9 CREATE FILE uses them —
// docs/simulator.md "CREATE FILE" has it byte by byte). The file is created in the current DF and
// becomes the current file (ISO 7816-9 §8.1). One transaction of four writes: the new file's
// node, its initial content, the parent's child list and the card's memory bookkeeping.
import { CellId } from '../../core/cells.js';
import { SW, fail, ok, type Reply } from '../../core/sw.js';
import { parseCreateFcp } from '../../fs/fcp.js';
import { conflictWith, memoryCost, specProblem } from '../../fs/spec.js';
import type { Ctx } from '../context.js';
import { authorize, hasPersoAuthority } from '../security.js';

export function createFile(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.p1 !== 0 || cmd.p2 !== 0) return fail(SW.INCORRECT_P1P2);
  if (cmd.data.length === 0) return fail(SW.WRONG_LENGTH);
  const spec = parseCreateFcp(cmd.data);
  const problem = specProblem(spec);
  if (problem !== undefined) return fail(problem);

  const parent = c.fs.currentDf;
  const parentSpec = c.tree.df(parent);
  if (c.lifecycle() === 'blank') {
    if (!hasPersoAuthority(c)) return fail(SW.SECURITY_STATUS_NOT_SATISFIED);
  } else {
    authorize(c, parentSpec.access.create, parent);
  }
  const siblings = c.tree.children(parent).map((n) => c.tree.spec(n));
  const conflict = conflictWith(siblings, c.tree.dfNames(), spec);
  if (conflict !== undefined) return fail(conflict);
  const card = c.card();
  const cost = memoryCost(spec);
  if (card.memoryUsed + cost > card.memoryTotal) return fail(SW.NOT_ENOUGH_MEMORY);

  const node = card.nextNode;
  c.tx('create file', (tx) => {
    c.tree.create(tx, parent, node, spec);
    tx.put(CellId.card, { ...card, nextNode: node + 1, memoryUsed: card.memoryUsed + cost });
  });
  if (spec.type === 'df') c.fs.selectDf(c.tree, node);
  else c.fs.selectEf(c.tree, node);
  return ok();
}
