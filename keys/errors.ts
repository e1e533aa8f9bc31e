// The failure families of keys/. Every message says what went wrong, where, and what to do; none
// carries key, component, passphrase or PIN bytes (KCVs, labels and versions only). `exitCode`
// tells the CLI which of its codes fits: 1 the operation ran and failed, 2 bad usage or input.

export abstract class KeyStoreError extends Error {
  abstract readonly exitCode: 1 | 2;
}

/** The store cannot be opened or written: wrong passphrase/PIN, damaged or tampered file, busy. */
export class KeyStoreAccessError extends KeyStoreError {
  override name = 'KeyStoreAccessError';
  readonly exitCode = 1;
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
  readonly exitCode = 2;
}

/** The key exists but may not do this: retired, wrong usage, wrong algorithm for the method. */
export class KeyUsageError extends KeyStoreError {
  override name = 'KeyUsageError';
  readonly exitCode = 2;
}

/** A ceremony check failed: a component or key KCV that does not match what the officer confirmed. */
export class CeremonyError extends KeyStoreError {
  override name = 'CeremonyError';
  readonly exitCode = 1;
}

/** The backend (a PKCS#11 token) has no mechanism for this algorithm; never a silent fallback. */
export class UnsupportedAlgorithmError extends KeyStoreError {
  override name = 'UnsupportedAlgorithmError';
  readonly exitCode = 1;
}

/** A PKCS#11 call failed; the message names the function and the CKR_ code. */
export class HsmError extends KeyStoreError {
  override name = 'HsmError';
  readonly exitCode = 1;
}

/** The audit log's hash chain is broken, or does not match the store's anchor. */
export class AuditError extends KeyStoreError {
  override name = 'AuditError';
  readonly exitCode = 1;
}

/** A certificate request or certificate that cannot be built, parsed or verified. */
export class CertificateError extends KeyStoreError {
  override name = 'CertificateError';
  readonly exitCode = 2;
}

/** A sealed blob that does not open: wrong transport key, wrong context, or modified. */
export class SealError extends KeyStoreError {
  override name = 'SealError';
  readonly exitCode = 1;
}
