// Secure channels over any Transport (GP Card Specification 2.3.1 Appendix E: SCP02; Amendment D:
// SCP03). A SecureChannel is itself a Transport; see docs/globalplatform.md.
export { AuthenticationError, CardCryptogramError, ResponseProtectionError, SecureChannelError } from './errors.js';
export {
  cardCryptogramMatches,
  checkPseudoRandomChallenge,
  expectedCryptograms,
  formatInitializeUpdateResponse,
  initializeUpdateCommand,
  parseInitializeUpdateResponse,
} from './initialize-update.js';
export type { ExpectedCryptograms, InitializeUpdateResponse } from './initialize-update.js';
export { checkStaticKeys, DIVERSIFICATIONS, GP_TEST_KEY, keyAlgorithm, keySetKcvs, masterKeySource, staticKeySource } from './keys.js';
export type { Diversification, KeySource, StaticKeys } from './keys.js';
export { authenticateAfterInitializeUpdate, initializeUpdate, openSecureChannel } from './open.js';
export type { InitializeUpdateOptions, InitializeUpdateResult, OpenSecureChannelOptions } from './open.js';
export { Scp02Channel, scp02Cryptograms, scp02Options, scp02SessionKeys, SCP02_CONSTANTS } from './scp02.js';
export type { Scp02Options, Scp02SessionKeys } from './scp02.js';
export { Scp03Channel, scp03Cryptograms, scp03Options, scp03PseudoRandomChallenge, scp03SessionKeys, SCP03_CONSTANTS } from './scp03.js';
export type { Scp03Options, Scp03SessionKeys } from './scp03.js';
export { BaseSecureChannel, defaultRandom } from './secure-channel.js';
export type { ChannelProtocol, SecureChannel, SessionInfo } from './secure-channel.js';
export {
  C_DECRYPTION,
  C_MAC,
  checkSecurityLevel,
  describeSecurityLevel,
  parseSecurityLevel,
  R_ENCRYPTION,
  R_MAC,
  SCP02_LEVELS,
  SCP03_LEVELS,
  SECURITY_LEVEL_NAMES,
} from './security-level.js';
