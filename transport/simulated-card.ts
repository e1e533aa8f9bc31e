// What the in-process transport and the vpcd bridge need from a simulated card: power and APDUs,
// bytes only. Written here from the host's side; the simulator keeps its own definition and the two
// meet structurally, so host code never imports the simulator.
import type { CardInterface } from './transport.js';

export interface SimulatedCard {
  readonly kind: string;
  /** Powers the card on one interface and returns its ATR. */
  powerOn(iface: CardInterface): Uint8Array;
  powerOff(): void;
  /** One command APDU in, data ‖ SW1 SW2 out; never throws. */
  process(command: Uint8Array): Uint8Array;
}
