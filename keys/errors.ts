// The failure families of keys/. Every message says what went wrong, where, and what to do; none
// carries key, component, passphrase or PIN bytes (KCVs, labels and versions only). The kind tells
// the CLI which of its codes fits: 'operation' (1) the operation ran and failed, 'input' (2) bad
// usage or input. In the runner a key store failure becomes a key fault through the step that met
// it (StepError.keyFault), not through its class.
import { CardsmithError, type ErrorKind } from '../errors/index.js';

export abstract class KeyStoreError extends CardsmithError {}

/** The store cannot be opened or written: wrong passphrase/PIN, damaged or tampered file, busy. */
export class KeyStoreAccessError extends KeyStoreError {
  override name = 'KeyStoreAccessError';
  readonly kind: ErrorKind = 'operation';
  constructor(
    message: string,
    readonly reason: 'wrong-passphrase' | 'tampered' | 'truncated' | 'not-a-keystore' | 'exists' | 'missing' | 'busy' | 'io' | 'login',
  ) {
    super(message);
  }
}

/** No key with that label/version, or a label that is already taken. */
export class KeyNotFoundError extends KeyStoreError {
  override name = 'KeyNotFoundError';
  readonly kind: ErrorKind = 'input';
}

/** The key exists but may not do this: retired, wrong usage, wrong algorithm for the method. */
export class KeyUsageError extends KeyStoreError {
  override name = 'KeyUsageError';
  readonly kind: ErrorKind = 'input';
}

/** A ceremony check failed: a component or key KCV that does not match what the officer confirmed. */
export class CeremonyError extends KeyStoreError {
  override name = 'CeremonyError';
  readonly kind: ErrorKind = 'operation';
}

/** The backend (a PKCS#11 token) has no mechanism for this algorithm; never a silent fallback. */
export class UnsupportedAlgorithmError extends KeyStoreError {
  override name = 'UnsupportedAlgorithmError';
  readonly kind: ErrorKind = 'operation';
}

/** A PKCS#11 call failed; the message names the function and the CKR_ code. */
export class HsmError extends KeyStoreError {
  override name = 'HsmError';
  readonly kind: ErrorKind = 'operation';
}

/** The audit log's hash chain is broken, or does not match the store's anchor. */
export class AuditError extends KeyStoreError {
  override name = 'AuditError';
  readonly kind: ErrorKind = 'operation';
}

/** A certificate request or certificate that cannot be built, parsed or verified. */
export class CertificateError extends KeyStoreError {
  override name = 'CertificateError';
  readonly kind: ErrorKind = 'input';
}

/** A sealed blob that does not open: wrong transport key, wrong context, or modified. */
export class SealError extends KeyStoreError {
  override name = 'SealError';
  readonly kind: ErrorKind = 'operation';
}
