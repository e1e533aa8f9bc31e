// WRITE KEY (the PBOC-style COS, JR/T 0025): 80 D4 00 00 Lc <key block> in plain, or 84 D4 00 00 Lc C ‖ MAC
// with C = ECB_MK(ISO 9797-1 padding 2 (key block)) and MAC = PBOC MAC under MK over
// 84 D4 00 00 Lc ‖ C with IV = the last challenge ‖ zeros, where MK is the master key (type 01,
// id 00) of the current DF — or, when the DF has none yet, of its nearest ancestor (the DF that
// created it). The key block is type ‖ id ‖ version ‖ algorithm ‖ error limit ‖ value (keys.ts).
// Installs or replaces the key (type, id) of the current DF: two writes, key and error counter.
import { unpadMethod2 } from '../../../crypto/padding.js';
import { blockCipher } from '../../../crypto/block.js';
import { SW, SwError, fail, ok, type Reply } from '../../core/sw.js';
import type { KeyEntry } from '../../core/cells.js';
import type { Ctx } from '../context.js';
import { blockSize, findKey, KeyType, MASTER_KEY_ID, parseKeyBlock, putKey } from '../keys.js';
import { authorize, hasPersoAuthority, verifyCommandMac, type Restore } from '../security.js';

export function writeKey(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.p1 !== 0 || cmd.p2 !== 0) return fail(SW.INCORRECT_P1P2);
  const df = c.fs.currentDf;
  let key: KeyEntry;
  let restore: Restore = () => {};
  if (!cmd.sm) {
    if (cmd.data.length === 0) return fail(SW.WRONG_LENGTH);
    if (c.lifecycle() === 'blank') {
      if (!hasPersoAuthority(c)) return fail(SW.SECURITY_STATUS_NOT_SATISFIED);
    } else {
      authorize(c, c.tree.df(df).access.keyWrite, df);
    }
    key = parseKeyBlock(cmd.data);
  } else {
    const mk = findKey(c.tree, c.store, df, [KeyType.MASTER], MASTER_KEY_ID) ?? fail(SW.REFERENCED_DATA_NOT_FOUND);
    const size = blockSize(mk.entry.alg);
    if (cmd.body.length === 0 || cmd.body.length % size !== 0) return fail(SW.WRONG_LENGTH);
    restore = verifyCommandMac(c, mk);
    // The MAC was right: from here on the counter restore must be kept even if the content is bad.
    let plain: Uint8Array | undefined;
    let block: Uint8Array | undefined;
    try {
      plain = blockCipher(mk.entry.alg === 'sm4' ? 'sm4' : 'des3').decryptEcb(mk.entry.value, cmd.body);
      try {
        block = unpadMethod2(plain, size);
      } catch {
        return fail(SW.INCORRECT_DATA);
      }
      key = parseKeyBlock(block);
    } catch (e) {
      if (e instanceof SwError) c.tx('write key (rejected)', restore);
      throw e;
    } finally {
      plain?.fill(0);
      block?.fill(0);
    }
  }
  c.tx('write key', (tx) => {
    restore(tx);
    putKey(tx, df, key);
  });
  return ok();
}
