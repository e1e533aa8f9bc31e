// A card transport key the key store will not export (an HSM keeps it so): prep names it in the
// script instead of sealing its value, and the runner has the store compute the EXTERNAL
// AUTHENTICATE cryptogram — in the file store, and in SoftHSM2 as a real token key. A GP profile
// cannot work that way (its secure channel derives session keys from the key's value) and is
// refused with the reason.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import { Pkcs11KeyStore, SOFTHSM2_MODULE } from '../../keys/pkcs11-store.js';
import { executeScript, StepError } from '../../personalization/runner/executor.js';
import { loadBatch } from '../../personalization/runner/run.js';
import { prepBatch } from '../../personalization/prep/index.js';
import { parseCardScript, SCRIPT_FORMAT, type CardScript, type OpenStep, type StoredKey } from '../../personalization/script.js';
import { loadProfile } from '../../profiles/index.js';
import { SimulatorTransport } from '../../transport/simulator.js';
import { createSsCard, DEFAULT_TRANSPORT_KEY } from '../../simulator/sscard/factory.js';
import { cli } from '../helpers/cli.js';
import { PIN, softhsmMissing, softhsmToken, tempDir } from '../keys/fixtures/helpers.js';
import { makeStore } from './fixtures/store.js';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const RUN = { transportKey: { label: 'batch-transport' } };

function batchOf(dir: string, n: number): string {
  const lines = readFileSync(join(EXAMPLES, 'sscard-gen3-batch.csv'), 'utf8').trimEnd().split('\n').slice(0, n + 1);
  mkdirSync(join(dir, 'photos'), { recursive: true });
  for (let i = 1; i <= n; i++) copyFileSync(join(EXAMPLES, 'photos', `${String(i).padStart(4, '0')}.jpg`), join(dir, 'photos', `${String(i).padStart(4, '0')}.jpg`));
  writeFileSync(join(dir, 'batch.csv'), lines.join('\n') + '\n');
  return join(dir, 'batch.csv');
}

const openOf = (s: CardScript) => s.steps.find((x): x is OpenStep => x.op === 'open');

t.test('sscard-gen3 with a non-exportable transport key: scripts name it, the runner personalizes with it', async (t) => {
  const { store, dir } = await makeStore(undefined, { transportExportable: false });
  t.teardown(() => store.close());
  const info = await store.info({ label: 'ss3-transport' });
  t.equal(info.exportable, false, 'the store will not export it');
  const out = join(dir, 'out');
  const res = await prepBatch({ profile: loadProfile('builtin:sscard-gen3'), profileFile: 'builtin:sscard-gen3', input: batchOf(dir, 3), store, out, seed: 3, createdAt: '2026-01-15T09:00:00.000Z' });
  t.ok(res.ok, 'prep succeeds');
  const scripts = readFileSync(join(out, 'cards.jsonl'), 'utf8').trimEnd().split('\n').map((l, i) => parseCardScript(l, `${i + 1}`));
  t.equal(scripts.length, 3);
  // The photos the scripts write are in the batch's blobs.pack; the runner reads them from there.
  const pack = loadBatch(out).blobs;
  t.ok(pack, 'the batch has its blobs.pack');
  t.teardown(() => pack?.close());
  for (const [i, script] of scripts.entries()) {
    const open = openOf(script);
    t.ok(open && open.protocol === 'ssc-ext-auth', 'the script opens with EXTERNAL AUTHENTICATE');
    if (!open || open.protocol !== 'ssc-ext-auth') continue;
    t.same(open.key, { stored: { label: 'ss3-transport', version: info.version }, alg: 'des3', kcv: info.kcv }, 'the transport key by reference and KCV, no sealed value');
    // No sealed blob of the script opens to the transport key.
    const blobs: string[] = [];
    JSON.stringify(script, (k, v: unknown) => (k === 'sealed' && typeof v === 'string' && blobs.push(v), v));
    for (const b of blobs) {
      const plain = await store.unseal({ label: 'batch-transport' }, Buffer.from(b, 'base64'), new TextEncoder().encode(script.recordId));
      if (toHex(plain).includes(toHex(DEFAULT_TRANSPORT_KEY))) t.fail('the transport key is sealed in the script');
    }
    const card = createSsCard({ seed: 40 + i });
    const r = await executeScript(new SimulatorTransport(card), script, { provider: store, ...RUN, ...(pack ? { blobs: pack } : {}) });
    t.ok(r.checks > 0, `card ${i + 1}: personalized and verified (${r.apdus} APDUs)`);
    t.equal(card.lifecycle, 'personalized');
  }
  const show = await cli(['script', 'show', out, '--card', '1']);
  t.match(show.out, new RegExp(`open ssc-ext-auth key 00 <in the key store: ss3-transport v${info.version} kcv=${info.kcv}>`), 'script show names the stored key and its KCV');
  // A KCV that is not the store's key: the script's fault, before any cryptogram is sent.
  const wrong = structuredClone(scripts[0]!);
  (openOf(wrong) as { key: StoredKey }).key.kcv = '000000';
  const e = (await executeScript(new SimulatorTransport(createSsCard({ seed: 50 })), wrong, { provider: store, ...RUN }).catch((x: unknown) => x)) as StepError;
  t.type(e, StepError);
  t.equal(e.cardFault, false);
  t.match(e.message, /key ss3-transport v\d+ of the key store, whose KCV [0-9A-F]{6} is not the script's 000000/);
});

t.test('gp-cps with a non-exportable transport key is refused with the reason', async (t) => {
  const { store, dir } = await makeStore(undefined, { transportExportable: false });
  t.teardown(() => store.close());
  const input = join(dir, 'gp.jsonl');
  const gpInput = readFileSync(join(EXAMPLES, 'gp-cps-batch.jsonl'), 'utf8').trimEnd().split('\n').slice(0, 2).join('\n') + '\n';
  writeFileSync(input, gpInput);
  await t.rejects(
    prepBatch({ profile: loadProfile('builtin:gp-cps'), profileFile: 'builtin:gp-cps', input, store, out: join(dir, 'gp-out'), seed: 1 }),
    { name: 'PrepError', message: /transport key gp-transport v\d+ is not exportable, and a GlobalPlatform secure channel derives its session keys on the host/ },
  );
});

t.test('the transport key as a SoftHSM2 token key (non-exportable): EXTERNAL AUTHENTICATE computed in the token', { skip: softhsmMissing() }, async (t) => {
  const token = softhsmToken('stored-transport');
  const hsm = await Pkcs11KeyStore.init({ module: SOFTHSM2_MODULE, token: token.label, pin: PIN, auditPath: join(tempDir(), 'hsm.audit') });
  t.teardown(() => hsm.close());
  await hsm.importComponents({ label: 'ss3-transport', alg: 'des3', usage: ['encrypt'] }, [DEFAULT_TRANSPORT_KEY, new Uint8Array(16)]);
  const info = await hsm.info({ label: 'ss3-transport' });
  t.equal(info.exportable, false, 'the token keeps it (CKA_EXTRACTABLE false)');
  const script: CardScript = {
    format: SCRIPT_FORMAT,
    recordId: 'hsm-1',
    line: 2,
    interface: 'contact',
    steps: [
      { op: 'apdu', apdu: '00A40000023F00', note: 'select MF' },
      { op: 'open', protocol: 'ssc-ext-auth', keyId: 0, key: { stored: { label: info.label, version: info.version }, alg: 'des3', kcv: info.kcv }, challengeLength: 8 },
      // Creating a file needs the authority the transport key gave.
      { op: 'apdu', apdu: '80E000001562138201018302EF018002001088010886030000FF', sw: ['9000'], note: 'create EF01 under the MF' },
    ],
    verify: [],
  };
  const card = createSsCard({ seed: 60 });
  const r = await executeScript(new SimulatorTransport(card), script, { provider: hsm, transportKey: { label: 'unused' } });
  t.equal(r.steps, 3, 'authenticated by the token, then a command that needs the authority succeeded');
  // Without the authority the same command is refused, so the step above proves the authentication.
  const blank = new SimulatorTransport(createSsCard({ seed: 61 }));
  await blank.transmit(fromHex('00A40000023F00'));
  t.not(toHex((await blank.transmit(fromHex('80E000001562138201018302EF018002001088010886030000FF'))).subarray(-2)), '9000', 'refused without EXTERNAL AUTHENTICATE');
});
