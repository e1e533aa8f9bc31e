// Transports: the one interface every card conversation goes through, and its implementations —
// the in-process simulator, PC/SC readers (optional `smartcard` package), the vpcd bridge that puts
// a simulated card into a PC/SC reader — plus reader specs and log forms that hide secrets.
export { CardProtocolError, CardRemovedError, ReaderError, TransportClosedError } from './transport.js';
export type { CardInterface, Transport } from './transport.js';
export type { SimulatedCard } from './simulated-card.js';
export { getResponseCommand, transmitResolvingT0 } from './t0.js';
export type { RawTransmit, T0Options } from './t0.js';
export { SimulatorTransport } from './simulator.js';
export type { SimulatorTransportOptions } from './simulator.js';
export {
  DEFAULT_MAX_RECV_LENGTH,
  listReaders,
  loadPcsc,
  mapPcscError,
  PCSC_MISSING,
  PcscTransport,
  PcscUnavailableError,
  ReaderSpecError,
  resolveReaderName,
  waitForReader,
} from './pcsc.js';
export type { PcscLoader, PcscModule, PcscOptions, PcscProtocol, ReaderInfo, ReaderWant, WaitOptions } from './pcsc.js';
export { parseReaderSpec, parseSeed, READER_SPEC_HELP, SIM_CARD_KINDS } from './spec.js';
export type { ReaderSpec, SimCardKind, SimSpec } from './spec.js';
export { requireSimCards } from './sim-cards.js';
export type { SimCardFactory } from './sim-cards.js';
export { openTransport } from './open.js';
export type { OpenOptions } from './open.js';
export { formatCommandBytes, formatResponseBytes, redactionFor } from './redact.js';
export type { Redaction } from './redact.js';
export {
  frame,
  MultiInterfaceCard,
  VPCD_CONTACT_PORT,
  VPCD_CONTACTLESS_PORT,
  VPCD_DEFAULT_HOST,
  VPCD_MAX_PAYLOAD,
  VpcdBridge,
} from './vpcd-bridge.js';
export type { BridgeEvent, BridgeStats, VpcdBridgeOptions } from './vpcd-bridge.js';
export { parseApduLine, parseApduScript, runApduScript, ScriptError, swMatches } from './apdu-script.js';
export type { ScriptStep, StepResult, SwPattern } from './apdu-script.js';
