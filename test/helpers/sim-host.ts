// What bin/ injects into host code for simulated cards (host code never imports the simulator),
// for tests that open stations, printers, transports and demo key stores the way the CLI does.
import { DEFAULT_TEST_KEY, DEFAULT_TRANSPORT_KEY, simCards, ssCardStock } from '../../simulator/index.js';

export { simCards, ssCardStock };

/** openStations options: simulated printers' card stock and `sim` encoders' cards. */
export const SIM = { simCards, simulated: { stock: ssCardStock } };

/** createDemoKeyStore's blankCardKeys: the blank simulated cards' transport keys. */
export const BLANK_CARD_KEYS = { sscard: DEFAULT_TRANSPORT_KEY, gp: DEFAULT_TEST_KEY };
