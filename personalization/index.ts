// Personalization's public API (`cardsmith/personalization`): batch input checks, data preparation
// into a sealed batch folder, the runner and its journal, the issuance and serial registries, the
// report, and the demo key store. See docs/prep.md and docs/runner.md.
export * from './batch/index.js';
export { PrepError, prepBatch } from './prep/index.js';
export type { PrepOptions, PrepProgress, PrepResult } from './prep/index.js';
export { MANIFEST_FORMAT, parseCardScript, SCRIPT_FORMAT, ScriptFormatError } from './script.js';
export type { BatchManifest, CardScript, Step } from './script.js';
export { BATCH_MANIFEST_SCHEMA, CARD_SCRIPT_SCHEMA } from './schemas.js';
export { BatchInputError, checkManifestMac, readManifest } from './sealed.js';
export { AUDIT_LOG, loadBatch, ResumeNeededError, runBatch } from './runner/run.js';
export type { Batch, RunBatchOptions, RunResult } from './runner/run.js';
export { RunLockedError } from './runner/lock.js';
export * from './journal/index.js';
export { CARD_STATES as REGISTRY_CARD_STATES, holderHasher, HolderKeyError, HOLDER_KEY_LABEL, IssuanceRegistry, RegistryConflictError, RegistryFileError, RegistryStateError } from './registry/index.js';
export type { CardEntry, CardReservation, CardState, ConflictKind, KeyUse, Replacement } from './registry/index.js';
export { SerialRegistry, SerialRegistryError } from './serials/registry.js';
export type { SerialAllocation } from './serials/registry.js';
export { buildReport, formatReportText, renderReportHtml, reportFromDir } from './report/index.js';
export type { Report, ReportRecord } from './report/index.js';
export { createProgress, renderBar } from './progress/index.js';
export type { Progress, ProgressEvent, ProgressSnapshot } from './progress/index.js';
export { createDemoKeyStore, DEMO_SEAL_KEY } from './demo.js';
export type { DemoStoreOptions } from './demo.js';
