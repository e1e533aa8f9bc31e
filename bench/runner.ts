// Runner bench (issue 7): per-APDU overhead of the executor against a raw transport loop on the same
// card — in-process (simulator) and through PC/SC (pcscd + vpcd, a card served by `cardsmith sim
// serve` as a child process; skipped with the reason when the stack is down or dist/ is not built;
// the PC/SC test lock of test/helpers/pcsc.ts is held meanwhile) — and batch throughput with 1, 4
// and 16 simulated printer stations at 1 ms per APDU, as a ratio to ideal linear scaling.
// Run: node --import @tapjs/typescript/import bench/runner.ts   (scripts/pcsc-stack.sh start for the PC/SC part)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fromHex } from '../bytes/index.js';
import { executeScript } from '../personalization/runner/executor.js';
import { loadBatch, runBatch } from '../personalization/runner/run.js';
import { SCRIPT_FORMAT, type CardScript } from '../personalization/script.js';
import { SimulatorTransport } from '../readers/simulator.js';
import { PcscTransport } from '../readers/pcsc.js';
import type { Transport } from '../readers/transport.js';
import { binSkipReason, lockStack, READER0, readerState, serve, stackSkipReason } from '../test/helpers/pcsc.js';
import type { Test } from 'tap';
import { openStations, simulatedStations } from '../readers/stations/index.js';
import { createSsCard } from '../simulator/index.js';
import { makeKeyStore, makeScripts, TRANSPORT_KEY, writeBatch } from '../test/runner/helpers.js';

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
  /** Best of `rounds`: µs per APDU of a raw transmit loop and of the executor running the same APDUs. */
  const overhead = async (t: Transport, n: number, rounds: number): Promise<{ rawUs: number; execUs: number }> => {
    const sc: CardScript = { ...script, steps: script.steps.slice(0, n) };
    let rawUs = Infinity;
    let execUs = Infinity;
    for (let i = 0; i < n; i++) await t.transmit(raw); // warm-up (JIT, the PC/SC connection)
    for (let round = 0; round < rounds; round++) {
      let t1 = performance.now();
      for (let i = 0; i < n; i++) await t.transmit(raw);
      rawUs = Math.min(rawUs, ((performance.now() - t1) * 1000) / n);
      t1 = performance.now();
      await executeScript(t, sc, { provider: store, transportKey: TRANSPORT_KEY });
      execUs = Math.min(execUs, ((performance.now() - t1) * 1000) / n);
    }
    return { rawUs, execUs };
  };
  const line = (where: string, r: { rawUs: number; execUs: number }) =>
    console.log(`per-APDU, ${where}: raw transport ${r.rawUs.toFixed(1)} µs, executor ${r.execUs.toFixed(1)} µs, overhead ${(r.execUs - r.rawUs).toFixed(1)} µs (${(r.execUs / r.rawUs).toFixed(2)}×)`);
  line('in-process simulator', await overhead(tr, N, 5));

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
        line(`PC/SC (pcscd + vpcd, ${READER0}; differences of a few µs are within its jitter)`, await overhead(pc, 500, 5));
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
  for (const n of [1, 4, 16]) {
    const dir = join(root, `batch-${n}`);
    const cards = scripts.slice(0, n === 1 ? 24 : n === 4 ? 96 : 192);
    writeBatch(dir, cards);
    const opened = openStations(simulatedStations(n, { latency: { apduMs: 1 } }));
    t0 = performance.now();
    const res = await runBatch(loadBatch(dir), { provider: store, stations: opened.stations });
    const s = (performance.now() - t0) / 1000;
    await opened.close();
    rates[n] = res.counts.issued / s;
    console.log(`${String(n).padStart(2)} station(s): ${res.counts.issued} cards in ${s.toFixed(2)} s = ${(rates[n] * 3600).toFixed(0)} cards/h, scaling ${(rates[n] / rates[1]! / n).toFixed(2)} of ideal linear`);
  }
} finally {
  await store.close();
  rmSync(root, { recursive: true, force: true });
}
