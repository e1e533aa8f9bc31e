// Runner bench: per-APDU overhead of the executor against a raw transport loop on the same
// card — in-process (simulator) and through PC/SC (pcscd + vpcd, a card served by `cardsmith sim
// serve` as a child process; skipped with the reason when the stack is down or dist/ is not built;
// the PC/SC test lock of test/helpers/pcsc.ts is held meanwhile) — and batch throughput with 1, 4
// and 16 simulated printer stations at 1 ms per APDU, as a ratio to ideal linear scaling.
// The two sides of each per-APDU comparison run in interleaved rounds (raw, executor, executor,
// raw, …: bench/measure.ts measurePairAsync); the figures are the medians per side, the ratio of
// the medians and the spread (min–max) of the per-round ratios, so a difference smaller than that
// spread is noise. The scaling runs leave the simulated printers' kept output (DIR/sim-output,
// written synchronously by the printers in the runner's process) off; one more 16-station run
// with it on shows what it costs `cardsmith run --sim`. Last, what card faces cost one zero-delay
// station, drawn inline or by worker threads (runner-faces.ts).
// Run: npm run bench:runner   (node dist/bench/runner.js; scripts/pcsc-stack.sh start for the PC/SC part)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fromHex } from '../bytes/index.js';
import { executeScript } from '../personalization/runner/executor.js';
import { loadBatch, runBatch } from '../personalization/runner/run.js';
import { IssuanceRegistry } from '../personalization/registry/index.js';
import { SCRIPT_FORMAT, type CardScript } from '../personalization/script.js';
import { SimulatorTransport } from '../transport/simulator.js';
import { PcscTransport } from '../transport/pcsc.js';
import type { Transport } from '../transport/transport.js';
import { measurePairAsync, median, type InterleavedPair } from './measure.js';
import { benchFaces } from './runner-faces.js';
import { binSkipReason, lockStack, READER0, readerState, serve, stackSkipReason } from '../test/helpers/pcsc.js';
import type { Test } from 'tap';
import { openStations, simulatedStations } from '../stations/index.js';
import { createSsCard } from '../simulator/index.js';
import { makeKeyStore, makeScripts, TRANSPORT_KEY, writeBatch } from '../test/runner/helpers.js';
import { simCards, ssCardStock } from '../simulator/index.js';

/** What bin/ injects for simulated stations. */
const SIM = { simCards, simulated: { stock: ssCardStock } };

const root = mkdtempSync(join(tmpdir(), 'cardsmith-bench-runner-'));
const { store } = await makeKeyStore(root);
try {
  // 1. Per-APDU overhead, in-process.
  const N = 5000;
  const cmd = '00A40000023F00';
  const tr = new SimulatorTransport(createSsCard({ seed: 1 }));
  const raw = fromHex(cmd);
  const script: CardScript = { format: SCRIPT_FORMAT, recordId: 'bench', line: 1, interface: 'contact', steps: Array.from({ length: N }, () => ({ op: 'apdu' as const, apdu: cmd })), verify: [] };
  let t0: number;
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
        `ratio of medians ${r.ratio.toFixed(2)}×, per-round ratios ${r.roundRatios.min.toFixed(2)}–${r.roundRatios.max.toFixed(2)}× (median ${r.roundRatios.median.toFixed(2)}×)`,
    );
  line('in-process simulator', await overhead(tr, N, 9));

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

  // 2. Throughput with 1, 4, 16 stations at 1 ms per APDU.
  const scripts = await makeScripts(store, 192, 'b');
  const rates: Record<number, number> = {};
  for (const [n, keep] of [[1, false], [4, false], [16, false], [16, true]] as const) {
    const dir = join(root, `batch-${n}${keep ? '-kept' : ''}`);
    const cards = scripts.slice(0, n === 1 ? 24 : n === 4 ? 96 : 192);
    await writeBatch(dir, cards, store);
    const opened = openStations(simulatedStations(n, { latency: { apduMs: 1 } }), SIM);
    t0 = performance.now();
    const res = await runBatch(loadBatch(dir), { provider: store, stations: opened.stations, keepSimOutput: keep });
    const s = (performance.now() - t0) / 1000;
    await opened.close();
    const rate = res.counts.issued / s;
    if (!keep) rates[n] = rate;
    console.log(
      `${String(n).padStart(2)} station(s)${keep ? ', keeping sim-output' : ''}: ${res.counts.issued} cards in ${s.toFixed(2)} s = ${(rate * 3600).toFixed(0)} cards/h, ` +
        (keep ? `${(rate / rates[n]!).toFixed(2)} of the rate without` : `scaling ${(rate / rates[1]! / n).toFixed(2)} of ideal linear`),
    );
  }

  // 3. What the issuance registry costs: 16 stations at 1 ms per APDU, 192 cards with holders,
  //    with and without the registry, in interleaved rounds (each round its own batch and blank
  //    cards: the registry refuses a chip or holder it knows).
  const withHolders = scripts.map((sc, i) => ({ ...sc, issuance: { holder: i.toString(16).padStart(8, '0') } }));
  const registry = IssuanceRegistry.open(join(root, 'registry.sqlite'));
  const rounds = 5;
  const secs: Record<'plain' | 'registry', number[]> = { plain: [], registry: [] };
  try {
    for (let round = 0; round <= rounds; round++) {
      const order = round % 2 === 0 ? (['plain', 'registry'] as const) : (['registry', 'plain'] as const);
      for (const side of order) {
        const dir = join(root, `reg-${side}-${round}`);
        await writeBatch(dir, withHolders.map((sc) => ({ ...sc, issuance: { holder: `${sc.issuance.holder}${round.toString(16).padStart(2, '0')}${side === 'plain' ? '00' : '01'}` } })), store, { seed: round * 2 + (side === 'plain' ? 0 : 1) });
        const opened = openStations(simulatedStations(16, { latency: { apduMs: 1 }, seed: 1000 * (round * 2 + (side === 'plain' ? 0 : 1)) }), SIM);
        t0 = performance.now();
        const res = await runBatch(loadBatch(dir), { provider: store, stations: opened.stations, keepSimOutput: false, ...(side === 'registry' ? { registry } : {}) });
        const s = (performance.now() - t0) / 1000;
        await opened.close();
        if (res.counts.issued !== withHolders.length) throw new Error(`registry bench: ${side} round ${round} issued ${res.counts.issued} of ${withHolders.length}`);
        if (round > 0) secs[side].push(s); // round 0 warms up
      }
    }
  } finally {
    registry.close();
  }
  const [plain, reg] = [median(secs.plain), median(secs.registry)];
  console.log(
    `issuance registry, 16 stations, ${withHolders.length} cards, ${rounds} interleaved rounds: without ${((withHolders.length / plain) * 3600).toFixed(0)} cards/h (median ${plain.toFixed(2)} s), ` +
      `with ${((withHolders.length / reg) * 3600).toFixed(0)} cards/h (median ${reg.toFixed(2)} s); time ratio with/without ${(reg / plain).toFixed(2)} (rounds ${secs.registry.map((x, i) => (x / secs.plain[i]!).toFixed(2)).join(', ')})`,
  );

  // 4. What card faces cost one zero-delay station: drawn inline or by worker threads (runner-faces.ts).
  await benchFaces(store, root);
} finally {
  await store.close();
  rmSync(root, { recursive: true, force: true });
}
