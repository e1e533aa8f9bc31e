// The blank social-security cards a simulated printer feeds, and how it keeps them: the
// printer (stations/) gets this stock injected by bin/ and meets it through its own CardStock
// interface, so the host does not import the simulator.
import type { CardImage } from './sscard/image.js';
import type { SsCard } from './sscard/card.js';
import { createSsCard } from './sscard/factory.js';

export const ssCardStock = {
  /** Card `index` (1-based) of a printer seeded `seed`: seed "printer-<seed>-card-<index>". */
  blank(index: number, seed: number): SsCard {
    return createSsCard({ seed: `printer-${seed}-card-${index}` });
  },
  /** The card a saved image describes; throws CardImageError when it is not a usable image. */
  restore(image: unknown): SsCard {
    return createSsCard({ image });
  },
  /** The card's image (a JSON value; it holds keys and PINs in clear, as the chip does). */
  save(card: SsCard): CardImage {
    return card.toImage();
  },
};
