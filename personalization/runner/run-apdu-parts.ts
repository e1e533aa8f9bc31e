// Run-time data of run-apdu steps (script.ts RunPart): facts of the card in the reader, keys
// derived from a key-store master over them, PBOC MACs under such keys, and bytes of the batch's
// blobs.pack (photo chunks, read and checked against their SHA-256 here).
import { concat } from '../../bytes/index.js';
import { pbocMac } from '../../crypto/index.js';
import { atrHistoricalBytes } from '../../iso7816/index.js';
import type { CardFact, RunKey, RunPart } from '../script.js';
import { blobBytes, expectSw, fail, hex, refOf, StepError, type Ctx } from './step-context.js';

/** A card fact (script.ts CardFact) of the card in the reader. */
async function cardFact(ctx: Ctx, fact: CardFact): Promise<Uint8Array> {
  switch (fact) {
    case 'atr': {
      const atr = ctx.base.atr();
      if (atr.length < 8) throw fail(ctx, `the card's ATR has ${atr.length} bytes; card.atr needs at least 8`);
      return atr;
    }
    case 'chipId': {
      const hist = atrHistoricalBytes(ctx.base.atr());
      if (!hist || hist.length < 8) throw fail(ctx, "the card's ATR carries no 8-byte chip id in its historical bytes");
      return hist.subarray(hist.length - 8);
    }
    case 'kdd':
      if (!ctx.facts.kdd) throw fail(ctx, "bad script: card.kdd is known only after an scp02/scp03 open step (INITIALIZE UPDATE)", { cardFault: false });
      return ctx.facts.kdd;
    case 'csn': {
      if (!ctx.facts.csn) {
        // CPLC (GP 2.3 Table H-?): IC fabricator 2, IC type 2, OS id 2, OS date 2, OS level 2, IC fabrication date 2, IC serial 4, …
        let cplc = await expectSw(ctx, Uint8Array.of(0x80, 0xca, 0x9f, 0x7f, 0x00), ['9000'], 'GET DATA CPLC (for card.csn) refused');
        if (cplc.length >= 3 && cplc[0] === 0x9f && cplc[1] === 0x7f) cplc = cplc.subarray(3);
        if (cplc.length < 16) throw fail(ctx, `GET DATA CPLC answered ${cplc.length} bytes, too few for the IC serial number`);
        ctx.facts.csn = cplc.slice(12, 16);
      }
      return ctx.facts.csn;
    }
    default:
      throw fail(ctx, `bad script: unknown card fact ${String(fact)}`, { cardFault: false });
  }
}

/** A key derived at run time (RunKey); the caller wipes it. */
async function runKeyValue(ctx: Ctx, k: RunKey): Promise<Uint8Array> {
  const levels: Uint8Array[] = [];
  for (const level of k.levels) levels.push(await completeParts(ctx, level, `derivation data of ${k.name ?? 'a card key'}`));
  const data = concat(...levels);
  try {
    const got = await ctx.opts.provider.deriveCardKey(refOf(k.master), { method: k.method, data, ...(k.keyType ? { keyType: k.keyType } : {}) });
    if (got.alg !== k.alg) {
      got.value.fill(0);
      throw fail(ctx, `bad script: key ${k.name ?? k.master.label} should be ${k.alg}, the master ${k.master.label} gives ${got.alg}`, { cardFault: false });
    }
    return got.value;
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw fail(ctx, `cannot derive ${k.name ?? 'a card key'} from ${k.master.label} (${(e as Error).name}: ${(e as Error).message.replace(/[0-9A-F]{16,}/gi, '…')})`, { cardFault: false, cause: e });
  } finally {
    data.fill(0);
    for (const l of levels) l.fill(0);
  }
}

/** RunParts completed with the card's facts and run-time keys (script.ts RunPart); the caller wipes the result. */
export async function completeParts(ctx: Ctx, parts: RunPart[], what: string): Promise<Uint8Array> {
  if (!Array.isArray(parts)) throw fail(ctx, `bad script: ${what} is not a list of parts`, { cardFault: false });
  const out: Uint8Array[] = [];
  try {
    for (const p of parts) {
      if ('hex' in p) out.push(hex(ctx, p.hex, what));
      else if ('blob' in p) out.push(blobBytes(ctx, p, what));
      else if ('fact' in p) {
        const f = await cardFact(ctx, p.fact);
        const from = p.from === undefined ? 0 : p.from < 0 ? f.length + p.from : p.from;
        const end = p.length === undefined ? f.length : from + p.length;
        if (from < 0 || end > f.length || end < from) throw fail(ctx, `card.${p.fact} has ${f.length} bytes; bytes ${p.from ?? 0}+${p.length ?? 'rest'} are not there`);
        out.push(f.slice(from, end));
      } else if ('key' in p) out.push(await runKeyValue(ctx, p.key));
      else if ('mac' in p) {
        const alg = p.mac.key.alg;
        if (alg === 'aes') throw fail(ctx, 'bad script: PBOC MACs use des3 or sm4 keys, not aes', { cardFault: false });
        const data = await completeParts(ctx, p.mac.data, what);
        const key = await runKeyValue(ctx, p.mac.key);
        try {
          out.push(pbocMac({ alg, key, iv: new Uint8Array(alg === 'sm4' ? 16 : 8), data }));
        } finally {
          key.fill(0);
          data.fill(0);
        }
      } else throw fail(ctx, `bad script: ${what} has a part of unknown kind`, { cardFault: false });
    }
    return concat(...out);
  } finally {
    for (const o of out) o.fill(0);
  }
}
