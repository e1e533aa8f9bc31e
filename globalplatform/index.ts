// GlobalPlatform card content management (GP Card Specification 2.3.1, Amendments D and E; EMV CPS
// v1.1 for STORE DATA) and CAP files (JCVM chapter 6). See docs/globalplatform.md.
export { checkAid, DEFAULT_ISD_AIDS, lv, parseAid } from './aid.js';
export { CAP_MAGIC, CapFile, COMPONENT_NAMES, LOAD_ORDER, WELL_KNOWN_PACKAGES } from './cap.js';
export type { CapApplet, CapComponent, LoadFileOptions, PackageRef } from './cap.js';
export { buildComponents, capFromComponents, writeCap, writeIjc } from './cap-writer.js';
export type { SyntheticPackage } from './cap-writer.js';
export {
  CPLC_LENGTH,
  decodeCardRecognitionData,
  decodeCplc,
  decodeCplcDate,
  decodeKeyInformation,
  decodeSdFci,
  KEY_TYPE_NAMES,
} from './card-data.js';
export type { CardRecognitionData, Cplc, CplcDate, KeyInfo, SdFci } from './card-data.js';
export {
  CARD_STATES,
  deleteCommand,
  encodeSystemParameters,
  getDataCommand,
  getStatusCommand,
  installCommand,
  installForLoadCommand,
  installForPersonalizationCommand,
  loadCommands,
  loadStream,
  makeSelectableCommand,
  putKeyCommand,
  selectCommand,
  setStatusCommand,
  STORE_DATA,
  storeDataCommand,
} from './commands.js';
export type { InstallForLoadOptions, InstallOptions, LoadParameters, PutKeyComponent } from './commands.js';
export { CapFileError, GpCommandError, GpDataError, GpError, IsdNotFoundError, KcvMismatchError } from './errors.js';
export { probeKeys, templatesFor, WELL_KNOWN_KEYS, wellKnownKeys } from './probe.js';
export type { ProbeKey, ProbeResult } from './probe.js';
export {
  applicationLifeCycleName,
  cardLifeCycleName,
  decodePrivileges,
  encodePrivileges,
  GET_STATUS_P1,
  lifeCycleName,
  parseStatusLegacy,
  parseStatusTags,
  PRIVILEGE_NAMES,
} from './registry.js';
export type { RegistryEntry, RegistryKind } from './registry.js';
export { GpSession, parseCap } from './session.js';
export type { DgiInput, GpProgress, GpSessionOptions, LoadResult, SdSelection, StoreDataOptions } from './session.js';
export { isZip, MAX_INFLATED, readZip, writeZip, ZipError } from './zip.js';
export type { ZipEntry } from './zip.js';
