// A batch run through pcscd + vpcd on a served card. `cardsmith sim serve`
// (the built binary, a child process) puts a blank social-security card into "Virtual PCD 00 00";
// `cardsmith run` drives it through a stations file whose one station is a `manual` mover with that
// PC/SC reader as encoder. The card is issued, the served card is then "taken out" (sim serve
// stops, saving the card image), served again, and `cardsmith verify --reader` reads it back.
// Skipped, naming the reason, when the PC/SC stack is not running or dist/ is not built.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { FileKeyStore } from '../../keys/file-store.js';
import { DEMO_SEAL_KEY } from '../../personalization/demo.js';
import { Journal } from '../../personalization/journal/index.js';
import { prepBatch } from '../../personalization/prep/index.js';
import { loadProfile } from '../../profiles/index.js';
import { cli } from '../helpers/cli.js';
import { withTimeout } from '../helpers/fake-vpcd.js';
import { binSkipReason, lockStack, READER0, readerState, serve, stackSkipReason } from '../helpers/pcsc.js';

const skip = (await stackSkipReason()) || binSkipReason();
if (!skip) await lockStack(t);

/** Resolves once `f` returns true; rejects after `timeoutMs`. */
async function until(what: string, f: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stateOf(dir: string, id: string): string | undefined {
  if (!Journal.exists(dir)) return undefined;
  const db = new Database(join(dir, 'journal.sqlite'), { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    return (db.prepare('SELECT state FROM records WHERE id = ?').get(id) as { state: string } | undefined)?.state;
  } finally {
    db.close();
  }
}

/** Serves a card once the reader is empty, and waits until pcscd shows it. */
async function served(t: Test, args: string[]) {
  await readerState(READER0, 'empty', 15_000);
  const s = serve(t, args);
  await s.waitFor(/connected to vpcd/, 15_000);
  await readerState(READER0, 'present', 15_000);
  return s;
}

t.test('a batch run through pcscd + vpcd on a served card: issued, and the card verifies', { skip }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'cardsmith-runner-pcsc-'));
  // A demo key store + the sscard-gen3 example input; then a batch of its own (1 record) in batch/.
  const demo = join(root, 'demo');
  const d = await cli(['demo', '--cards', '1', '--out', demo]);
  t.equal(d.code, 0, 'cardsmith demo --cards 1: exit 0', { stderr: d.err });
  const keystore = join(demo, 'keys.store');
  const passFile = join(demo, 'demo-passphrase');
  const storeArgs = ['--keystore', keystore, '--pass-file', passFile];
  const batch = join(root, 'batch');
  const store = await FileKeyStore.open(keystore, new TextEncoder().encode(readFileSync(passFile, 'utf8').trim()), { write: true });
  try {
    const prep = await prepBatch({ profile: loadProfile('builtin:sscard-gen3'), profileFile: 'builtin:sscard-gen3', input: join(demo, 'input', 'batch.csv'), store, out: batch, sealKey: DEMO_SEAL_KEY });
    t.ok(prep.ok, 'prep ok');
    t.equal(prep.manifest?.cards, 1, 'one card script');
  } finally {
    await store.close();
  }
  const id = (JSON.parse(readFileSync(join(batch, 'cards.jsonl'), 'utf8').trimEnd().split('\n')[0]!) as { recordId: string }).recordId;

  const stations = join(root, 'stations.yaml');
  writeFileSync(stations, ['stations:', '  - name: desk', '    mover: { type: manual, waitMs: 60000 }', `    encoder: "${READER0}"`, ''].join('\n'));

  // A blank card in the reader; its image is saved when sim serve stops (the card "taken out").
  const image = join(root, 'card.json');
  const first = await served(t, ['--seed', '7', '--state', image]);
  const running = cli(['run', batch, '--stations', stations, ...storeArgs, '--json']);
  let ended = false;
  void running.finally(() => (ended = true));
  await until(`record ${id} issued`, () => ended || stateOf(batch, id) === 'issued', 120_000);
  t.equal(stateOf(batch, id), 'issued', 'the journal says issued before the card leaves the reader');
  // The operator takes the card out: the manual mover's eject sees the reader empty, the run ends.
  const stopped = await first.stop();
  t.equal(stopped.code, 0, 'sim serve stopped cleanly');
  t.match(stopped.out, /card state saved to /);
  const r = await withTimeout(running, 60_000, 'the run did not end after the card was taken out');
  t.equal(r.code, 0, 'cardsmith run: exit 0 (all issued)', { stderr: r.err });
  const res = JSON.parse(r.out.trim().split('\n').pop()!) as { kind: string; counts: { issued: number; rejected: number; total: number } };
  t.equal(res.kind, 'done', 'the run did the batch');
  t.same([res.counts.issued, res.counts.rejected, res.counts.total], [1, 0, 1], '1 issued, 0 rejected of 1');

  const j = Journal.open(batch);
  try {
    const rec = j.get(id)!;
    t.equal(rec.state, 'issued', 'journal: issued');
    t.equal(rec.station, 'desk', 'on the PC/SC desk station');
    t.ok(rec.verification?.ok, 'verified at issue');
    t.match(rec.chipSerial, /^[0-9A-F]+$/, 'with the chip serial');
  } finally {
    j.close();
  }

  // The issued card back in the reader: cardsmith verify finds its record by chip serial and passes.
  await served(t, ['--state', image]);
  const v = await cli(['verify', batch, '--reader', READER0, ...storeArgs]);
  t.equal(v.code, 0, 'cardsmith verify --reader: exit 0 (the card passes)', { out: v.out, stderr: v.err });
  t.match(v.out, new RegExp(`^${id}: the card \\(chip [0-9A-F]+\\) passed its verify steps \\(\\d+ checks\\)$`, 'm'));
  const sum = await cli(['verify', batch]);
  t.equal(sum.code, 0, 'cardsmith verify (journal): exit 0');
  t.match(sum.out, new RegExp(`^${id}: issued, verification passed`, 'm'));
  // Running the finished batch again does nothing (the card is still in the reader; nothing is written).
  const again = await cli(['run', batch, '--stations', stations, ...storeArgs]);
  t.equal(again.code, 0, 'a second run: exit 0', { stderr: again.err });
  t.match(again.out, /nothing|already/i, 'and it does nothing');
});
