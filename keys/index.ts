// The keys layer's public API (docs/keys.md): one KeyProvider interface over a file store and a
// PKCS#11 token, the ceremonies' KeyStore, the audit log and the SM2 card CA.
export type { CardKey, CipherOptions, DeriveRequest, ExportedComponents, KeyAlg, KeyInfo, KeyProvider, KeyRef, KeyState, KeyStore, KeyUsage, NewKeySpec, SealOptions, SignOptions } from './types.js';
export { KEY_ALGS, KEY_USAGES } from './types.js';
export { AuditError, CeremonyError, CertificateError, HsmError, KeyNotFoundError, KeyStoreAccessError, KeyStoreError, KeyUsageError, SealError, UnsupportedAlgorithmError } from './errors.js';
export { FileKeyStore, SCRYPT_DEFAULTS } from './file-store.js';
export type { CreateFileStoreOptions, FileStoreOptions } from './file-store.js';
export { Pkcs11KeyStore, SOFTHSM2_MODULE } from './pkcs11-store.js';
export type { Pkcs11Options } from './pkcs11-store.js';
export { AuditLog, verifyAuditLog } from './audit.js';
export type { AuditAnchor, AuditEntry, AuditHash, VerifyResult } from './audit.js';
export { combineComponents, componentKcv, keyKcv, splitComponents } from './material.js';
export { createCaCertificate, issueCertificate, parseCertificate, parseSubject, signatureFromDer, signatureToDer, toPem, fromPem, verifyCertificate, OID_SM2_CURVE, OID_SM3_WITH_SM2 } from './ca.js';
export type { CertificateRequest, IssuedCertificate, ParsedCertificate, SubjectField } from './ca.js';
