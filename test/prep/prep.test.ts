// Batch folder properties: determinism, no secret in clear, invalid batches, the CLI.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { concat, toHex, xor } from '../../bytes/index.js';
import { BatchFaces, type ScriptFace } from '../../faces/index.js';
import { prepBatch } from '../../personalization/prep/index.js';
import { loadBatch, withPhotos } from '../../personalization/runner/run.js';
import { parseCardScript, type CardScript, type Step } from '../../personalization/script.js';
import { loadProfile, optionA } from './fixtures/profile-helpers.js';
import { makeStore, PASS } from './fixtures/store.js';
import { cli } from '../helpers/cli.js';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const CREATED = '2026-01-15T09:00:00.000Z';
const TODAY = '20260115';

function batch(dir: string, n: number, extra: string[] = []): string {
  const lines = readFileSync(join(EXAMPLES, 'sscard-gen3-batch.csv'), 'utf8').trimEnd().split('\n').slice(0, n + 1);
  mkdirSync(join(dir, 'photos'), { recursive: true });
  for (const f of readdirSync(join(EXAMPLES, 'photos'))) copyFileSync(join(EXAMPLES, 'photos', f), join(dir, 'photos', f));
  const path = join(dir, `batch-${n}-${extra.length}.csv`);
  writeFileSync(path, [...lines, ...extra].join('\n') + '\n');
  return path;
}

const scriptsOf = (out: string): CardScript[] =>
  readFileSync(join(out, 'cards.jsonl'), 'utf8').trimEnd().split('\n').map((l, i) => parseCardScript(l, `${i + 1}`));

function sealedValues(s: CardScript): string[] {
  const found: string[] = [];
  JSON.stringify(s, (k, v: unknown) => {
    if (k === 'sealed' && typeof v === 'string') found.push(v);
    return v;
  });
  return found;
}

t.test('same inputs + seed: the same folder, byte for byte (sealed blobs included)', async (t) => {
  const { store, dir } = await makeStore();
  t.teardown(() => store.close());
  const profile = loadProfile('builtin:sscard-gen3');
  const input = batch(dir, 8);
  const run = (out: string, seed: number) => prepBatch({ profile, profileFile: 'builtin:sscard-gen3', input, store, out: join(dir, out), seed, createdAt: CREATED, today: TODAY });
  await run('a', 42);
  await run('b', 42);
  await run('c', 43);
  t.equal(readFileSync(join(dir, 'a', 'manifest.json'), 'utf8'), readFileSync(join(dir, 'b', 'manifest.json'), 'utf8'), 'manifest byte-identical');
  t.ok(readFileSync(join(dir, 'a', 'cards.jsonl')).equals(readFileSync(join(dir, 'b', 'cards.jsonl'))), 'cards.jsonl byte-identical (SIV-style nonces)');
  t.ok(readFileSync(join(dir, 'a', 'manifest.json')).equals(readFileSync(join(dir, 'b', 'manifest.json'))), 'manifest.json byte-identical');
  t.ok(readFileSync(join(dir, 'a', 'blobs.pack')).equals(readFileSync(join(dir, 'b', 'blobs.pack'))), 'blobs.pack byte-identical');
  // Nonces never repeat across different sealed values: equal IV ⇒ equal blob.
  const byIv = new Map<string, string>();
  for (const s of scriptsOf(join(dir, 'a'))) {
    for (const v of sealedValues(s)) {
      const iv = Buffer.from(v, 'base64').subarray(1, 13).toString('hex');
      const seen = byIv.get(iv);
      if (seen !== undefined && seen !== v) t.fail(`nonce ${iv} reused for a different sealed value`);
      byIv.set(iv, v);
    }
  }
  t.ok(byIv.size > 8, `${byIv.size} distinct nonces, none reused for another value`);
  const open = async (out: string) => {
    const res: string[] = [];
    for (const s of scriptsOf(join(dir, out))) for (const v of sealedValues(s)) res.push(toHex(await store.unseal({ label: 'batch-transport' }, Buffer.from(v, 'base64'), new TextEncoder().encode(s.recordId))));
    return res;
  };
  t.same(await open('a'), await open('b'), 'the sealed secrets are the same');
  t.not((await open('a')).join(), (await open('c')).join(), 'another seed, other PINs');
  // Card numbers: consecutive serials, no gaps.
  const numbers = scriptsOf(join(dir, 'a')).map((s) => {
    const st = s.steps.find((x: Step) => x.op === 'apdu' && x.note === 'append SSSE/EF05/cardNumber');
    return st && st.op === 'apdu' ? Buffer.from(st.apdu.slice(14), 'hex').toString('latin1') : '';
  });
  t.same(numbers.map((n) => n.slice(1, 8)), ['0000001', '0000002', '0000003', '0000004', '0000005', '0000006', '0000007', '0000008']);
  const m = JSON.parse(readFileSync(join(dir, 'a', 'manifest.json'), 'utf8')) as { keys: { label: string; kcv: string }[]; transportKey: { label: string }; createdAt: string; cards: number };
  t.equal(m.createdAt, CREATED);
  t.equal(m.cards, 8);
  t.equal(m.transportKey.label, 'batch-transport');
  t.ok(m.keys.some((k) => k.label === 'ss3-des-mf-mk' && /^[0-9A-F]{6}$/.test(k.kcv)));
});

t.test('no secret in clear anywhere in the folder (canaries: hex upper/lower, base64)', async (t) => {
  const { store, dir } = await makeStore();
  t.teardown(() => store.close());
  const canaries: Uint8Array[] = [];
  for (const k of await store.list()) {
    if (k.alg === 'sm2') continue;
    const ex = await store.exportComponents({ label: k.label }, 2);
    canaries.push(xor(ex.components[0]!, ex.components[1]!));
  }
  for (const [name, input] of [
    ['builtin:sscard-gen3', batch(dir, 5)],
    ['builtin:gp-cps', join(EXAMPLES, 'gp-cps-batch.jsonl')],
  ] as const) {
    const out = join(dir, name.replace(/\W/g, '-'));
    await prepBatch({ profile: loadProfile(name), profileFile: name, input, store, out, seed: 1, createdAt: CREATED, today: TODAY });
    for (const s of scriptsOf(out)) {
      for (const v of sealedValues(s)) {
        const secret = await store.unseal({ label: 'batch-transport' }, Buffer.from(v, 'base64'), new TextEncoder().encode(s.recordId));
        canaries.push(secret);
        if (secret.length > 5 && secret[0] === 0x0a) canaries.push(secret.subarray(5)); // PIN block → BCD PIN
        for (let i = 0; i + 16 <= secret.length && secret.length >= 32; i += 16) canaries.push(secret.subarray(i, i + 16)); // each key of a key DGI
      }
    }
    if (name === 'builtin:gp-cps') {
      for (const line of readFileSync(input, 'utf8').trimEnd().split('\n')) {
        const pan = (JSON.parse(line) as { pan: string }).pan;
        for (const label of ['gp-imk-ac', 'gp-imk-smi', 'gp-imk-smc']) canaries.push((await store.deriveCardKey({ label }, { method: 'emv-option-a', data: optionA(pan, '01') })).value);
      }
    }
    for (const f of readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(out, f)).isFile())) {
      const text = readFileSync(join(out, f), 'utf8');
      for (const c of canaries) {
        const forms = [toHex(c), toHex(c).toLowerCase(), Buffer.from(c).toString('base64')];
        if (c.length < 4) continue;
        for (const form of forms) if (text.includes(form)) t.fail(`${name} ${f}: a secret in clear (${form.length} chars)`);
      }
    }
  }
  t.ok(canaries.length > 20, `${canaries.length} canaries checked`);
});

t.test('invalid batch: rejects report only; --skip-invalid: good records + rejects.csv', async (t) => {
  const { store, dir } = await makeStore();
  t.teardown(() => store.close());
  const profile = loadProfile('builtin:sscard-gen3');
  const input = batch(dir, 3, ['110105198503120216,李四,,1,01,110105,1985-03-12,photos/0004.jpg']);
  const out = join(dir, 'bad');
  const r = await prepBatch({ profile, profileFile: 'p', input, store, out, createdAt: CREATED, today: TODAY });
  t.notOk(r.ok);
  t.equal(r.rejects[0]?.line, 5);
  t.same(readdirSync(out).sort(), ['rejects.csv'], 'nothing but the rejects report');
  t.match(readFileSync(join(out, 'rejects.csv'), 'utf8'), /^line,column,field,code,problem,hint,masked\n5,1,ssn,/);
  const out2 = join(dir, 'skip');
  const r2 = await prepBatch({ profile, profileFile: 'p', input, store, out: out2, skipInvalid: true, createdAt: CREATED, today: TODAY });
  t.ok(r2.ok);
  t.equal(r2.manifest?.cards, 3);
  t.equal(r2.manifest?.input.rejected, 1);
  t.same(readdirSync(out2).sort(), ['blobs.pack', 'cards.jsonl', 'cards.sha256', 'manifest.json', 'rejects.csv'], 'the good records, their photos (blobs.pack), the rejects');
  // The batch folder keeps the photos the cards' faces name, byte for byte, each once, and only those.
  const batch2 = loadBatch(out2);
  const pack = batch2.blobs!;
  t.ok(pack, 'blobs.pack is listed in the manifest');
  t.teardown(() => pack.close());
  t.same(batch2.manifest.files.inputFiles, [], 'no input-files/ copies');
  const faces = [...batch2.scripts.values()].map((s) => s.face!);
  const photos = faces.map((f) => f.fields.find((x) => x.kind === 'photo')!);
  t.equal(photos.length, 3);
  const distinct = new Map(photos.map((p) => [p.value, readFileSync(join(dir, p.value)).length]));
  t.equal(distinct.size, 3, 'three photo files');
  t.equal(statSync(join(out2, 'blobs.pack')).size, [...distinct.values()].reduce((a, b) => a + b, 0), 'blobs.pack holds those photos once each, nothing else');
  for (const p of photos) {
    t.ok(p.blob, `${p.value}: the face names its blob`);
    t.same(pack.read(p.blob!), new Uint8Array(readFileSync(join(dir, p.value))), `${p.value} in blobs.pack as it is`);
  }
  // A face prints from the pack alone: the same PNG as from the photo files.
  const warnings: string[] = [];
  const fromPack = new BatchFaces({ fonts: [], photoDirs: [], warn: (w) => warnings.push(w) });
  const fromFiles = new BatchFaces({ fonts: [], photoDirs: [dir], warn: (w) => warnings.push(w) });
  const strip = (f: NonNullable<CardScript['face']>): ScriptFace => ({ ...f, fields: f.fields.map(({ blob: _b, ...x }) => x) });
  for (const [i, f] of faces.entries()) {
    t.same(fromPack.render(`r${i}`, withPhotos(f, pack)).png, fromFiles.render(`r${i}`, strip(f)).png, `face ${i + 1}: printed from blobs.pack, as from the photo file`);
  }
  t.notMatch(warnings.join('\n'), /photo/i, 'no photo missing or unreadable');
});

t.test('CLI: exit codes, --json, --help', async (t) => {
  const { store, dir, path } = await makeStore();
  await store.close();
  const env = { CARDSMITH_KEYSTORE_PASS: new TextDecoder().decode(PASS) };
  const ok = await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', batch(dir, 2), '--keystore', path, '--out', join(dir, 'cli'), '--json', '--created-at', CREATED], { env });
  t.equal(ok.code, 0, ok.err);
  t.match(JSON.parse(ok.out), { ok: true, cards: 2 });
  const bad = await cli(['prep', '--profile', 'builtin:sscard-gen3', '--input', batch(dir, 1, ['x,y']), '--keystore', path, '--out', join(dir, 'cli-bad')], { env });
  t.equal(bad.code, 2);
  t.match(bad.err, /:3:1: .*has 2 fields/);
  t.notMatch(bad.err, /at .*\.ts:\d+/, 'no stack trace');
  const noProfile = await cli(['prep', '--profile', join(dir, 'nope.yaml'), '--input', 'x.csv', '--keystore', path, '--out', join(dir, 'x')], { env });
  t.equal(noProfile.code, 2);
});
