// What every simulated card offers to the outside world (in-process transport, vpcd bridge).
// Only bytes cross this boundary, exactly as they would cross the contacts or the antenna.

export type CardInterface = 'contact' | 'contactless';

export interface SimulatedCard {
  readonly kind: string;
  /** Powers the card on one interface; returns its ATR. Volatile state (selection, security state) starts fresh. */
  powerOn(iface: CardInterface): Uint8Array;
  powerOff(): void;
  /** Processes one command APDU; always returns a response ending in a status word, never throws. */
  process(command: Uint8Array): Uint8Array;
}
