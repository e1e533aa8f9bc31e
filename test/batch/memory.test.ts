// Batches are read as a stream: checking 200,000 records must not hold them. The test generates a
// 200,000-line CSV (valid, unique citizen IDs), reads it with readBatch, and samples the heap after
// a forced garbage collection every 10,000 records; it compares the first 20,000 records with the
// whole file. No timing is asserted. The duplicate detector keeps 12 bytes per record in typed
// arrays outside the JS heap (about 6 MB at this size) — by design, reported, bounded below.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { readBatch } from '../../personalization/batch/index.js';
import { gb11643Check, loadProfile } from '../../profiles/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const LINES = 200_000;
const REGIONS = ['110105', '310104', '440106', '510104', '330106', '420106', '320102', '370102', '610113', '210102'];
const NAMES = ['张伟', '王芳', '李娜', '刘洋', '陈静', '杨磊', '赵敏', '黄勇', '周杰', '欧阳晓燕'];

async function generate(path: string, n: number): Promise<void> {
  const out = createWriteStream(path);
  out.write('ssn,name,sex,ethnicity,birthplace,birthDate\n');
  const base = Date.UTC(1950, 0, 1);
  for (let i = 0; i < n; i++) {
    const region = REGIONS[i % 10]!;
    const date = new Date(base + Math.floor(i / 1000) * 3 * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
    const seq = String(i % 1000).padStart(3, '0');
    const s17 = region + date + seq;
    const sex = (i % 1000) % 2 === 1 ? '1' : '2';
    if (!out.write(`${s17}${gb11643Check(s17)},${NAMES[i % 10]},${sex},01,${region},${date}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

t.test(`${LINES} records: constant heap while streaming`, async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'big.csv');
  await generate(file, LINES);
  const profile = loadProfile(fileURLToPath(new URL('../profiles/fixtures/sscard-no-photo.yaml', import.meta.url)));
  const samples: { records: number; heap: number; buffers: number }[] = [];
  let valid = 0;
  let records = 0;
  for await (const item of readBatch(profile, file, { today: '20240115' })) {
    records++;
    if (item.ok) valid++;
    if (records % 10_000 === 0) {
      gc();
      const m = process.memoryUsage();
      samples.push({ records, heap: m.heapUsed, buffers: m.arrayBuffers });
    }
  }
  t.equal(records, LINES);
  t.equal(valid, LINES, 'every generated record is valid and unique');
  const at20k = samples.find((s) => s.records === 20_000)!;
  const peak = Math.max(...samples.map((s) => s.heap));
  const growth = peak - at20k.heap;
  const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
  t.comment(`heap after GC: ${mb(at20k.heap)} at 20k records, peak ${mb(peak)} over ${LINES}; digest table ${mb(samples.at(-1)!.buffers - at20k.buffers)} more outside the heap`);
  // 10× the records: a reader that kept records (≥100 bytes each) would grow by ≥18 MB here.
  t.ok(growth < 8 * 1048576, `heap grows by ${mb(growth)} from 20k to ${LINES} records (< 8 MB)`);
  t.ok(samples.at(-1)!.buffers - at20k.buffers < 16 * 1048576, 'the digest table stays within 12 bytes × 2 per record');
});
