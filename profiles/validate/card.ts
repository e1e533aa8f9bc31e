// The card section: which COS, secure channel and interfaces, the key algorithm default, and the
// APDU length limits prep writes scripts for.
import { MAX_EXTENDED_DATA, MAX_EXTENDED_LE, MAX_SHORT_DATA, MAX_SHORT_LE } from '../../iso7816/index.js';
import type { LMap } from '../source.js';
import type { ContactProtocol } from '../types.js';
import { normAlg, type Context } from './context.js';

/** cos, scp, interfaces, test and the default key algorithm, which later passes depend on. */
export function readCard(ctx: Context): LMap | undefined {
  const r = ctx.root;
  const card = ctx.map(ctx.get(r, 'card'));
  ctx.cos = ctx.str(card, 'cos') === 'globalplatform' ? 'globalplatform' : 'sscard';
  ctx.scp = ctx.str(card, 'scp') === 'scp02' ? 'scp02' : 'scp03';
  ctx.test = ctx.bool(r, 'test') === true;
  const ifs = ctx.get(card, 'interfaces');
  if (ifs?.kind === 'seq') {
    ctx.interfaces = ifs.items.flatMap((i) => (i.kind === 'scalar' && (i.value === 'contact' || i.value === 'contactless') ? [i.value] : []));
  }
  const ka = ctx.str(r, 'keyAlgorithm');
  ctx.keyAlgorithm = ka ? normAlg(ka) : ctx.cos === 'globalplatform' ? (ctx.scp === 'scp02' ? 'des3' : 'aes') : 'des3';
  if (card && ctx.cos === 'globalplatform' && ctx.str(card, 'scp') === undefined) {
    ctx.error(ctx.keyLocOf(r, 'card'), 'missing-key', "card needs 'scp' for a globalplatform card", 'scp02 or scp03');
  }
  return card;
}

/**
 * card.protocols, card.maxCommandData and card.maxResponseLength. The schema checks the ranges;
 * here: extended lengths need a protocol that carries them on the interface prep writes
 * scripts for (interfaces[0]): T=1 on contact (T=0 carries short APDUs only, ISO/IEC 7816-3
 * §12.2), or contactless (ISO/IEC 14443-4).
 */
export function readApduLimits(ctx: Context, card: LMap | undefined): { protocols: ContactProtocol[] | undefined; maxCommandData: number; maxResponseLength: number } {
  const int = (key: string, max: number, dflt: number): number => {
    const v = ctx.num(card, key);
    return v !== undefined && Number.isInteger(v) && v >= 1 && v <= max ? v : dflt;
  };
  const maxCommandData = int('maxCommandData', MAX_EXTENDED_DATA, MAX_SHORT_DATA);
  const maxResponseLength = int('maxResponseLength', MAX_EXTENDED_LE, MAX_SHORT_LE);
  const ps = ctx.get(card, 'protocols');
  const protocols =
    ps?.kind === 'seq' ? ps.items.flatMap((i): ContactProtocol[] => (i.kind === 'scalar' && (i.value === 't0' || i.value === 't1') ? [i.value] : [])) : undefined;
  const extendedKey = maxCommandData > MAX_SHORT_DATA ? 'maxCommandData' : maxResponseLength > MAX_SHORT_LE ? 'maxResponseLength' : undefined;
  if (extendedKey) {
    const value = extendedKey === 'maxCommandData' ? maxCommandData : maxResponseLength;
    const short = extendedKey === 'maxCommandData' ? MAX_SHORT_DATA : MAX_SHORT_LE;
    if (ctx.cos === 'globalplatform') {
      ctx.warn(
        ctx.locOf(card, extendedKey),
        'apdu-length',
        `card.${extendedKey} ${value} has no effect on a globalplatform card: every personalization command goes through the secure channel, which cardsmith sends as short APDUs`,
        `leave ${extendedKey} out (default ${short})`,
      );
    } else if (ctx.interfaces[0] === 'contact' && protocols !== undefined && !protocols.includes('t1')) {
      ctx.error(
        ctx.locOf(card, extendedKey),
        'apdu-length',
        `card.${extendedKey} ${value} needs extended-length APDUs, but the contact interface (the first in card.interfaces, the one scripts are written for) offers only T=0, which carries short APDUs (Nc ≤ ${MAX_SHORT_DATA}, Ne ≤ ${MAX_SHORT_LE})`,
        `lower ${extendedKey} to ${short} or less, add t1 to card.protocols if the card offers it, or list contactless first in card.interfaces`,
      );
    }
  }
  return { protocols, maxCommandData, maxResponseLength };
}
