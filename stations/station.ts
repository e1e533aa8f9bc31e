// A station: a card mover + an encoder, one card at a time. The runner asks it for a card
// (loadCard → a Transport to the card in position and its chip serial), runs the card's script,
// then either acceptCard (print the face, eject to the output hopper) or rejectCard (reject box).
//
// Pausing, so that a broken station does not send a stack of good cards to the reject bin:
//   - a station fault (PrinterError with stationFault: empty feeder, jam, cover open; the printer
//     unreachable; an operator who does not come; the PC/SC service failing) pauses at once;
//   - `maxConsecutiveFailures` cards rejected in a row (default 3) pause it too: when every card
//     fails, the station is the likely cause, not the cards.
// A paused station refuses loadCard (StationPausedError) until resume(); the other stations of
// the batch carry on. Each change is reported through onEvent.
import { faultOf } from '../errors/index.js';
import { CardRemovedError, type Transport } from '../transport/transport.js';
import { MoverError, StationPausedError } from './errors.js';
import { chipSerialFromAtr, type CardInterface, type CardMover, type Encoder, type MoverStatus } from './mover.js';

export type StationState = 'idle' | 'loading' | 'encoding' | 'finishing' | 'paused' | 'closed';

export type StationEvent =
  | { type: 'state'; station: string; state: StationState; reason?: string }
  | { type: 'card'; station: string; outcome: 'accepted' | 'rejected'; chipSerial?: string; reason?: string; consecutiveFailures: number };

export interface StationOptions {
  name: string;
  mover: CardMover;
  encoder: Encoder;
  /** Where the card is encoded (default contact). */
  interface?: CardInterface;
  /** Cards rejected in a row that pause the station (default 3). */
  maxConsecutiveFailures?: number;
  /** Reads the chip serial of the card in position (default: from the ATR, cardsmith's simulated cards). */
  chipSerial?: (transport: Transport) => Promise<string | undefined>;
  onEvent?: (event: StationEvent) => void;
}

export interface LoadedCard {
  transport: Transport;
  atr: Uint8Array;
  /** Hex, upper case; undefined when it cannot be read from this card (give StationOptions.chipSerial). */
  chipSerial: string | undefined;
  interface: CardInterface;
}

export interface StationStats {
  loaded: number;
  accepted: number;
  rejected: number;
  pauses: number;
}

/**
 * Whether an error is the station's fault (pause it) or this card's (reject the card): faultOf
 * decides from the error's kind; a key fault is not the station's either (the runner stops for it).
 */
export function classifyError(err: unknown): 'station' | 'card' {
  return faultOf(err) === 'pause' ? 'station' : 'card';
}

export class Station {
  readonly name: string;
  readonly mover: CardMover;
  readonly encoder: Encoder;
  readonly interface: CardInterface;
  readonly maxConsecutiveFailures: number;
  #state: StationState = 'idle';
  #pausedReason: string | undefined;
  #failures = 0;
  #card: LoadedCard | undefined;
  #chipSerial: (transport: Transport) => Promise<string | undefined>;
  #onEvent: (event: StationEvent) => void;
  #stats: StationStats = { loaded: 0, accepted: 0, rejected: 0, pauses: 0 };

  constructor(options: StationOptions) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(options.name)) {
      throw new RangeError(`station: name must be 1..64 of A-Z a-z 0-9 . _ : - starting with a letter or digit, got ${JSON.stringify(options.name)}`);
    }
    this.name = options.name;
    this.mover = options.mover;
    this.encoder = options.encoder;
    this.interface = options.interface ?? 'contact';
    this.maxConsecutiveFailures = options.maxConsecutiveFailures ?? 3;
    if (!Number.isInteger(this.maxConsecutiveFailures) || this.maxConsecutiveFailures < 1) throw new RangeError('station: maxConsecutiveFailures must be an integer ≥ 1');
    this.#chipSerial = options.chipSerial ?? (async (t) => chipSerialFromAtr(t.atr()));
    this.#onEvent = options.onEvent ?? (() => {});
  }

  get state(): StationState {
    return this.#state;
  }
  get paused(): boolean {
    return this.#state === 'paused';
  }
  get pausedReason(): string | undefined {
    return this.#pausedReason;
  }
  get consecutiveFailures(): number {
    return this.#failures;
  }
  get stats(): StationStats {
    return { ...this.#stats };
  }
  /** The card in position, between loadCard and accept/reject. */
  get card(): LoadedCard | undefined {
    return this.#card;
  }

  /**
   * Brings a blank card to the encoder and connects to it. A station fault pauses the station and
   * is rethrown (give the record back: journal.release). A card fault (dead chip …) is rethrown
   * with the card still in position: reject it with rejectCard.
   */
  async loadCard(signal?: AbortSignal): Promise<LoadedCard> {
    this.#usable();
    if (this.#card) throw new MoverError(`station ${this.name}: a card is already in position; accept or reject it first`);
    this.#set('loading');
    try {
      await this.mover.load(this.interface, signal);
    } catch (e) {
      this.#afterError(e);
      throw e;
    }
    let transport: Transport;
    try {
      transport = await this.encoder.connect(this.interface);
    } catch (e) {
      this.#afterError(e);
      throw e;
    }
    this.#stats.loaded++;
    try {
      const atr = transport.atr();
      const chipSerial = await this.#chipSerial(transport);
      this.#card = { transport, atr, chipSerial, interface: this.interface };
    } catch (e) {
      await transport.close().catch(() => {});
      this.#afterError(e);
      throw e;
    }
    this.#set('encoding');
    return this.#card;
  }

  /**
   * The card in position (from loadCard, or one left in the encoder: connects to it), for recovery:
   * inspect it without loading a new one. Undefined when the encoder finds no card.
   */
  async cardInEncoder(): Promise<LoadedCard | undefined> {
    if (this.#card) return this.#card;
    let transport: Transport;
    try {
      transport = await this.encoder.connect(this.interface);
    } catch (e) {
      if (e instanceof CardRemovedError) return undefined;
      throw e;
    }
    const atr = transport.atr();
    this.#card = { transport, atr, chipSerial: await this.#chipSerial(transport), interface: this.interface };
    this.#set('encoding');
    return this.#card;
  }

  /** A good card: prints `face` (PNG) when the mover can, ejects it to the output hopper. */
  async acceptCard(face?: Uint8Array, signal?: AbortSignal): Promise<{ printed: boolean }> {
    const card = this.#card;
    this.#set('finishing');
    await this.#release();
    let printed = false;
    try {
      if (face && this.mover.canPrint) printed = await this.mover.print(face);
      await this.mover.eject(signal);
    } catch (e) {
      this.#afterError(e);
      throw e;
    }
    this.#failures = 0;
    this.#stats.accepted++;
    this.#onEvent({ type: 'card', station: this.name, outcome: 'accepted', ...(card?.chipSerial ? { chipSerial: card.chipSerial } : {}), consecutiveFailures: 0 });
    this.#set('idle');
    return { printed };
  }

  /**
   * A failed card: to the reject box. Counts towards maxConsecutiveFailures; returns whether the
   * station paused because of it.
   */
  async rejectCard(reason: string, signal?: AbortSignal): Promise<{ paused: boolean }> {
    const card = this.#card;
    this.#set('finishing');
    await this.#release();
    try {
      await this.mover.reject(reason, signal);
    } catch (e) {
      this.#afterError(e);
      throw e;
    }
    this.#failures++;
    this.#stats.rejected++;
    this.#onEvent({ type: 'card', station: this.name, outcome: 'rejected', reason, ...(card?.chipSerial ? { chipSerial: card.chipSerial } : {}), consecutiveFailures: this.#failures });
    if (this.#failures >= this.maxConsecutiveFailures) {
      this.pause(`${this.#failures} cards failed in a row (last: ${reason}); the station is the likely cause: check the encoder and the card path, then resume it`);
      return { paused: true };
    }
    this.#set('idle');
    return { paused: false };
  }

  /** Reports a station fault found by the caller (pauses the station). */
  fault(reason: string): void {
    this.pause(reason);
  }

  pause(reason: string): void {
    if (this.#state === 'closed') return;
    if (this.#state !== 'paused') this.#stats.pauses++;
    this.#pausedReason = reason;
    this.#set('paused', reason);
  }

  /** After the operator fixed the station: resets the mover (clears a printer's error state) and takes cards again. */
  async resume(options: { reset?: boolean } = {}): Promise<void> {
    if (this.#state === 'closed') throw new MoverError(`station ${this.name} is closed`);
    if (options.reset ?? true) await this.mover.reset();
    this.#failures = 0;
    this.#pausedReason = undefined;
    this.#set(this.#card ? 'encoding' : 'idle');
  }

  status(): Promise<MoverStatus> {
    return this.mover.status();
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    await this.#release();
    await this.encoder.close().catch(() => {});
    await this.mover.close().catch(() => {});
    this.#set('closed');
  }

  #usable(): void {
    if (this.#state === 'closed') throw new MoverError(`station ${this.name} is closed`);
    if (this.#state === 'paused') {
      throw new StationPausedError(`station ${this.name} is paused: ${this.#pausedReason ?? '?'}`, this.name, this.#pausedReason ?? '');
    }
  }

  async #release(): Promise<void> {
    const card = this.#card;
    this.#card = undefined;
    if (card) await card.transport.close().catch(() => {});
  }

  #afterError(e: unknown): void {
    if (classifyError(e) === 'station') this.pause(e instanceof Error ? e.message : String(e));
    else if (this.#state !== 'paused') this.#set(this.#card ? 'encoding' : 'idle');
  }

  #set(state: StationState, reason?: string): void {
    if (this.#state === state && state !== 'paused') return;
    this.#state = state;
    this.#onEvent({ type: 'state', station: this.name, state, ...(reason !== undefined ? { reason } : {}) });
  }
}
