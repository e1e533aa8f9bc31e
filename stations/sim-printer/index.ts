// The simulated printer: the machine (machine.ts), its faults and latencies (faults.ts), the
// output it keeps on disk (output.ts), its TCP server (server.ts) and the card stock it feeds
// from (stock.ts, injected).
export { checkFaults, FAULT_KINDS } from './faults.js';
export type { FaultKind, FaultSpec, PrinterLatency } from './faults.js';
export { SimulatedPrinter } from './machine.js';
export type { PrintedFace, SimulatedPrinterOptions } from './machine.js';
export { HOPPER_DIR, PRINTERS_DIR, readSimOutput, REJECT_BIN_DIR, SIM_OUTPUT_DIR } from './output.js';
export type { KeptCard, SimOutput } from './output.js';
export { SimulatedPrinterServer } from './server.js';
export type { CardStock, FedCard, StockCard } from './stock.js';
