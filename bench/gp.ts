// bench/gp: LOAD of a 32 KiB load file through SCP03 with C-MAC + C-DECRYPTION (security level 03),
// host ↔ the simulated GP card in-process (simulator/gp/). Prints, in one run: time per KiB (median
// of several loads, split into host and card time), and the APDU count against the minimum for that
// size — the LOAD commands a short APDU allows after the channel's overhead, and without any
// secure messaging. Skips with the reason when the simulated GP card is not in this build.
// Run: npx tsc -p tsconfig.json && node dist/bench/gp.js [--json]
import { GP_TEST_KEY } from '../channels/index.js';
import { CapFile, GpSession, loadStream, writeCap } from '../globalplatform/index.js';
import { SimulatorTransport } from '../transport/simulator.js';
import type { CardInterface, SimulatedCard } from '../simulator/card.js';
import { verdictLine } from './measure.js';

interface GpSim {
  createGpCard(options?: { scp?: '02' | '03'; i?: number; seed?: number; memory?: number }): SimulatedCard;
}

const json = process.argv.includes('--json');
const SIZE = 32 * 1024;
const ROUNDS = 9;

function say(text: string): void {
  if (!json) console.log(text);
}

/** Counts the time the card spends in process(), so host time = total − card time. */
class TimedCard implements SimulatedCard {
  readonly kind: string;
  cardNs = 0;
  constructor(readonly inner: SimulatedCard) {
    this.kind = inner.kind;
  }
  powerOn(iface: CardInterface): Uint8Array {
    return this.inner.powerOn(iface);
  }
  powerOff(): void {
    this.inner.powerOff();
  }
  process(command: Uint8Array): Uint8Array {
    const t0 = process.hrtime.bigint();
    const r = this.inner.process(command);
    this.cardNs += Number(process.hrtime.bigint() - t0);
    return r;
  }
}

async function main(): Promise<void> {
  let sim: GpSim;
  try {
    sim = (await import('../simulator/gp/index.js' as string)) as GpSim;
    if (typeof sim.createGpCard !== 'function') throw new Error('simulator/gp/index.js exports no createGpCard');
  } catch (e) {
    const reason = `skipped: no simulated GP card in this build (${(e as Error).message})`;
    console.log(json ? JSON.stringify({ bench: 'gp', skipped: reason }) : `bench/gp ${reason}`);
    return;
  }
  // A package whose load file data block is exactly 32 KiB (the Method component is padded).
  const probe = CapFile.parse(writeCap({ packageAid: Uint8Array.of(0xa0, 0, 0, 0x01, 0x51, 0x42, 0x45, 0x4e, 0x43, 0x48), applets: [{ aid: Uint8Array.of(0xa0, 0, 0, 0x01, 0x51, 0x42, 0x45, 0x4e, 0x43, 0x48, 0x01) }] }));
  const padding = SIZE - probe.codeSize() - 3;
  const cap = CapFile.parse(
    writeCap({ packageAid: probe.packageAid, applets: [{ aid: probe.applets[0]!.aid }], methodPadding: padding }),
  );
  const loadFile = cap.loadFileDataBlock();
  const streamBytes = loadStream(loadFile).length;

  const runs: { totalNs: number; cardNs: number; apdus: number; loadApdus: number; blockSize: number }[] = [];
  for (let r = 0; r < ROUNDS + 1; r++) {
    const card = new TimedCard(sim.createGpCard({ scp: '03', i: 0x70, seed: r, memory: 1024 * 1024 }));
    const transport = new SimulatorTransport(card);
    const session = new GpSession(transport);
    await session.selectSd();
    await session.authenticate({ keys: GP_TEST_KEY, securityLevel: 0x03 });
    const before = transport.apduCount;
    card.cardNs = 0;
    const t0 = process.hrtime.bigint();
    const result = await session.loadCap(cap);
    const totalNs = Number(process.hrtime.bigint() - t0);
    if (r === 0) continue; // warm-up
    runs.push({ totalNs, cardNs: card.cardNs, apdus: transport.apduCount - before, loadApdus: result.blocks, blockSize: result.blockSize });
    await transport.close();
  }
  runs.sort((a, b) => a.totalNs - b.totalNs);
  const median = runs[Math.floor(runs.length / 2)]!;
  const kib = loadFile.length / 1024;
  const minimumLoads = Math.ceil(streamBytes / median.blockSize);
  const minimumClear = Math.ceil(streamBytes / 255);
  const report = {
    bench: 'gp',
    what: 'LOAD of a 32 KiB load file, SCP03 i=70, security level 03 (C-MAC + C-DECRYPTION), in-process simulated card',
    loadFileBytes: loadFile.length,
    loadStreamBytes: streamBytes,
    rounds: runs.length,
    msTotal: median.totalNs / 1e6,
    msPerKiB: median.totalNs / 1e6 / kib,
    hostMsPerKiB: (median.totalNs - median.cardNs) / 1e6 / kib,
    cardMsPerKiB: median.cardNs / 1e6 / kib,
    apdus: median.apdus,
    loadCommands: median.loadApdus,
    blockSize: median.blockSize,
    minimumLoadCommandsAtThisLevel: minimumLoads,
    minimumLoadCommandsWithoutSecureMessaging: minimumClear,
    apdusOverMinimum: median.apdus / minimumLoads,
  };
  if (json) {
    console.log(JSON.stringify(report));
    return;
  }
  say(`bench/gp: ${report.what}`);
  say(`  load file ${loadFile.length} bytes (LOAD stream ${streamBytes} bytes with the C4 header), median of ${runs.length} loads`);
  say(`  time        ${report.msTotal.toFixed(2)} ms = ${report.msPerKiB.toFixed(3)} ms/KiB (host ${report.hostMsPerKiB.toFixed(3)} ms/KiB, card ${report.cardMsPerKiB.toFixed(3)} ms/KiB)`);
  say(`  APDUs       ${report.apdus} (INSTALL [for load] + ${report.loadCommands} LOAD of up to ${report.blockSize} plain bytes)`);
  say(`  minimum     ${minimumLoads} LOAD at ${median.blockSize} plain bytes per short APDU after C-MAC + padding; ${minimumClear} without secure messaging (255 bytes)`);
  say(`  ratio       ${report.apdus}/${minimumLoads} = ${report.apdusOverMinimum.toFixed(3)} (the one extra APDU is INSTALL [for load])`);
  say(verdictLine('LOAD of 32 KiB under SCP03', `${report.apdusOverMinimum.toFixed(3)}× the minimum APDUs, ${report.msPerKiB.toFixed(3)} ms/KiB`, { noGoal: true }));
}

await main();
