// Simulated cards by spec (sim:sscard?seed=…): the factory openTransport uses to make the card a
// `sim…` reader spec describes. Injected by the caller (bin/ passes the simulator's simCards),
// so transport/ does not import the simulator: host and card are written independently.
import type { SimulatedCard } from './simulated-card.js';
import type { SimSpec } from './spec.js';

/** Makes the card a SimSpec describes (the simulator's simCards; tests inject doubles). */
export interface SimCardFactory {
  /** A new card, or the one saved in `spec.state` when that file exists. */
  create(spec: SimSpec): Promise<SimulatedCard>;
  /** Writes the card's image to `path`. */
  save(card: SimulatedCard, path: string): Promise<void>;
}

/** The factory to use, or a clear error for a caller that gave none. */
export function requireSimCards(factory: SimCardFactory | undefined, what: string): SimCardFactory {
  if (factory) return factory;
  throw new TypeError(`${what}: simulated cards need a factory: pass the simCards option (the simulator's simCards, e.g. import { simCards } from cardsmith's simulator)`);
}
