// The cards a simulated printer feeds: its card stock (make a blank card, restore one from its
// saved image, save one) is injected — bin/ passes the simulator's ssCardStock — so stations/
// does not import the simulator.
import type { SimulatedCard } from '../../transport/simulated-card.js';
import type { FaultKind } from './faults.js';

/** A card from the stock: a simulated card whose ATR can be read without powering it. */
export interface StockCard extends SimulatedCard {
  /** The contact ATR (cardsmith's simulated cards carry the chip serial in it). */
  readonly atr: Uint8Array;
}

export interface CardStock {
  /** Card `index` (1-based) a printer seeded `seed` feeds: new and blank, the same for the same pair. */
  blank(index: number, seed: number): StockCard;
  /** The card a saved image (a JSON value from save()) describes; throws when it is not usable. */
  restore(image: unknown): StockCard;
  /** The card's image as a JSON value (it holds the card's keys and PINs: keep it private). */
  save(card: StockCard): unknown;
}

/** The stock a printer was given, or a clear error for a caller that gave none. */
export function requireStock(stock: CardStock | undefined, printer: string): CardStock {
  if (stock) return stock;
  throw new TypeError(`simulated printer ${printer}: no card stock: pass the stock option (the simulator's ssCardStock, or a CardStock of your own)`);
}

export interface FedCard {
  /** 1-based feed number. */
  index: number;
  card: StockCard;
  /** From the card's ATR, when it carries one (simulated social-security cards do). */
  chipSerial: string | undefined;
  faults: FaultKind[];
  /** APDUs the card has processed through the encoder. */
  apdus: number;
}

/** Where the card being made is. */
export type Position = 'none' | 'entry' | 'contact' | 'contactless';
