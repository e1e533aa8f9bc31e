// Errors of the secure channel layer (GP Card Specification 2.3.1 §10 and Appendix E for SCP02,
// Amendment D for SCP03). Every message says what happened and what to do; none carries key bytes —
// keys are named by their KCVs, cryptograms and MACs (which are not secrets) are shown in full.
import { toHex } from '../bytes/index.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

/** Any secure channel failure; `protocol` is 'scp02' or 'scp03' once known. */
export class SecureChannelError extends CardsmithError {
  override name = 'SecureChannelError';
  readonly kind: ErrorKind = 'operation';
}

/**
 * The card cryptogram of INITIALIZE UPDATE does not match the one computed from our keys. No
 * EXTERNAL AUTHENTICATE was sent, so the card has not counted a failed attempt; the caller must not
 * retry with the same keys, because cards block the key set after a few failed authentications.
 */
export class CardCryptogramError extends SecureChannelError {
  override name = 'CardCryptogramError';
  /** The keys, not the card: the runner stops (until an issued card has proven the batch keys). */
  override readonly kind: ErrorKind = 'key';
  readonly protocol: 'scp02' | 'scp03';
  readonly cardCryptogram: string;
  readonly expectedCryptogram: string;
  /** KCVs of the static keys that were tried (ENC, MAC, DEK), for the person who has to check them. */
  readonly kcvs: Readonly<{ enc: string; mac: string; dek: string }>;

  constructor(protocol: 'scp02' | 'scp03', card: Uint8Array, expected: Uint8Array, kcvs: { enc: string; mac: string; dek: string }) {
    super(
      `${protocol}: card cryptogram mismatch (card sent ${toHex(card)}, expected ${toHex(expected)}) — check the keys; ` +
        'do not retry: repeated failed authentications can lock the card',
    );
    this.protocol = protocol;
    this.cardCryptogram = toHex(card);
    this.expectedCryptogram = toHex(expected);
    this.kcvs = Object.freeze({ ...kcvs });
  }
}

/**
 * The card refused EXTERNAL AUTHENTICATE or INITIALIZE UPDATE (host cryptogram, blocked key set, …).
 * An operation failure; in the runner a refusal that names the keys (63Cx, 6982) becomes a key
 * fault through the step that met it (StepError.keyFault), since the same SW can mean other things.
 */
export class AuthenticationError extends SecureChannelError {
  override name = 'AuthenticationError';
  constructor(
    message: string,
    readonly sw: number,
  ) {
    super(message);
  }
}

/** A response MAC (R-MAC) did not verify, or a protected response was malformed: the channel is closed. */
export class ResponseProtectionError extends SecureChannelError {
  override name = 'ResponseProtectionError';
  override readonly kind: ErrorKind = 'card';
}
