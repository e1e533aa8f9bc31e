// The simulated printer's kept output (DIR/sim-output, stations/sim-printer/output.ts): cards
// ejected to the hopper / reject bin as card images, and the printer's state, so that a runner
// killed at any point and resumed leaves every card where the journal says it is:
//   - in process: a printer that takes over the files of a "killed" one has the same next card
//     and, in its encoder, exactly the card the killed one left (the log replayed on the fed
//     image); an eject cut short after its mark is finished; a log line cut off is dropped;
//   - SIGKILL at seeded points of a run on 3 real simulated printers (a child process), resumed
//     each time: at the end `cardsmith verify DIR --sim` passes for every issued record, with one
//     card each in the hopper, and no card of an issued record in the reject bin.
import t from 'tap';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../../bytes/index.js';
import { Journal } from '../../personalization/journal/index.js';
import { loadBatch, runBatch } from '../../personalization/runner/run.js';
import { openStations, readSimOutput, SimulatedMover, SimulatedPrinter, simulatedStations, Station, type CardMover } from '../../stations/index.js';
import type { SsCard } from '../../simulator/index.js';
import { cli } from '../helpers/cli.js';
import { killRepeatedly, makeKeyStore, makeScripts, PASSPHRASE, prng, runnerChild, writeBatch } from './helpers.js';
import { SIM, ssCardStock } from '../helpers/sim-host.js';

const root = mkdtempSync(join(tmpdir(), 'cardsmith-sim-output-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

const SELECT_MF = fromHex('00A40000023F00');
const GET_CHALLENGE = fromHex('0084000008');
const imageOf = (card: unknown) => JSON.stringify((card as SsCard).toImage());

t.test('takeover: the same next card, and the card left in the encoder exactly as it was', async (t) => {
  const batch = join(root, 'takeover');
  const out = join(batch, 'sim-output');
  const a = new SimulatedPrinter({ stock: ssCardStock, name: 'sim-1', seed: 5, outputDir: out });
  const ma = new SimulatedMover(a);
  await ma.load('contact');
  const chip1 = a.current!.chipSerial!;
  a.setFace(Uint8Array.of(1, 2, 3));
  await ma.eject();
  await ma.load('contact');
  const tr = await a.encoder().connect('contact');
  t.equal(toHex((await tr.transmit(SELECT_MF)).subarray(-2)), '9000');
  const challenge = toHex(await tr.transmit(GET_CHALLENGE)); // moves the card's random generator on
  // "Killed" here, card 2 in the encoder: a second printer object takes over the files.
  const b = new SimulatedPrinter({ stock: ssCardStock, name: 'sim-1', seed: 5, outputDir: out });
  t.equal(b.fed, 2, 'cards fed so far');
  t.equal(b.current?.index, 2, 'card 2 is still in the encoder');
  t.equal(imageOf(b.current!.card), imageOf(a.current!.card), 'the same card, down to its random generator position');
  const tb = await b.encoder().connect('contact');
  t.not(toHex(await tb.transmit(GET_CHALLENGE)), challenge, 'the next challenge, not a repeat of the last one');
  await tb.close();
  const kept = readSimOutput(batch, ssCardStock)!;
  t.same(kept.encoders.map((k) => [k.station, k.chipSerial]), [['sim-1', b.current!.chipSerial]], 'readSimOutput: the card in the encoder');
  t.equal(imageOf(kept.encoders[0]!.card), imageOf(b.current!.card), 'read back as the printer has it');
  const mb = new SimulatedMover(b);
  await mb.reject('test');
  const after = readSimOutput(batch, ssCardStock)!;
  t.same(after.hopper.map((k) => [k.chipSerial, k.face]), [[chip1, `sim-output/hopper/${chip1}.png`]], 'card 1 in the hopper, with its face');
  t.same(readFileSync(join(out, 'hopper', `${chip1}.png`)), Buffer.from([1, 2, 3]));
  t.same(after.rejectBin.map((k) => k.chipSerial), [b.rejectBox[0]!.chipSerial], 'card 2 in the reject bin');
  t.same(after.encoders, [], 'the encoder is empty');
  t.notOk(existsSync(join(out, 'printers', 'sim-1.log')), 'the log of a card that left is removed');
  await mb.load('contact');
  t.equal(b.current!.index, 3, 'the next feed is card 3: no chip is fed twice');
});

t.test('an eject cut short after its mark is finished at the takeover; a log line cut off is dropped', async (t) => {
  const batch = join(root, 'interrupted');
  const out = join(batch, 'sim-output');
  const a = new SimulatedPrinter({ stock: ssCardStock, name: 'p', seed: 9, outputDir: out });
  await new SimulatedMover(a).load('contact');
  const tr = await a.encoder().connect('contact');
  await tr.transmit(SELECT_MF);
  const log = join(out, 'printers', 'p.log');
  appendFileSync(log, 'apdu 0084'); // killed while writing this line: the card never answered it
  const b = new SimulatedPrinter({ stock: ssCardStock, name: 'p', seed: 9, outputDir: out });
  t.equal(imageOf(b.current!.card), imageOf(a.current!.card), 'the cut-off command is not replayed');
  t.ok(readFileSync(log, 'latin1').endsWith('apdu 00A40000023F00\n'), 'the log ends with the last whole line');
  const tb = await b.encoder().connect('contact');
  await tb.transmit(GET_CHALLENGE);
  const chip = b.current!.chipSerial!;
  appendFileSync(log, 'eject hopper\n'); // killed after the eject mark, before the hopper file
  const c = new SimulatedPrinter({ stock: ssCardStock, name: 'p', seed: 9, outputDir: out });
  t.equal(c.current, undefined, 'the eject is finished: the encoder is empty');
  t.equal(JSON.stringify(JSON.parse(readFileSync(join(out, 'hopper', `${chip}.json`), 'utf8'))), imageOf(b.current!.card), 'the hopper holds the card as the killed run left it');
  t.equal(c.fed, 1);
});

t.test('a printer state file that is not one: a clear error', async (t) => {
  const out = join(root, 'bad', 'sim-output');
  new SimulatedPrinter({ stock: ssCardStock, name: 'q', outputDir: out });
  writeFileSync(join(out, 'printers', 'q.json'), '{"format":"something else"}');
  t.throws(() => new SimulatedPrinter({ stock: ssCardStock, name: 'q', outputDir: out }), /simulated printer q: .*q\.json: not a cardsmith-sim-printer version 1 file; move the file away/);
});

t.test('a card left in a simulated encoder: run stops without --resume; --resume ejects an issued one to the hopper', async (t) => {
  const { store, path: keystore } = await makeKeyStore(mkdtempSync(join(root, 'keys-')));
  t.teardown(() => store.close());
  const passFile = join(root, 'pass-left');
  writeFileSync(passFile, PASSPHRASE, { mode: 0o600 });
  const dir = join(root, 'left-batch');
  await writeBatch(dir, await makeScripts(store, 3, 'l'), store);
  const stations = () => openStations(simulatedStations(1, { cards: 2 }), SIM).stations;
  const first = await runBatch(loadBatch(dir), { provider: store, stations: stations() });
  t.match(first.counts, { issued: 2, pending: 1 }, 'two cards in the feeder: 2 issued, 1 left for later');
  // As if the runner had been killed between journal.issue and the eject of card 2: put it back into the encoder.
  const out = join(dir, 'sim-output');
  const state = JSON.parse(readFileSync(join(out, 'printers', 'sim-1.json'), 'utf8')) as { encoder: unknown; left: number };
  t.equal(state.left, 0, 'the feeder count is kept');
  const journal = Journal.open(dir);
  const second = journal.issuedCards().find((c) => c.recordId === 'l0002')!;
  journal.close();
  const hopperFile = join(out, 'hopper', `${second.chipSerial}.json`);
  const image = JSON.parse(readFileSync(hopperFile, 'utf8')) as unknown;
  writeFileSync(join(out, 'printers', 'sim-1.json'), JSON.stringify({ ...state, encoder: { index: 2, chipSerial: second.chipSerial, faults: [], apdus: 0, position: 'contact', image } }));
  writeFileSync(join(out, 'printers', 'sim-1.log'), 'card 2\n');
  rmSync(hopperFile);
  const missing = await cli(['verify', dir, '--sim', '--keystore', keystore, '--pass-file', passFile]);
  t.equal(missing.code, 1);
  t.match(missing.out, new RegExp(`^l0002: issued on chip ${second.chipSerial}, but its card is not in the hopper: still in the encoder of sim-1 \\(run the batch again with --resume\\)$`, 'm'));
  await t.rejects(runBatch(loadBatch(dir), { provider: store, stations: stations() }), { name: 'ResumeNeededError', message: /simulated printer\(s\) sim-1 still have a card in the encoder/ });
  const resumed = await runBatch(loadBatch(dir), { provider: store, stations: stations(), resume: true });
  t.match(resumed.counts, { issued: 2, pending: 1 }, resumed.message);
  t.ok(existsSync(hopperFile), 'the stray issued card was ejected to the hopper');
  const v = await cli(['verify', dir, '--sim', '--keystore', keystore, '--pass-file', passFile]);
  t.equal(v.code, 0, 'verify --sim: exit 0', { stderr: v.err });
  t.match(v.out, /^2 card\(s\) in the hopper: 2 passed, 0 failed; 0 issued record\(s\) without a card/m);
});



t.test('SIGKILL at 10 seeded points of a run on 3 simulated printers, resumed: verify --sim passes for every issued record', async (t) => {
  const { store, path: keystore } = await makeKeyStore(mkdtempSync(join(root, 'keys-')));
  t.teardown(() => store.close());
  const passFile = join(root, 'pass');
  writeFileSync(passFile, PASSPHRASE, { mode: 0o600 });
  const dir = join(root, 'crash-batch');
  // Enough cards that 10 kills come before the end, however the 3 stations interleave.
  const cards = 32;
  await writeBatch(dir, await makeScripts(store, cards, 's'), store);
  const rnd = prng(7);
  // An event is a printer command or an APDU; a card takes about 20, the 3 stations interleave.
  const kills = await killRepeatedly(t, 'test/runner/fixtures/sim-crash-child.ts', (first) => [dir, keystore, first ? '0' : '1'], 10, () => 5 + Math.floor(rnd() * 120));
  t.equal(kills.length, 10, `killed at event ${kills.join(', ')}`);
  const last = await runnerChild(t, 'test/runner/fixtures/sim-crash-child.ts', [dir, keystore, '1'], 0);
  t.equal(last.code, 0, last.err);
  const summary = JSON.parse(last.out.trim().split('\n').pop()!) as { counts: { total: number; issued: number; rejected: number; pending: number; inProgress: number; review: number } };
  t.match(summary.counts, { total: cards, pending: 0, inProgress: 0, review: 0 });
  // A record whose card was killed mid-script 3 times is rejected (3 cards per record): not lost.
  t.equal(summary.counts.issued + summary.counts.rejected, cards, `0 lost records (${summary.counts.issued} issued)`);

  const journal = Journal.open(dir);
  const issued = journal.issuedCards();
  t.same(journal.duplicates(), { records: 0, chips: 0, inconsistent: 0 }, '0 duplicates in the journal');
  journal.close();
  const kept = readSimOutput(dir, ssCardStock)!;
  t.equal(kept.hopper.length, issued.length, 'as many cards in the hoppers as issued records');
  t.same(kept.encoders, [], 'no card left in an encoder');
  const issuedChips = new Set(issued.map((c) => c.chipSerial.toUpperCase()));
  t.notOk(kept.rejectBin.some((k) => issuedChips.has(k.chipSerial ?? '')), `no issued card in the reject bin (${kept.rejectBin.length} rejected cards there)`);

  const v = await cli(['verify', dir, '--sim', '--keystore', keystore, '--pass-file', passFile, '--json']);
  t.equal(v.code, 0, 'verify --sim: exit 0', { stderr: v.err });
  const o = JSON.parse(v.out) as { ok: boolean; cards: { recordId: string; ok: boolean; reason?: string }[]; missing: unknown[]; duplicates: unknown[] };
  t.equal(o.ok, true);
  t.same(o.cards.filter((c) => !c.ok), [], '0 reported-good cards failing verification');
  t.same(o.cards.map((c) => c.recordId).sort(), issued.map((c) => c.recordId).sort(), 'one passing card per issued record');
  t.same([o.missing, o.duplicates], [[], []]);
});

t.test('the runner keeps output and finds a left card through the mover interface only (keepOutput, holdsLeftCard)', async (t) => {
  const { store } = await makeKeyStore(mkdtempSync(join(root, 'keys-')));
  t.teardown(() => store.close());
  const dir = join(root, 'interface-batch');
  await writeBatch(dir, await makeScripts(store, 1, 'i'), store);
  const st = openStations(simulatedStations(1), SIM).stations[0]!;
  const inner = st.mover;
  const kept: string[] = [];
  // Not a SimulatedMover: the runner reaches the printer's files through the CardMover methods alone.
  const mover: CardMover = {
    kind: inner.kind,
    name: inner.name,
    canPrint: inner.canPrint,
    load: (i, s) => inner.load(i, s),
    print: (png) => inner.print(png),
    eject: (s) => inner.eject(s),
    reject: (r, s) => inner.reject(r, s),
    reset: () => inner.reset(),
    status: () => inner.status(),
    close: () => inner.close(),
    keepOutput: (d) => {
      kept.push(d);
      inner.keepOutput!(d);
    },
    holdsLeftCard: () => inner.holdsLeftCard!(),
  };
  const res = await runBatch(loadBatch(dir), { provider: store, stations: [new Station({ name: st.name, mover, encoder: st.encoder })] });
  t.match(res.counts, { issued: 1 }, res.message);
  t.same(kept, [join(dir, 'sim-output')], 'keepOutput called once with DIR/sim-output');
  t.equal(readSimOutput(dir, ssCardStock)?.hopper.length, 1, 'the issued card is in the kept hopper');
  t.equal(mover.holdsLeftCard!(), false, 'no card left in the encoder');
});
