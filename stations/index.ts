// Stations: a card mover (manual desk reader, Evolis printer, simulated printer) + an encoder
// (PC/SC reader or simulated card), the stations file, and the simulated printer with its Evolis
// escape-command server. Simulated cards come from outside (a SimCardFactory, a CardStock): the
// caller injects the simulator's. See docs/runner.md.
export {
  CardUnresponsiveError,
  EncoderTimeoutError,
  MoverError,
  PrinterError,
  PrinterLinkError,
  StationPausedError,
  StationsFileError,
} from './errors.js';
export type { PrinterErrorCode, StationsFileIssue } from './errors.js';
export { chipSerialFromAtr } from './mover.js';
export type { CardInterface, CardMover, Encoder, MoverKind, MoverStatus } from './mover.js';
export { classifyError, Station } from './station.js';
export type { LoadedCard, StationEvent, StationOptions, StationState, StationStats } from './station.js';
export { loadStationsFile, parseStationsFile, simulatedStations } from './file.js';
export type { MoverConfig, StationConfig, StationsFile } from './file.js';
export { openStations } from './open.js';
export type { OpenedStations, OpenStationsOptions } from './open.js';
export { EvolisDriver, EvolisMover, parseSensors } from './evolis.js';
export type { EvolisDriverOptions, EvolisMoverOptions, SendOptions } from './evolis.js';
export { openEvolisLink } from './evolis-link.js';
export type { EvolisLink, LinkOptions } from './evolis-link.js';
export { CR, downloadSize, encodeCommand, ESC, FrameParser, replyError, splitReply } from './evolis-protocol.js';
export type { EvolisFrame } from './evolis-protocol.js';
export { SimulatedMover } from './simulated.js';
export { checkFaults, FAULT_KINDS, readSimOutput, SIM_OUTPUT_DIR, SimulatedPrinter, SimulatedPrinterServer } from './sim-printer/index.js';
export type { CardStock, FaultKind, FaultSpec, FedCard, KeptCard, PrintedFace, PrinterLatency, SimOutput, SimulatedPrinterOptions, StockCard } from './sim-printer/index.js';
export { ManualMover, PcscReaderEvents, ScriptedReaderEvents } from './manual.js';
export type { ManualMoverOptions, ReaderEvents, WaitFor } from './manual.js';
export { PcscEncoder, SimCardEncoder } from './encoders.js';
export type { PcscEncoderOptions } from './encoders.js';
