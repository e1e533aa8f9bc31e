// Simulated cards by spec (sim:sscard?seed=…, sim:gp): creates the card, loads its image from a
// state file when there is one, and saves it back. The host's composition root (bin/) passes
// `simCards` to openTransport and openStations; it meets their SimCardFactory structurally, so
// host code does not import the simulator, nor the simulator host code.
import { existsSync, readFileSync } from 'node:fs';
import type { CardInterface, SimulatedCard } from './card.js';
import { writeJsonAtomicSync } from './core/json-file.js';
import { SimStateError } from './errors.js';
import { createGpCard, GpCard, saveGpCardImage } from './gp/index.js';
import { SsCard } from './sscard/card.js';
import { createSsCard, loadCardImage, saveCardImage } from './sscard/factory.js';

/** What a reader spec asks of the simulator (the host's SimSpec). */
export interface SimCardRequest {
  kind: 'sscard' | 'gp';
  /** Random seed of a new card (default 0); a card loaded from `state` keeps its own. */
  seed?: number;
  interface?: CardInterface;
  /** T=0 behaviour (social-security card only). */
  t0?: boolean;
  /** Card image file: loaded when it exists (the caller saves it with save()). */
  state?: string;
}

export const simCards = {
  async create(spec: SimCardRequest): Promise<SimulatedCard> {
    if (spec.kind === 'gp' && spec.t0) throw new RangeError('sim:gp: the GlobalPlatform card simulator speaks T=1 only (drop t0)');
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

  /** Writes the card's image to `path` (atomically, mode 0600). */
  async save(card: SimulatedCard, path: string): Promise<void> {
    if (card instanceof GpCard) return writeJsonAtomicSync(path, saveGpCardImage(card));
    if (!(card instanceof SsCard)) throw new TypeError(`sim: cannot save a ${card.kind} card image`);
    saveCardImage(card, path);
  },
};
