// Simulated cards by spec (sim:sscard?seed=…): creates the card, loads its image from a state
// file when there is one, and saves it back. The only place readers/ reaches into simulator/
// (beyond the SimulatedCard interface), and only through simulator/index.ts.
import { existsSync, readFileSync } from 'node:fs';
import type { SimulatedCard } from '../simulator/card.js';
import { writeJsonAtomicSync } from '../simulator/core/json-file.js';
import { createGpCard, GpCard, saveGpCardImage } from '../simulator/gp/index.js';
import { createSsCard, loadCardImage, saveCardImage, SsCard } from '../simulator/index.js';
import type { SimSpec } from './spec.js';
import { ReaderSpecError } from './pcsc.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

/** A card state file that cannot be read or is not a card image: bad input (CLI exit 2). */
export class SimStateError extends CardsmithError {
  override name = 'SimStateError';
  readonly kind: ErrorKind = 'input';
}

/** Makes the card a SimSpec describes (tests inject doubles). */
export interface SimCardFactory {
  create(spec: SimSpec): Promise<SimulatedCard>;
  /** Writes the card's image to `path`. */
  save(card: SimulatedCard, path: string): Promise<void>;
}

export const defaultSimCardFactory: SimCardFactory = {
  async create(spec) {
    if (spec.kind === 'gp' && spec.t0) throw new ReaderSpecError('sim:gp: the GlobalPlatform card simulator speaks T=1 only (drop t0)');
    const t0 = spec.t0 !== undefined ? { t0: spec.t0 } : {};
    if (spec.state !== undefined && existsSync(spec.state)) {
      try {
        // A loaded card keeps the seed (and position) saved in its image.
        if (spec.kind === 'gp') return createGpCard({ image: readFileSync(spec.state, 'utf8') });
        return createSsCard({ image: loadCardImage(spec.state), ...t0 });
      } catch (e) {
        throw new SimStateError(
          `card state file ${spec.state} is not a usable card image: ${e instanceof Error ? e.message : String(e)} (fix or delete it; without the file a new card starts)`,
          { cause: e },
        );
      }
    }
    if (spec.kind === 'gp') return createGpCard({ seed: spec.seed ?? 0 });
    return createSsCard({ seed: spec.seed ?? 0, ...t0 });
  },
  async save(card, path) {
    if (card instanceof GpCard) return writeJsonAtomicSync(path, saveGpCardImage(card));
    if (!(card instanceof SsCard)) throw new TypeError(`sim: cannot save a ${card.kind} card image`);
    saveCardImage(card, path);
  },
};

