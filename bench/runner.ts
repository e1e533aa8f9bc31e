// Runner bench: per-APDU overhead of the executor against a raw transport loop on the same
// card — in-process (simulator) and through PC/SC (pcscd + vpcd, a card served by `cardsmith sim
// serve` as a child process; skipped with the reason when the stack is down or dist/ is not built;
// the PC/SC test lock of test/helpers/pcsc.ts is held meanwhile). The two sides run in interleaved
// rounds (raw, executor, executor, raw, …: bench/measure.ts measurePairAsync); the figures are the
// medians per side, the ratio of the medians and the spread (min–max) of the per-round ratios, so
// a difference smaller than that spread is noise.
// Then the runner on a batch of builtin:sscard-gen3 with faces and sim-output on (runner-profile.ts):
// one zero-delay station per card against the same APDUs sent to the card directly (goal ≤ 1.5×
// plus the fsyncs), and 1, 2, 4, 8, 16 stations at zero delay (goal ≥ 0.9·N up to the cores) and at
// the pace of a desktop colour card printer of the Evolis Primacy 2 class (assumed: 225 cards/h
// single-sided, 16 s a card; goal ≥ 0.9·N up to 16). Last, what card faces cost one zero-delay station, drawn inline or by worker threads
// (runner-faces.ts). Every measure prints its ratio and PASS/FAIL against its goal.
// Run: npm run bench:runner   (node dist/bench/runner.js; scripts/pcsc-stack.sh start for the PC/SC part)
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { join } from 'node:path';
import { fromHex } from '../bytes/index.js';
import { executeScript } from '../personalization/runner/executor.js';
import { SCRIPT_FORMAT, type CardScript } from '../personalization/script.js';
import { SimulatorTransport } from '../transport/simulator.js';
import { PcscTransport } from '../transport/pcsc.js';
import type { Transport } from '../transport/transport.js';
import { measurePairAsync, type InterleavedPair } from './measure.js';
import { benchPerCard, benchScaling, prepProfileBatch, PRINTER, PRINTER_SCALE } from './runner-profile.js';
import { benchFaces } from './runner-faces.js';
import { binSkipReason, lockStack, READER0, readerState, serve, stackSkipReason } from '../test/helpers/pcsc.js';
import type { Test } from 'tap';
import { createSsCard } from '../simulator/index.js';
import { makeKeyStore, TRANSPORT_KEY } from '../test/runner/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'cardsmith-bench-runner-'));
const { store } = await makeKeyStore(root);
/** Bytes allocated on the JS heap while `fn` runs: the heap's growth between collections, summed. */
async function allocated(fn: () => Promise<unknown>): Promise<number> {
  const profiler = new GCProfiler();
  const start = getHeapStatistics().used_heap_size;
  profiler.start();
  await fn();
  const end = getHeapStatistics().used_heap_size;
  let bytes = 0;
  let from = start;
  for (const gc of profiler.stop()?.statistics ?? []) {
    bytes += gc.beforeGC.heapStatistics.usedHeapSize - from;
    from = gc.afterGC.heapStatistics.usedHeapSize;
  }
  return bytes + end - from;
}

console.log(`bench:runner on ${availableParallelism()} cores, Node.js ${process.version}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the start`);
try {
  // 1. Per-APDU overhead, in-process.
  const N = 5000;
  const cmd = '00A40000023F00';
  const tr = new SimulatorTransport(createSsCard({ seed: 1 }));
  const raw = fromHex(cmd);
  const script: CardScript = { format: SCRIPT_FORMAT, recordId: 'bench', line: 1, interface: 'contact', steps: Array.from({ length: N }, () => ({ op: 'apdu' as const, apdu: cmd })), verify: [] };
  /** µs per APDU of a raw transmit loop and of the executor running the same APDUs, in interleaved rounds on one card. */
  const overhead = (t: Transport, n: number, rounds: number): Promise<InterleavedPair> => {
    const sc: CardScript = { ...script, steps: script.steps.slice(0, n) };
    return measurePairAsync(
      [
        'raw transport',
        async () => {
          for (let i = 0; i < n; i++) await t.transmit(raw);
        },
      ],
      ['executor', () => executeScript(t, sc, { provider: store, transportKey: TRANSPORT_KEY })],
      { ops: n, rounds },
    );
  };
  const us = (ns: number) => (ns / 1000).toFixed(1);
  const line = (where: string, r: InterleavedPair) =>
    console.log(
      `per-APDU, ${where}, ${r.a.samples.length} interleaved rounds: raw transport median ${us(r.a.median)} µs (rounds ${us(r.a.min)}–${us(r.a.max)}), ` +
        `executor median ${us(r.b.median)} µs (rounds ${us(r.b.min)}–${us(r.b.max)}), overhead ${us(r.b.median - r.a.median)} µs; ` +
        `ratio of medians ${r.ratio.toFixed(2)}×, per-round ratios ${r.roundRatios.min.toFixed(2)}–${r.roundRatios.max.toFixed(2)}× (median ${r.roundRatios.median.toFixed(2)}×); no numeric goal (the issue asks for no avoidable allocation)`,
    );
  line('in-process simulator', await overhead(tr, N, 9));
  // What each APDU leaves for the garbage collector (a count, not a time: the load does not change it).
  const perApdu = async (fn: () => Promise<unknown>) => (await allocated(fn)) / N;
  const rawBytes = await perApdu(async () => {
    for (let i = 0; i < N; i++) await tr.transmit(raw);
  });
  const execBytes = await perApdu(() => executeScript(tr, script, { provider: store, transportKey: TRANSPORT_KEY }));
  console.log(`JS heap allocated per APDU, in-process simulator: raw transport (the card's answer included) ${rawBytes.toFixed(0)} bytes, executor ${execBytes.toFixed(0)} bytes: ${(execBytes - rawBytes).toFixed(0)} bytes by the executor`);

  // 1b. The same through pcscd + vpcd on a served card.
  const skip = (await stackSkipReason()) || binSkipReason();
  if (skip) console.log(`per-APDU over PC/SC: skipped (${skip})`);
  else {
    // test/helpers/pcsc.ts wants a tap Test for its teardowns; run them ourselves, last first.
    const teardowns: (() => unknown)[] = [];
    const t = { teardown: (f: () => unknown) => void teardowns.push(f) } as unknown as Test;
    try {
      await lockStack(t);
      await readerState(READER0, 'empty', 15_000);
      const served = serve(t, ['--seed', '11']);
      await served.waitFor(/connected to vpcd/, 15_000);
      await readerState(READER0, 'present', 15_000);
      const pc = await PcscTransport.open(READER0);
      try {
        line(`PC/SC (pcscd + vpcd, ${READER0})`, await overhead(pc, 500, 9));
      } finally {
        await pc.close();
      }
    } catch (e) {
      console.log(`per-APDU over PC/SC: failed (${(e as Error).message.split('\n')[0]})`);
    } finally {
      for (const f of teardowns.reverse()) await f();
    }
  }

  // 2. The real built-in profile (runner-profile.ts): one zero-delay station per card against the
  //    card's APDUs alone, then 1…16 stations at zero delay and at a printer's timing.
  const batch = await prepProfileBatch(join(root, 'profile'), 2);
  try {
    await benchPerCard(batch, root);
    await benchScaling(batch, root, { what: `zero delay, ${batch.cards} cards a run`, cardsFor: () => batch.cards, goalUpTo: availableParallelism() });
    await benchScaling(batch, root, {
      what: `a Primacy 2-class printer's assumed timing scaled down ${PRINTER_SCALE}× (feed ${PRINTER.feedMs} ms, to the encoder ${PRINTER.moveMs} ms, ${PRINTER.apduMs} ms a command APDU, print ${PRINTER.printMs} ms, eject ${PRINTER.ejectMs} ms), 2 cards a station`,
      latency: PRINTER,
      cardsFor: (n) => 2 * n,
      goalUpTo: 16,
    });
  } finally {
    await batch.store.close();
  }

  // 3. What card faces cost one zero-delay station: drawn inline or by worker threads (runner-faces.ts).
  await benchFaces(store, root);
} finally {
  await store.close();
  rmSync(root, { recursive: true, force: true });
}
