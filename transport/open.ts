// openTransport(spec): the one way commands get a Transport from a `--reader` value — the
// in-process simulator for `sim…` specs, a PC/SC reader for anything else (see spec.ts).
import { PcscTransport, ReaderSpecError, type PcscOptions } from './pcsc.js';
import { requireSimCards, type SimCardFactory } from './sim-cards.js';
import { SimulatorTransport } from './simulator.js';
import { parseReaderSpec } from './spec.js';
import type { Transport } from './transport.js';

export interface OpenOptions extends PcscOptions {
  /** Makes simulated cards for `sim…` specs (the simulator's simCards); required for them. */
  simCards?: SimCardFactory;
}

export async function openTransport(spec: string, options: OpenOptions = {}): Promise<Transport> {
  const parsed = parseReaderSpec(spec);
  if (parsed.type === 'pcsc') return PcscTransport.open(parsed.reader, options);
  const { sim } = parsed;
  if (sim.kind === 'gp' && sim.t0) throw new ReaderSpecError('sim:gp: the GlobalPlatform card simulator speaks T=1 only (drop t0)');
  const factory = requireSimCards(options.simCards, `openTransport("${spec}")`);
  const card = await factory.create(sim);
  const state = sim.state;
  return new SimulatorTransport(card, {
    interface: sim.interface,
    name: spec,
    ...(options.maxGetResponses !== undefined ? { maxGetResponses: options.maxGetResponses } : {}),
    ...(options.maxLeRepeats !== undefined ? { maxLeRepeats: options.maxLeRepeats } : {}),
    ...(state !== undefined ? { onClose: (c) => factory.save(c, state) } : {}),
  });
}
