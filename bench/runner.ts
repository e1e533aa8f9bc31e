// Runner bench (issue 7): per-APDU overhead of the executor against a raw transport loop on the same
// simulated card (in-process), and batch throughput with 1, 4 and 16 simulated printer stations at
// 1 ms per APDU, as a ratio to ideal linear scaling. Run: node --import @tapjs/typescript/import bench/runner.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fromHex } from '../bytes/index.js';
import { executeScript } from '../personalization/runner/executor.js';
import { loadBatch, runBatch } from '../personalization/runner/run.js';
import { SCRIPT_FORMAT, type CardScript } from '../personalization/script.js';
import { SimulatorTransport } from '../readers/simulator.js';
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
  let rawUs = Infinity;
  let execUs = Infinity;
  let t0: number;
  for (let round = 0; round < 5; round++) {
    t0 = performance.now();
    for (let i = 0; i < N; i++) await tr.transmit(raw);
    rawUs = Math.min(rawUs, ((performance.now() - t0) * 1000) / N);
    t0 = performance.now();
    await executeScript(tr, script, { provider: store, transportKey: TRANSPORT_KEY });
    execUs = Math.min(execUs, ((performance.now() - t0) * 1000) / N);
  }
  console.log(`per-APDU, in-process simulator: raw transport ${rawUs.toFixed(1)} µs, executor ${execUs.toFixed(1)} µs, overhead ${(execUs - rawUs).toFixed(1)} µs (${(execUs / rawUs).toFixed(2)}×)`);
  console.log('per-APDU over PC/SC: not measured (needs pcscd + vpcd; not built in this bench)');

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
