// The one interface every secure channel implements (GP Card Specification 2.3.1 §10.2–10.4):
// a SecureChannel wraps any Transport and is itself a Transport, so everything above it — the GP
// session, personalization scripts, `cardsmith apdu` — talks to a card the same way with or without
// protection. Each protocol (scp02.ts, scp03.ts) only supplies wrap/unwrap and its own overhead.
import { randomBytes } from 'node:crypto';
import { abytes, constantTimeEqual, toHex } from '../bytes/index.js';
import { apdu, encodeCommand, parseCommand, type CommandApdu } from '../iso7816/index.js';
import { TransportClosedError, type Transport } from '../transport/transport.js';
import { AuthenticationError, CardCryptogramError, ResponseProtectionError, SecureChannelError } from './errors.js';
import { C_MAC } from './security-level.js';
import type { InitializeUpdateResponse } from './initialize-update.js';

export type ChannelProtocol = 'scp02' | 'scp03';

/** What the two sides agreed on in INITIALIZE UPDATE (nothing secret). */
export interface SessionInfo {
  readonly protocol: ChannelProtocol;
  /** The i parameter: from the card (SCP03) or assumed by the host (SCP02, default 15). */
  readonly i: number;
  readonly keyVersion: number;
  readonly kdd: Uint8Array;
  readonly sequenceCounter: Uint8Array;
  readonly hostChallenge: Uint8Array;
  readonly cardChallenge: Uint8Array;
  /** SCP03 only: S8 (8-byte cryptograms and MACs) or S16. */
  readonly mode: 'S8' | 'S16' | undefined;
  /** SCP03 pseudo-random challenges (i b5): whether the challenge matched our ENC key and the SD AID; undefined when not checked. */
  readonly cardChallengeVerified: boolean | undefined;
  /** Where the static keys came from, e.g. `master KCV 8BAF47, emv`. */
  readonly keySource: string;
}

export interface SecureChannel extends Transport {
  readonly protocol: ChannelProtocol;
  /** P1 of EXTERNAL AUTHENTICATE: C-MAC 01, C-DECRYPTION 02, R-MAC 10, R-ENCRYPTION 20. */
  readonly securityLevel: number;
  readonly session: SessionInfo;
  /** The transport underneath. */
  readonly transport: Transport;
  /** False once the session ended (card reset, close, or a response that failed its R-MAC). */
  readonly active: boolean;
  /**
   * Bytes a data field of `dataLength` bytes grows by when wrapped (MAC and padding). LOAD and STORE
   * DATA size their blocks with maxDataLength, which inverts this.
   */
  overhead(dataLength: number): number;
  /** The longest plain data field whose wrapped form fits in `limit` bytes (255: a short APDU). */
  maxDataLength(limit?: number): number;
  /** How PUT KEY key components are encrypted in this session. */
  readonly keyEncryption: 'des3-ecb-session-dek' | 'aes-cbc-static-dek';
  /** Encrypts one key component for PUT KEY (SCP02: 3DES-ECB under S-DEK; SCP03: AES-CBC, zero ICV, under the static DEK). */
  encryptKey(key: Uint8Array): Uint8Array;
  /** Ends the session on the host side (e.g. because another application was selected). */
  end(reason: string): void;
  /** Encrypts sensitive STORE DATA content (DGIs 8000–8FFF): ECB under the DEK, no padding (EMV CPS §4.3). */
  encryptSensitiveData(data: Uint8Array): Uint8Array;
}

export function defaultRandom(n: number): Uint8Array {
  return new Uint8Array(randomBytes(n));
}

/**
 * Shared Transport behaviour: one command at a time (MAC chaining depends on the order in which
 * commands and responses pass), a session that ends with reset/close, and no way to use a channel
 * whose response protection failed.
 */
export abstract class BaseSecureChannel implements SecureChannel {
  abstract readonly protocol: ChannelProtocol;
  abstract readonly keyEncryption: 'des3-ecb-session-dek' | 'aes-cbc-static-dek';
  readonly transport: Transport;
  readonly session: SessionInfo;
  protected level = C_MAC;
  protected authenticated = false;
  #ended: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  protected constructor(transport: Transport, response: InitializeUpdateResponse, hostChallenge: Uint8Array, info: { i: number; mode: 'S8' | 'S16' | undefined; keySource: string; cardChallengeVerified: boolean | undefined }) {
    this.transport = transport;
    this.session = Object.freeze({
      protocol: response.scp === 2 ? 'scp02' : 'scp03',
      i: info.i,
      keyVersion: response.keyVersion,
      kdd: Uint8Array.from(response.kdd),
      sequenceCounter: Uint8Array.from(response.sequenceCounter),
      hostChallenge: Uint8Array.from(hostChallenge),
      cardChallenge: Uint8Array.from(response.cardChallenge),
      mode: info.mode,
      cardChallengeVerified: info.cardChallengeVerified,
      keySource: info.keySource,
    } satisfies SessionInfo);
  }

  get name(): string {
    return `${this.transport.name} (${this.protocol})`;
  }

  get securityLevel(): number {
    return this.level;
  }

  get active(): boolean {
    return this.#ended === undefined;
  }

  atr(): Uint8Array {
    return this.transport.atr();
  }

  transmit(command: Uint8Array): Promise<Uint8Array> {
    return this.#serial(async () => {
      this.requireActive();
      abytes(command, `${this.protocol}: transmit: command`);
      const plain = parseCommand(command);
      const cmd: CommandApdu = { cla: plain.cla, ins: plain.ins, p1: plain.p1, p2: plain.p2, data: plain.data, le: plain.le };
      const wrapped = this.wrap(cmd);
      const response = await this.transport.transmit(encodeCommand(wrapped, { extended: false }));
      try {
        return this.unwrap(cmd, response);
      } catch (e) {
        if (e instanceof ResponseProtectionError) this.end(`a response failed its protection check (${e.message})`);
        throw e;
      }
    });
  }

  reset(cold?: boolean): Promise<Uint8Array> {
    this.end('the card was reset');
    return this.transport.reset(cold);
  }

  close(): Promise<void> {
    this.end('the channel was closed');
    return this.transport.close();
  }

  /** Ends the session: later transmits fail with a message naming the reason. */
  end(reason: string): void {
    if (this.#ended === undefined) this.#ended = reason;
    this.wipeKeys();
  }

  overhead(dataLength: number): number {
    return this.wrappedLength(dataLength) - dataLength;
  }

  maxDataLength(limit = 255): number {
    let n = limit;
    while (n > 0 && this.wrappedLength(n) > limit) n--;
    return n;
  }

  abstract encryptKey(key: Uint8Array): Uint8Array;
  abstract encryptSensitiveData(data: Uint8Array): Uint8Array;
  /** The data field length after wrapping a plain data field of `n` bytes at the current level. */
  protected abstract wrappedLength(n: number): number;
  /** Protects one command (and advances MAC chaining / counters). */
  protected abstract wrap(command: CommandApdu): CommandApdu;
  /** Checks and strips the protection of the response to `command` (the plain command). */
  protected abstract unwrap(command: CommandApdu, response: Uint8Array): Uint8Array;
  protected abstract wipeKeys(): void;

  /** Sends a command already wrapped by the subclass (EXTERNAL AUTHENTICATE), in the queue. */
  protected sendRaw(command: CommandApdu): Promise<Uint8Array> {
    return this.#serial(async () => {
      this.requireActive();
      return this.transport.transmit(encodeCommand(command, { extended: false }));
    });
  }

  /** Throws CardCryptogramError (and ends the session) unless the card proved it holds the same keys. */
  protected checkCardCryptogram(expected: Uint8Array, received: Uint8Array, kcvs: { enc: string; mac: string; dek: string }): void {
    if (!constantTimeEqual(expected, received)) {
      const err = new CardCryptogramError(this.protocol, received, expected, kcvs);
      this.end('the card cryptogram did not match');
      throw err;
    }
  }

  /**
   * Sends EXTERNAL AUTHENTICATE (C-MAC'd by the subclass's wrap) with `level` in P1 and the host
   * cryptogram; the caller raises the level once this returns. Any SW but 9000 ends the session.
   */
  protected async sendExternalAuthenticate(level: number, hostCryptogram: Uint8Array): Promise<void> {
    this.level = C_MAC; // EXTERNAL AUTHENTICATE itself is C-MAC only, whatever the requested level
    const response = await this.sendRaw(this.wrap(apdu(0x84, 0x82, level, 0x00, hostCryptogram)));
    const sw = (response[response.length - 2]! << 8) | response[response.length - 1]!;
    if (sw !== 0x9000) {
      this.end('EXTERNAL AUTHENTICATE was refused');
      const what = sw === 0x6300 ? 'the card rejected the host cryptogram' : 'the card refused EXTERNAL AUTHENTICATE';
      throw new AuthenticationError(
        `${this.protocol}: ${what} (SW ${toHex(response.subarray(response.length - 2))}) — check the keys and the key version; do not retry: repeated failed authentications can lock the card`,
        sw,
      );
    }
  }

  protected checkFits(wrapped: CommandApdu): CommandApdu {
    if (wrapped.data.length > 255) {
      throw new RangeError(
        `${this.protocol}: the command's data field is ${wrapped.data.length} bytes after wrapping; a short APDU carries 255 ` +
          `(send at most ${this.maxDataLength()} plain bytes per command at this security level)`,
      );
    }
    return wrapped;
  }

  protected requireActive(): void {
    if (this.#ended !== undefined) {
      throw new SecureChannelError(`${this.protocol}: the secure channel session has ended (${this.#ended}); authenticate again to send protected commands`);
    }
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }
}

export { TransportClosedError };
