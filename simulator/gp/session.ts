// The card side of a GlobalPlatform secure channel session, common to SCP02 (GP Card Specification
// 2.2 Appendix E) and SCP03 (GP 2.3.1 Amendment D): what the ISD asks of a session once INITIALIZE
// UPDATE has created it. Security level bits as in EXTERNAL AUTHENTICATE P1 (GP 2.2 Appendix E,
// Amendment D "EXTERNAL AUTHENTICATE"): 01 C-MAC, 02 C-DECRYPTION, 10 R-MAC, 20 R-ENCRYPTION.
import type { CardResponse } from './util.js';
import type { DekDecryptor } from './keys.js';

export const LEVEL_CMAC = 0x01;
export const LEVEL_CDEC = 0x02;
export const LEVEL_RMAC = 0x10;
export const LEVEL_RENC = 0x20;

/** A command as the card processes it: header, data (plain once unwrapped) and Ne. */
export interface CardCommand {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data: Uint8Array;
  le?: number | undefined;
  /** True when it came in the extended-length form (the SCP03 MAC covers the Lc field as sent). */
  extended: boolean;
}

export interface CardSession {
  readonly scp: '02' | '03';
  /** 'initiated' after INITIALIZE UPDATE, 'authenticated' after a successful EXTERNAL AUTHENTICATE. */
  readonly state: 'initiated' | 'authenticated';
  /** The EXTERNAL AUTHENTICATE P1 in force (meaningful once authenticated). */
  readonly level: number;
  readonly keyVersion: number;
  /** The INITIALIZE UPDATE response data, computed when the session was created. */
  readonly initializeUpdateResponse: Uint8Array;
  /** Decrypts sensitive data (PUT KEY components, encrypted DGIs) under this session's DEK. */
  readonly dek: DekDecryptor;
  /**
   * Checks EXTERNAL AUTHENTICATE (host cryptogram, then its C-MAC) and opens the session at the
   * level in P1. Throws CardError: 6300 wrong cryptogram, 6982 wrong MAC, 6A86 bad P1/P2,
   * 6700 bad length. The caller closes the session on any throw.
   */
  externalAuthenticate(command: CardCommand): void;
  /**
   * Verifies the C-MAC and decrypts per the level; returns the plain command (CLA without the
   * secure messaging bit). Throws CardError(6982) on any failure; the caller closes the session.
   */
  unwrap(command: CardCommand): CardCommand;
  /** Adds R-MAC / R-ENCRYPTION per the level to the response of a command this session unwrapped. */
  wrap(plain: CardCommand, response: CardResponse): CardResponse;
}
