// `cardsmith script show|export`: one card's script readably (no secret, ever), and a plain
// script exported in the `apdu --script` format that `apdu --reader sim --script` runs.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { toHex } from '../../bytes/index.js';
import { createDemoKeyStore } from '../../personalization/demo.js';
import { prepBatch } from '../../personalization/prep/index.js';
import { parseCardScript, SCRIPT_FORMAT, type CardScript } from '../../personalization/script.js';
import { loadProfile } from '../../profiles/index.js';
import { parseApduScript } from '../../transport/apdu-script.js';
import { cli } from '../helpers/cli.js';
import { makeKeyStore, writeBatch } from '../runner/helpers.js';
import { BLANK_CARD_KEYS } from '../helpers/sim-host.js';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const PASS = new TextEncoder().encode('script test passphrase');

async function preparedBatch(): Promise<{ dir: string; out: string; secrets: Uint8Array[]; scripts: CardScript[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'script-cli-'));
  const lines = readFileSync(join(EXAMPLES, 'sscard-gen3-batch.csv'), 'utf8').trimEnd().split('\n').slice(0, 3);
  mkdirSync(join(dir, 'photos'));
  for (const f of readdirSync(join(EXAMPLES, 'photos'))) copyFileSync(join(EXAMPLES, 'photos', f), join(dir, 'photos', f));
  const input = join(dir, 'batch.csv');
  writeFileSync(input, lines.join('\n') + '\n');
  const { store } = await createDemoKeyStore(join(dir, 'keys.store'), PASS, { scryptLog2N: 14, blankCardKeys: BLANK_CARD_KEYS });
  const out = join(dir, 'batch');
  try {
    const r = await prepBatch({ profile: loadProfile('builtin:sscard-gen3'), profileFile: 'builtin:sscard-gen3', input, store, out, seed: 5, createdAt: '2026-01-15T09:00:00.000Z' });
    if (!r.ok) throw new Error('prep failed');
    const scripts = readFileSync(join(out, 'cards.jsonl'), 'utf8').trimEnd().split('\n').map((l, i) => parseCardScript(l, `${i + 1}`));
    // Every unsealed value, and the stored keys' values: none may be printed.
    const secrets: Uint8Array[] = [];
    for (const s of scripts) {
      JSON.stringify(s, (k, v: unknown) => {
        if (k === 'sealed' && typeof v === 'string') secrets.push(Buffer.from(v, 'base64'));
        return v;
      });
    }
    const opened: Uint8Array[] = [];
    for (const s of scripts) {
      const ctx = new TextEncoder().encode(s.recordId);
      for (const blob of secrets) {
        try {
          opened.push(await store.unseal({ label: 'batch-transport' }, blob, ctx));
        } catch {
          // sealed for another card
        }
      }
    }
    return { dir, out, secrets: opened, scripts };
  } finally {
    await store.close();
  }
}

function forms(c: Uint8Array): string[] {
  const out = [toHex(c), toHex(c).toLowerCase(), Buffer.from(c).toString('base64')];
  if (c.length > 5 && c[0] === 0x0a) out.push(toHex(c.subarray(5))); // PIN block → BCD PIN
  return out;
}

t.test('script show: readable, no secret; --json parses; by index and by record id', async (t) => {
  const { out, secrets, scripts } = await preparedBatch();
  t.ok(secrets.length >= 5, `${secrets.length} unsealed values to look for`);
  const show = await cli(['script', 'show', out, '--card', '2']);
  t.equal(show.code, 0, show.err);
  t.match(show.out, new RegExp(`^card 2: record ${scripts[1]!.recordId}`));
  t.match(show.out, /<sealed kcv=[0-9A-F]{6}>/, 'sealed keys show their KCV');
  t.match(show.out, /<sealed>/, 'sealed PINs show nothing');
  t.match(show.out, /apdu 00 A4 00 0C 02 3F00 \[9000\]  # select MF/, 'APDUs formatted with formatCommand');
  t.match(show.out, /verify:\n/);
  const keygen = scripts[1]!.steps.find((x) => x.op === 'keygen-cert');
  t.ok(keygen && keygen.op === 'keygen-cert' && keygen.chunk !== undefined && keygen.readChunk !== undefined, 'sscard-gen3 sets both certificate chunk sizes');
  if (keygen?.op === 'keygen-cert') t.match(show.out, new RegExp(`keygen-cert .* chunk ${keygen.chunk} read ${keygen.readChunk}`), 'keygen-cert shows its write and read chunk sizes');
  const json = await cli(['script', 'show', out, '--card', scripts[0]!.recordId, '--json']);
  t.equal(json.code, 0, json.err);
  const j = JSON.parse(json.out) as { card: number; recordId: string; steps: { n: number; op: string; text: string }[]; verify: unknown[] };
  t.equal(j.card, 1);
  t.equal(j.recordId, scripts[0]!.recordId);
  t.equal(j.steps.length, scripts[0]!.steps.length);
  t.equal(j.verify.length, scripts[0]!.verify.length);
  for (const text of [show.out + show.err, json.out + json.err]) {
    for (const s of secrets) for (const f of forms(s)) if (f.length >= 8 && text.includes(f)) t.fail(`a secret in the output (${f.length} chars)`);
    for (const s of scripts) for (const k of [s.steps, s.verify]) JSON.stringify(k, (key, v: unknown) => {
      if (key === 'sealed' && typeof v === 'string' && text.includes(v)) t.fail('a sealed blob in the output');
      return v;
    });
  }
  const none = await cli(['script', 'show', out, '--card', '9']);
  t.equal(none.code, 2);
  t.match(none.err, /has 2 cards, no card 9/);
  const notBatch = await cli(['script', 'show', join(out, 'nope'), '--card', '1']);
  t.equal(notBatch.code, 2);
});

t.test('script export: refused with exit 2 naming the step when the script needs the runner', async (t) => {
  const { out, scripts } = await preparedBatch();
  const first = scripts[0]!.steps.findIndex((s) => s.op !== 'apdu' && s.op !== 'check');
  const r = await cli(['script', 'export', out, '--card', '1', '--out', join(out, 'card1.apdu')]);
  t.equal(r.code, 2);
  t.match(r.err, new RegExp(`card 1 step ${first + 1} \\(${scripts[0]!.steps[first]!.op}\\)`));
  t.notMatch(r.err, /at .*\.ts:\d+/, 'no stack trace');
});

t.test('script export of a plain script round-trips through apdu --reader sim --script', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'script-plain-'));
  const script: CardScript = {
    format: SCRIPT_FORMAT,
    recordId: 'plain-1',
    line: 2,
    interface: 'contact',
    steps: [
      { op: 'apdu', apdu: '00A40000023F00', note: 'select MF' },
      { op: 'apdu', apdu: '0084000008', sw: ['9000'], note: 'get challenge' },
    ],
    verify: [{ op: 'check', apdu: '00A40000023F00', sw: ['9000', '61XX'], what: 'MF present' }],
  };
  const { store } = await makeKeyStore();
  t.teardown(() => store.close());
  await writeBatch(dir, [script], store);
  const file = join(dir, 'plain.apdu');
  const r = await cli(['script', 'export', dir, '--card', 'plain-1', '--out', file]);
  t.equal(r.code, 0, r.err);
  const text = readFileSync(file, 'utf8');
  t.match(text, /^00 A4 00 00 02 3F00 \[9000\]  # 1: select MF$/m);
  t.match(text, /\[9000\|61XX\]/);
  const steps = parseApduScript(text, file);
  t.equal(steps.length, 3);
  t.same(steps.map((s) => toHex(s.command)), ['00A40000023F00', '0084000008', '00A40000023F00']);
  const run = await cli(['apdu', '--reader', 'sim', '--script', file, '--json']);
  t.equal(run.code, 0, run.err);
  const results = JSON.parse(run.out) as { sw: string }[];
  t.equal(results.length, 3);
  // A failing expectation in the exported file stops the apdu run with exit 1.
  await writeBatch(dir, [{ ...script, steps: [{ op: 'apdu', apdu: '00A40000023F00', sw: ['6A82'] }] }], store);
  t.equal((await cli(['script', 'export', dir, '--card', '1', '--out', file])).code, 0);
  t.equal((await cli(['apdu', '--reader', 'sim', '--script', file])).code, 1);
});
