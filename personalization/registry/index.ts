export { IssuanceRegistry, RegistryConflictError, RegistryFileError, RegistryStateError, type CardEntry, type CardReservation, type ConflictKind, type KeyUse, type Replacement } from './registry.js';
export { holderHasher, HolderKeyError, HOLDER_KEY_LABEL } from './holder.js';
export { CARD_STATES, type CardState } from './schema.js';
