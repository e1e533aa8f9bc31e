// prep's compiled script templates and its card builder threads: a template-built line is the
// line built step by step; the batch folder is byte for byte the same whatever the number of
// builder threads; an error raised in a builder thread fails prep as it does inline.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readBatch } from '../../personalization/batch/check.js';
import { CardMaker, type CardLine, type PrepPlan } from '../../personalization/prep/card.js';
import { prepBatch } from '../../personalization/prep/index.js';
import { BLOBS_FILE } from '../../personalization/blobs.js';
import { loadProfile } from './fixtures/profile-helpers.js';
import { gb11643Check } from '../../profiles/index.js';
import { makeStore } from './fixtures/store.js';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const TODAY = '20260115';
const CREATED = '2026-01-15T09:00:00.000Z';

/** The examples' records, or `n` generated ones (distinct ID numbers) naming the examples' photos in turn. */
function sscardBatch(dir: string, n?: number): string {
  mkdirSync(join(dir, 'photos'), { recursive: true });
  const photos = readdirSync(join(EXAMPLES, 'photos')).sort();
  for (const f of photos) copyFileSync(join(EXAMPLES, 'photos', f), join(dir, 'photos', f));
  const examples = readFileSync(join(EXAMPLES, 'sscard-gen3-batch.csv'), 'utf8');
  const path = join(dir, `batch-${n ?? 'examples'}.csv`);
  if (n === undefined) {
    writeFileSync(path, examples);
    return path;
  }
  const rows = ['ssn,name,nameExtension,sex,ethnicity,birthplace,birthDate,photo'];
  for (let i = 0; i < n; i++) {
    const birth = new Date(Date.UTC(1960, 0, 1) + i * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
    const body = `110105${birth}${String(i % 1000).padStart(3, '0')}`;
    rows.push(`${body}${gb11643Check(body)},张伟,,${Number(body[16]) % 2 === 1 ? '1' : '2'},01,110105,${birth},photos/${photos[i % photos.length]}`);
  }
  writeFileSync(path, rows.join('\n') + '\n');
  return path;
}

/** A built line as text, and the hashes of the blobs it leaves to the writer. */
function text(l: CardLine): { json: string; blobs: string } {
  return 'bytes' in l ? { json: Buffer.from(l.bytes).toString('utf8').trimEnd(), blobs: '' } : { json: l.json, blobs: l.blobs.map((x) => x.sha256).join() };
}

/** The plan prep makes, for a store whose keys are all exportable (the test store). */
async function planOf(profileName: string, input: string, store: Awaited<ReturnType<typeof makeStore>>['store']): Promise<PrepPlan> {
  const profile = loadProfile(profileName);
  const versions: [string, number][] = [];
  for (const ref of Object.values(profile.keyStore)) versions.push([ref.label, (await store.info({ label: ref.label })).version]);
  const seal = await store.info({ label: 'batch-transport' });
  const tInfo = await store.info({ label: profile.transport.key.label });
  const { components } = await store.exportComponents({ label: tInfo.label, version: tInfo.version }, 2);
  const value = components[0]!.map((b, i) => b ^ components[1]![i]!);
  return {
    profile,
    today: TODAY,
    first: { card: 1 },
    sealKey: { label: seal.label, version: seal.version },
    transport: { value, alg: tInfo.alg as 'des3', kcv: tInfo.kcv },
    versions,
    pinKey: new Uint8Array(32).fill(7),
    idKey: new Uint8Array(32).fill(9),
    inputDir: join(input, '..'),
    numbered: profile.values.some((v) => v.name === 'cardNumber'),
  };
}

for (const [name, batchFile] of [
  ['builtin:sscard-gen3', undefined],
  ['builtin:gp-cps', 'gp-cps-batch.jsonl'],
] as const) {
  t.test(`${name}: the compiled template builds each line exactly as building every step per card does`, async (t) => {
    const { store, dir } = await makeStore();
    t.teardown(() => store.close());
    const input = batchFile ? join(dir, batchFile) : sscardBatch(dir);
    if (batchFile) copyFileSync(join(EXAMPLES, batchFile), input);
    const plan = await planOf(name, input, store);
    const compiled = new CardMaker(plan, store);
    const reference = new CardMaker(plan, store, true);
    let n = 0;
    const differ: number[] = [];
    const notCanonical: number[] = [];
    for await (const item of readBatch(plan.profile, input, { today: TODAY })) {
      if (!item.ok) continue;
      const job = { line: item.line, index: n++, record: item.record, issuance: {} };
      const a = text(await compiled.make(job));
      const b = text(await reference.make(job));
      if (a.json !== b.json || a.blobs !== b.blobs) differ.push(item.line);
      if (a.json !== JSON.stringify(JSON.parse(a.json))) notCanonical.push(item.line);
    }
    t.ok(n >= 4, `${n} cards compared`);
    t.same(differ, [], 'every compiled line and its blobs equal the reference built step by step');
    t.same(notCanonical, [], 'every line is the JSON of its script as JSON.stringify writes it');
  });
}

t.test('the batch folder is byte for byte the same with 0, 1, 2 and 4 card builder threads', async (t) => {
  const { store, dir } = await makeStore();
  t.teardown(() => store.close());
  const profile = loadProfile('builtin:sscard-gen3');
  // Several chunks per thread, so the order in which they come back matters.
  const input = sscardBatch(dir, 300);
  const files = ['manifest.json', 'cards.jsonl', 'cards.sha256', BLOBS_FILE];
  const outputs: Record<string, Buffer[]> = {};
  for (const workers of [0, 1, 2, 4]) {
    const out = join(dir, `out-${workers}`);
    const r = await prepBatch({ profile, profileFile: 'builtin:sscard-gen3', input, store, out, seed: 5, createdAt: CREATED, today: TODAY, workers, skipInvalid: true });
    t.ok(r.ok, `${workers} threads: prepared ${r.manifest?.cards} cards`);
    outputs[workers] = files.map((f) => readFileSync(join(out, f)));
  }
  for (const workers of [1, 2, 4]) {
    files.forEach((f, i) => t.ok(outputs[workers]![i]!.equals(outputs[0]![i]!), `${workers} threads: ${f} is identical to the inline one`));
  }
  const lines = outputs[0]![1]!.toString('utf8').trimEnd().split('\n');
  t.ok(lines.length > 100, `${lines.length} cards`);
  // Each photo is in the pack once, and no line carries it in hex.
  const photo = readFileSync(join(EXAMPLES, 'photos', '0001.jpg')).toString('hex').toUpperCase();
  t.notOk(lines.some((l) => l.toUpperCase().includes(photo.slice(0, 512))), 'no line carries a photo in hex');
  const pack = outputs[0]![3]!;
  const photos = readdirSync(join(EXAMPLES, 'photos')).map((f) => readFileSync(join(EXAMPLES, 'photos', f)));
  const used = photos.filter((p) => pack.includes(p));
  t.equal(pack.length, used.reduce((n, p) => n + p.length, 0), `the pack holds each of the ${used.length} photos the batch names once (${pack.length} bytes)`);
});

t.test('an error in a card builder thread fails prep with the same message and kind as inline', async (t) => {
  const { store, dir } = await makeStore();
  t.teardown(() => store.close());
  const profile = loadProfile('builtin:sscard-gen3');
  const input = sscardBatch(dir);
  // The card number has 8 digits: the second card's serial does not fit.
  const fail = async (workers: number) => {
    try {
      await prepBatch({ profile, profileFile: 'builtin:sscard-gen3', input, store, out: join(dir, `fail-${workers}`), createdAt: CREATED, today: TODAY, workers, serialStart: 99_999_999, skipInvalid: true });
    } catch (e) {
      return e as Error & { kind?: string };
    }
    return undefined;
  };
  const inline = await fail(0);
  const threaded = await fail(2);
  t.ok(inline, `inline: ${inline?.message}`);
  t.equal(threaded?.message, inline?.message, 'the same message from a thread');
  t.equal(threaded?.name, inline?.name, `the same error name (${inline?.name})`);
  t.equal(threaded?.kind, inline?.kind, `the same kind (${String(inline?.kind)})`);
});
