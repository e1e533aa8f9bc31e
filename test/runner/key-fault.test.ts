// Key faults: a batch whose keys the blank cards refuse (or the key store cannot use) stops every
// station at the first card of each, gives the records back untouched, and names the key by label,
// version and KCV, in the result, the stations' pause reasons, the audit log and `cardsmith run`.
import t from 'tap';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex } from '../../bytes/index.js';
import { kcv } from '../../crypto/index.js';
import { verifyAuditLog } from '../../keys/audit.js';
import { Journal } from '../../personalization/journal/index.js';
import { loadBatch, runBatch } from '../../personalization/runner/run.js';
import { openStations, SimulatedMover, simulatedStations } from '../../stations/index.js';
import { executeScript, StepError } from '../../personalization/runner/executor.js';
import { nameKey } from '../../personalization/runner/key-fault.js';
import { SCRIPT_FORMAT, type BatchManifest, type CardScript } from '../../personalization/script.js';
import { SimulatorTransport } from '../../transport/simulator.js';
import { createGpCard } from '../../simulator/gp/index.js';
import { createDemoKeyStore } from '../../personalization/demo.js';
import { prepBatch } from '../../personalization/prep/index.js';
import { loadProfile } from '../../profiles/index.js';
import { cli } from '../helpers/cli.js';
import { makeKeyStore, makeScripts, PASSPHRASE, sealKey, TRANSPORT_KEY, writeBatch } from './helpers.js';
import { SIM, BLANK_CARD_KEYS } from '../helpers/sim-host.js';

const root = mkdtempSync(join(tmpdir(), 'cardsmith-key-fault-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const { store, path: keystore } = await makeKeyStore(root);
t.teardown(() => store.close());

// Not the simulated blank cards' transport key (helpers CARD_TRANSPORT_KEY).
const WRONG_KEY = fromHex('0123456789ABCDEFFEDCBA9876543210');
const WRONG_KCV = toHex(kcv('des3', WRONG_KEY));
const KEYS = [{ label: 'card-transport', version: 2, alg: 'des3', kcv: WRONG_KCV }];

const printerOf = (st: { mover: unknown }) => (st.mover as SimulatedMover).printer;

for (const scp of ['02', '03'] as const) {
  t.test(`SCP${scp} with keys the card does not have: a key fault naming the key by KCV, no key bytes`, async (t) => {
    const tr = new SimulatorTransport(createGpCard({ scp, seed: 3 }));
    const alg = scp === '02' ? 'des3' : 'aes';
    const wrong = await sealKey(store, 'gp', WRONG_KEY, alg);
    const script: CardScript = { format: SCRIPT_FORMAT, recordId: 'gp', line: 1, interface: 'contact', steps: [{ op: 'open', protocol: scp === '02' ? 'scp02' : 'scp03', keys: { enc: wrong, mac: wrong, dek: wrong }, securityLevel: 0x01 }], verify: [] };
    const e = (await executeScript(tr, script, { provider: store, transportKey: TRANSPORT_KEY }).catch((x: unknown) => x)) as StepError;
    t.type(e, StepError);
    t.match(e.keyFault, { side: 'card', kcv: wrong.kcv });
    t.notMatch(e.message, toHex(WRONG_KEY));
    t.equal(nameKey(e, { transportKey: { label: 'batch-transport', kcv: '000000' }, keys: [{ label: `gp-${scp}-isd`, version: 1, alg, kcv: wrong.kcv! }] } as unknown as BatchManifest).text, `gp-${scp}-isd v1 kcv=${wrong.kcv}`);
  });
}

t.test('wrong transport key on 4 stations: at most one card each, every station paused naming the key', async (t) => {
  const dir = join(root, 'wrong-key');
  await writeBatch(dir, await makeScripts(store, 12, 'w', { cardTransportKey: WRONG_KEY }), store, { keys: KEYS });
  const opened = openStations(simulatedStations(4), SIM);
  t.teardown(() => opened.close());
  const res = await runBatch(loadBatch(dir), { provider: store, stations: opened.stations });
  const name = `card-transport v2 kcv=${WRONG_KCV}`;
  t.match(res.keyFault, { label: 'card-transport', version: 2, kcv: WRONG_KCV }, res.message);
  t.match(res.message, name, 'the summary names the key');
  t.match(res.message, /key fault/);
  t.notMatch(res.message, /station is the likely cause/);
  t.match(res.counts, { total: 12, issued: 0, rejected: 0, pending: 12, inProgress: 0 }, 'every record given back, none used up');
  t.equal(res.paused.length, 4, 'every station paused');
  for (const p of res.paused) t.match(p.reason, name, `${p.station}: paused for the key`);
  for (const st of opened.stations) t.ok(printerOf(st).rejectBox.length <= 1, `${st.name}: ${printerOf(st).rejectBox.length} card(s) in the reject box`);

  const journal = Journal.open(dir);
  t.teardown(() => journal.close());
  const attempts = journal.attempts();
  t.ok(attempts.length <= 4, `${attempts.length} attempt(s)`);
  t.ok(attempts.every((a) => a.outcome === 'released'), 'attempts released, not counted as rejected cards');
  t.ok(journal.records().every((r) => r.state === 'pending'));

  const log = readFileSync(join(dir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { op: string; detail?: Record<string, unknown> });
  t.equal(verifyAuditLog(join(dir, 'audit.log')).entries, log.length);
  const faults = log.filter((e) => e.op === 'key-fault');
  t.equal(faults.length, 1, 'one key-fault entry');
  t.equal(faults[0]?.detail?.key, name);
  t.notOk(log.some((e) => e.op === 'card-rejected'), 'no record charged with a rejected card');
});

for (const exportable of [true, false]) {
  t.test(`prep with a demo store whose transport key the blank cards do not have (${exportable ? 'sealed in the scripts' : 'kept in the store'}), run on 4 stations`, async (t) => {
    const dir = mkdtempSync(join(root, 'demo-'));
    const { store: demo } = await createDemoKeyStore(join(dir, 'keys.store'), PASSPHRASE, { scryptLog2N: 14, blankCardKeys: BLANK_CARD_KEYS, transportKey: WRONG_KEY, transportExportable: exportable });
    t.teardown(() => demo.close());
    const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
    const input = join(dir, 'batch.csv');
    writeFileSync(input, readFileSync(join(examples, 'sscard-gen3-batch.csv'), 'utf8').trimEnd().split('\n').slice(0, 7).join('\n') + '\n');
    mkdirSync(join(dir, 'photos'));
    for (let i = 1; i <= 6; i++) copyFileSync(join(examples, 'photos', `000${i}.jpg`), join(dir, 'photos', `000${i}.jpg`));
    const out = join(dir, 'batch');
    const prepped = await prepBatch({ profile: loadProfile('builtin:sscard-gen3'), profileFile: 'builtin:sscard-gen3', input, store: demo, out, seed: 1 });
    t.ok(prepped.ok, 'prep');
    const opened = openStations(simulatedStations(4), SIM);
    t.teardown(() => opened.close());
    const res = await runBatch(loadBatch(out), { provider: demo, stations: opened.stations });
    t.match(res.keyFault, { label: 'ss3-transport', version: 1, kcv: WRONG_KCV }, res.message);
    t.match(res.message, `ss3-transport v1 kcv=${WRONG_KCV}`);
    t.match(res.counts, { issued: 0, rejected: 0, pending: 6 });
    t.equal(res.paused.length, 4);
    for (const st of opened.stations) t.ok(printerOf(st).rejectBox.length <= 1, `${st.name}: at most one card`);
  });
}

t.test('after a card accepted the keys, a card that refuses them is that card\'s fault', async (t) => {
  const dir = join(root, 'proven');
  const good = await makeScripts(store, 4, 'g');
  const [odd] = await makeScripts(store, 1, 'x', { cardTransportKey: WRONG_KEY });
  await writeBatch(dir, [good[0]!, good[1]!, { ...odd!, line: 3 }, good[2]!, good[3]!], store, { keys: KEYS });
  const opened = openStations(simulatedStations(1, { maxConsecutiveFailures: 5 }), SIM);
  t.teardown(() => opened.close());
  const res = await runBatch(loadBatch(dir), { provider: store, stations: opened.stations });
  t.equal(res.keyFault, undefined, res.message);
  t.match(res.counts, { issued: 4, rejected: 1, pending: 0 });
  t.equal(res.paused.length, 0);
});

t.test('a key store that cannot unseal the batch: a key fault naming the batch seal key, no card used up', async (t) => {
  const dir = join(root, 'other-store');
  const other = await makeKeyStore(mkdtempSync(join(root, 'other-')));
  t.teardown(() => other.store.close());
  await writeBatch(dir, await makeScripts(other.store, 6, 's'), store, { keys: KEYS });
  const opened = openStations(simulatedStations(2), SIM);
  t.teardown(() => opened.close());
  const res = await runBatch(loadBatch(dir), { provider: store, stations: opened.stations });
  t.match(res.keyFault, { label: 'batch-transport' }, res.message);
  t.match(res.message, /key store cannot use batch-transport/);
  t.match(res.counts, { rejected: 0, pending: 6 });
  t.equal(res.paused.length, 2);
});

t.test('cardsmith run --sim 4: exit 1, the text and the JSON name the key', async (t) => {
  const passFile = join(root, 'pass');
  writeFileSync(passFile, new TextDecoder().decode(PASSPHRASE));
  const storeArgs = ['--keystore', keystore, '--pass-file', passFile];
  const name = `card-transport v2 kcv=${WRONG_KCV}`;

  const dir = join(root, 'cli-text');
  await writeBatch(dir, await makeScripts(store, 8, 'c', { cardTransportKey: WRONG_KEY }), store, { keys: KEYS });
  const text = await cli(['run', dir, '--sim', '4', ...storeArgs]);
  t.equal(text.code, 1, 'exit 1');
  t.match(text.out, name);
  t.notMatch(text.out + text.err, /station is the likely cause/);

  const dir2 = join(root, 'cli-json');
  await writeBatch(dir2, await makeScripts(store, 8, 'j', { cardTransportKey: WRONG_KEY }), store, { keys: KEYS });
  const json = await cli(['run', dir2, '--sim', '4', '--json', ...storeArgs]);
  t.equal(json.code, 1, 'exit 1');
  const summary = JSON.parse(json.out.trim().split('\n').pop()!) as { keyFault?: { label: string; version: number; kcv: string; message: string }; counts: { rejected: number } };
  t.match(summary.keyFault, { label: 'card-transport', version: 2, kcv: WRONG_KCV });
  t.match(summary.keyFault?.message, name);
  t.equal(summary.counts.rejected, 0);
});
