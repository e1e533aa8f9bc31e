// The executor: runs one CardScript (personalization/script.ts) on a Transport — its `steps`, then
// its `verify` steps — with secrets unsealed from the key provider only in memory, for as long as
// one step needs them, and wiped afterwards. A card that answers something unexpected (a wrong
// status word, a malformed response, a removal) fails with a StepError naming the list, the step
// index, the op, its note, the SW and its meaning — never key, PIN or sealed bytes.
//
// Step kinds and the bytes they send (docs/simulator.md, docs/simulator-gp.md):
//   apdu         the command as given
//   sealed-apdu  header ‖ Lc ‖ unsealed data [‖ Le] (extended Lc/Le when the sizes need them)
//   mac-apdu     GET CHALLENGE (00 84 00 00 n), then header ‖ Lc ‖ C ‖ MAC where C = data or
//                ECB_encKey(data ‖ 80 00…), Lc counts the 4 MAC bytes, and
//                MAC = PBOC MAC under macKey over header ‖ Lc ‖ C with IV = challenge ‖ 00…
//                (short only: the MAC covers the one-byte Lc, as the card computes it)
//   open         ssc-ext-auth: GET CHALLENGE, 00 82 00 keyId Lc ECB_K(challenge ‖ 00…);
//                scp02/scp03: SELECT the SD, INITIALIZE UPDATE, EXTERNAL AUTHENTICATE — later
//                steps go through the secure channel until `close`
//   put-key      GP PUT KEY under the channel's DEK; the KCVs the card returns are checked
//                (GpSession.putKeys, globalplatform/session.ts)
//   store-data   GP STORE DATA, each DGI starting a new command, sealed sensitive DGIs (8000–8FFF)
//                encrypted under the session DEK (GpSession.storeData)
//   keygen-cert  the generate command → 04 ‖ X ‖ Y; the CA issues the certificate; SELECT the EF,
//                UPDATE BINARY in `chunk`-byte pieces, READ BINARY it back in `readChunk`-byte
//                pieces (extended Lc/Le when a piece needs them)
//   check        the command; the SW and (when given) the response data must match: `expect`
//                (hex) or `expectBlob` (bytes of the batch's blobs.pack, ExecutorOptions.blobs)
//   run-apdu     header ‖ Lc ‖ data [‖ Le] as sealed-apdu, data completed now from RunParts: constant bytes, slices
//                of card facts (atr: the transport's ATR; chipId: the last 8 historical bytes of
//                the ATR; kdd: from the last INITIALIZE UPDATE; csn: the CPLC IC serial number,
//                GET DATA 9F7F), keys derived from a key-store master (KeyProvider.deriveCardKey
//                over the concatenated levels), PBOC MACs (IV zero) under such keys, bytes of
//                blobs.pack (each blob checked against the SHA-256 the script names)
//   put-derived-key  GP PUT KEY, as put-key, of ENC/MAC/DEK diversified from the master with the
//                card's KDD (the open channel's INITIALIZE UPDATE)
//
// Each step kind has its handler in steps.ts; what they share (the context, StepError, the ways to
// the card) is step-context.ts.
import { GpSession } from '../../globalplatform/index.js';
import type { Transport } from '../../transport/transport.js';
import type { CardScript } from '../script.js';
import { countingTransport, fail, StepError, type Ctx, type ExecutionResult, type ExecutorOptions, type StepList } from './step-context.js';
import { runStep } from './steps.js';

export { StepError, swMatches } from './step-context.js';
export type { ExecutionResult, ExecutorOptions, KeyFault, StepList } from './step-context.js';

/** Runs `script.steps` (or `verify` with `only: 'verify'`), then the verify steps. */
export async function executeScript(transport: Transport, script: CardScript, opts: ExecutorOptions, o: { lists?: StepList[] } = {}): Promise<ExecutionResult> {
  const result: ExecutionResult = { steps: 0, checks: 0, apdus: 0, kcvs: {}, certificates: [] };
  const lists = o.lists ?? ['steps', 'verify'];
  const facts: Ctx['facts'] = {};
  const base = countingTransport(transport, result);
  for (const list of lists) {
    const ctx: Ctx = { script, opts, base, link: base, gp: new GpSession(base), result, list, index: 0, step: { op: 'close' }, facts };
    const steps = script[list];
    try {
      for (let index = 0; index < steps.length; index++) {
        const step = steps[index]!;
        ctx.index = index;
        ctx.step = step;
        try {
          await runStep(ctx);
        } catch (e) {
          if (e instanceof StepError) throw e;
          throw fail(ctx, `failed: ${(e as Error).message ?? String(e)}`, { cause: e, cardFault: !(e instanceof RangeError || e instanceof TypeError) });
        }
        result.steps++;
        opts.onStep?.({ list, index, op: step.op });
      }
    } finally {
      ctx.gp.endChannel('end of the script');
    }
  }
  for (const k of Object.keys(result.kcvs)) if (!/^[0-9A-F]{4,8}$/.test(result.kcvs[k]!)) delete result.kcvs[k];
  return result;
}

/** Runs only the verify steps (cardsmith verify, recovery's inspection). */
export function verifyCard(transport: Transport, script: CardScript, opts: ExecutorOptions): Promise<ExecutionResult> {
  return executeScript(transport, script, opts, { lists: ['verify'] });
}
