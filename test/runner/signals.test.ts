// Stopping a run and running a batch twice at once:
//   - SIGINT / SIGTERM to `cardsmith run DIR --sim 4` (zero-latency stations): the cards in the
//     encoders are finished, exit 1 with "stopped", no record left in progress; `run --resume`
//     completes the batch with 0 duplicates and `audit verify` passes;
//   - a stop (abort) on slow stations lets the cards in the encoders finish: none is rejected; a
//     desk station waiting for the operator gives its record back;
//   - a second run while one is live is refused (exit 1) with a message that names the live run and
//     does not ask for --resume; it writes nothing to the journal or the audit log; the first completes.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Journal } from '../../personalization/journal/index.js';
import { lockBatch, RunLockedError } from '../../personalization/runner/lock.js';
import { loadBatch, runBatch } from '../../personalization/runner/run.js';
import { ManualMover, openStations, ScriptedReaderEvents, SimCardEncoder, SimulatedMover, simulatedStations, Station } from '../../stations/index.js';
import { cliProcess } from '../helpers/cli.js';
import { makeKeyStore, makeScripts, PASSPHRASE, writeBatch } from './helpers.js';
import { SIM, simCards } from '../helpers/sim-host.js';

const root = mkdtempSync(join(tmpdir(), 'cardsmith-signals-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const { store, path: keystore } = await makeKeyStore(root);
t.teardown(() => store.close());
const passFile = join(root, 'pass');
writeFileSync(passFile, new TextDecoder().decode(PASSPHRASE));
const storeArgs = ['--keystore', keystore, '--pass-file', passFile];
const BIN = fileURLToPath(new URL('../../dist/bin/cardsmith.js', import.meta.url));
const CARDS = 40;

interface Ended {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
}

/** `cardsmith run DIR --sim 4 --json` as a child; `onIssued` is called at its first issued card. */
function startRun(t: { teardown(fn: () => void): void }, dir: string, onIssued: (pid: number) => void): Promise<Ended> {
  const c = spawn(process.execPath, [BIN, 'run', dir, '--sim', '4', '--json', ...storeArgs], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  let seen = false;
  c.stdout.on('data', (d: Buffer) => (out += d.toString()));
  c.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    if (!seen && /"event":"card"[^\n]*"outcome":"issued"/.test(err)) {
      seen = true;
      onIssued(c.pid!);
    }
  });
  return new Promise((resolve) => c.on('exit', (code, signal) => resolve({ code, signal, out, err })));
}

const summaryOf = (out: string) => JSON.parse(out.trim().split('\n').pop()!) as { message: string; stopped?: boolean; counts: { total: number; issued: number; rejected: number; pending: number; inProgress: number } };

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  t.test(`${sig} mid-run on zero-latency stations: stopped, consistent, resumable`, async (t) => {
    const dir = join(root, sig);
    await writeBatch(dir, await makeScripts(store, CARDS, sig.toLowerCase()), store);
    const r = await startRun(t, dir, (pid) => process.kill(pid, sig));
    t.equal(r.signal, null, 'not killed by the signal');
    t.equal(r.code, 1, 'exit 1');
    const s = summaryOf(r.out);
    t.match(s.message, new RegExp(`^stopped \\(${sig}\\)`));
    t.equal(s.stopped, true);
    t.equal(s.counts.inProgress, 0, 'no record left in progress');
    t.ok(s.counts.issued < CARDS, `stopped before the end (${s.counts.issued} issued)`);
    t.equal(s.counts.rejected, 0, 'no card rejected by the stop');
    t.match(r.err, new RegExp(`${sig}: stopping`));

    const resumed = cliProcess(['run', dir, '--sim', '4', '--resume', ...storeArgs]);
    t.equal(resumed.code, 0, resumed.out);
    t.match(resumed.out, `${CARDS} issued, 0 rejected of ${CARDS}`);
    const journal = Journal.open(dir);
    t.same(journal.duplicates(), { records: 0, chips: 0, inconsistent: 0 }, '0 duplicates');
    journal.close();
    const audit = cliProcess(['audit', 'verify', join(dir, 'audit.log')]);
    t.equal(audit.code, 0, audit.out + audit.err);
  });
}

t.test('a stop lets the cards in the encoders finish (slow stations, in process)', async (t) => {
  const dir = join(root, 'abort');
  await writeBatch(dir, await makeScripts(store, 12, 'ab'), store);
  const opened = openStations(simulatedStations(3, { latency: { apduMs: 3 } }), SIM);
  t.teardown(() => opened.close());
  const abort = new AbortController();
  const res = await runBatch(loadBatch(dir), {
    provider: store,
    stations: opened.stations,
    signal: abort.signal,
    onEvent: (e) => {
      if (e.type === 'card' && e.outcome === 'issued') abort.abort();
    },
  });
  t.equal(res.stopped, true, res.message);
  t.match(res.message, /stopped/);
  t.match(res.counts, { rejected: 0, inProgress: 0 });
  t.ok(res.counts.issued >= 1 && res.counts.issued <= 3, `the cards in the encoders were finished (${res.counts.issued} issued)`);
  for (const st of opened.stations) {
    const p = (st.mover as SimulatedMover).printer;
    t.equal(p.rejectBox.length, 0, `${st.name}: nothing in the reject box`);
    t.equal(p.current, undefined, `${st.name}: no card left in the encoder`);
  }
});

t.test('a stop while a desk station waits for the operator: the record is given back, stopped', async (t) => {
  const dir = join(root, 'desk');
  await writeBatch(dir, await makeScripts(store, 3, 'dk'), store);
  const events = new ScriptedReaderEvents('desk reader');
  const abort = new AbortController();
  let asked = 0;
  const prompt = (m: string): void => {
    // The operator inserts the first card and takes it out when done; the stop comes while the second is awaited.
    if (/insert a blank card/.test(m)) setImmediate(() => (++asked === 1 ? events.insert() : abort.abort('SIGINT')));
    else setImmediate(() => events.remove());
  };
  const desk = new Station({ name: 'desk', mover: new ManualMover({ events, prompt, waitMs: 60_000 }), encoder: new SimCardEncoder('sim', simCards) });
  const res = await runBatch(loadBatch(dir), { provider: store, stations: [desk], signal: abort.signal });
  t.equal(res.stopped, true, res.message);
  t.match(res.message, /^stopped \(SIGINT\)/);
  t.match(res.counts, { issued: 1, rejected: 0, pending: 2, inProgress: 0 });
  const journal = Journal.open(dir);
  t.teardown(() => journal.close());
  t.same(journal.attempts().map((a) => a.outcome).sort(), ['issued', 'released']);
});

t.test('the run lock: one holder per batch folder, free again after release', async (t) => {
  const dir = mkdtempSync(join(root, 'lock-'));
  const a = lockBatch(dir);
  t.throws(() => lockBatch(dir), RunLockedError);
  t.throws(() => lockBatch(dir), { message: new RegExp(`process ${process.pid} on `) });
  a.release();
  const b = lockBatch(dir);
  b.release();
});

t.test('two runs on one batch: the second is refused, writes nothing, and does not ask for --resume', async (t) => {
  const dir = join(root, 'twice');
  await writeBatch(dir, await makeScripts(store, CARDS, 'tw'), store);
  let second: Promise<Ended> | undefined;
  // The first run is held (SIGSTOP: alive, lock held, mid-batch) while the second one tries, then let go.
  const first = await startRun(t, dir, (pid) => {
    process.kill(pid, 'SIGSTOP');
    const c = spawn(process.execPath, [BIN, 'run', dir, '--sim', '4', ...storeArgs], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    second = new Promise((resolve) =>
      c.on('exit', (code, signal) => {
        process.kill(pid, 'SIGCONT');
        resolve({ code, signal, out, err });
      }),
    );
  });
  const refused = await second!;
  t.equal(refused.code, 1, 'the second run: exit 1');
  t.match(refused.err, /being personalized by another run \(process \d+ on /);
  t.notMatch(refused.out + refused.err, /--resume/, 'no advice that would break the live run');
  t.equal(first.code, 0, 'the first run completes');
  t.match(summaryOf(first.out).counts, { issued: CARDS, pending: 0, inProgress: 0 });

  const audit = cliProcess(['audit', 'verify', join(dir, 'audit.log')]);
  t.equal(audit.code, 0, audit.out + audit.err);
  const log = readFileSync(join(dir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { op: string });
  t.equal(log.filter((e) => e.op === 'run-start').length, 1, 'the refused run wrote nothing to the audit log');
  const journal = Journal.open(dir);
  t.teardown(() => journal.close());
  t.equal(new Set(journal.attempts().map((a) => a.owner)).size, 1, 'every attempt is the first run\'s');
  t.same(journal.duplicates(), { records: 0, chips: 0, inconsistent: 0 });
});
