// The real thing: `cardsmith sim serve` (the built binary, a child process) puts the social-security
// card into pcscd's virtual reader, and independent clients talk to it — PcscTransport (the
// personalization-like flow, plain and T=0), opensc-tool, scriptor, and `cardsmith apdu` / `readers`
// as processes. Skipped, naming the reason, when the PC/SC stack is not running or dist/ is not built.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { toHex } from '../../bytes/index.js';
import { PcscTransport } from '../../transport/index.js';
import { createSsCard } from '../../simulator/index.js';
import { binSkipReason, BIN, lockStack, READER0, READER1, readerState, serve, stackSkipReason } from '../helpers/pcsc.js';
import { BINARY_DATA, personalizationFlow } from '../helpers/sscard-flow.js';

const run = promisify(execFile);
const skip = (await stackSkipReason()) || binSkipReason();
if (!skip) await lockStack(t);
const dir = mkdtempSync(join(tmpdir(), 'cardsmith-e2e-'));
const atrOf = (t0: boolean, iface: 'contact' | 'contactless' = 'contact') => toHex(createSsCard({ seed: 1, t0 }).powerOn(iface));

/** Serves the card once the reader is empty (stale-card rule) and waits until pcscd shows it. */
async function served(t: Test, args: string[], reader = READER0) {
  await readerState(reader, 'empty');
  const s = serve(t, args);
  await s.waitFor(/connected to vpcd/);
  const info = await readerState(reader, 'present');
  t.teardown(() => readerState(reader, 'empty').then(() => undefined));
  return { s, info };
}

for (const t0 of [false, true]) {
  t.test(`(a) personalization-like flow through pcscd + vpcd with PcscTransport (${t0 ? 'T=0' : 'T=1'} card)`, { skip }, async (t) => {
    const { s, info } = await served(t, ['--seed', '1', ...(t0 ? ['--t0'] : [])]);
    t.equal(toHex(info.atr!), atrOf(t0), 'the reader shows the simulated card\'s ATR');
    const tr = await PcscTransport.open(READER0);
    t.equal(tr.protocol, t0 ? 't0' : 't1');
    for (const r of await personalizationFlow(tr)) t.ok(r.ok, `${r.what}: ${r.command} → ${r.response}`);
    await tr.close();
    const { code, out } = await s.stop('SIGINT');
    t.equal(code, 0, 'exit 0 on SIGINT');
    t.match(out, /^contact: power on, ATR 3B/m);
    t.match(out, /^stopped \(SIGINT\): \d+ APDUs$/m);
    // T=0: the card answered 61xx/6Cxx to pcscd, and the transport fetched the rest.
    const apdus = Number(/stopped \(SIGINT\): (\d+) APDUs/.exec(out)![1]);
    t.ok(t0 ? apdus > 11 : apdus === 11, `${apdus} APDUs reached the card`);
  });
}

t.test('(b) opensc-tool reads the ATR and gets the expected answers; (c) scriptor runs a script', { skip }, async (t) => {
  const state = join(dir, 'card.json');
  // Personalize through PC/SC, save the card on SIGTERM, then serve the saved card again.
  const first = await served(t, ['--seed', '1', '--state', state]);
  const tr = await PcscTransport.open(READER0);
  for (const r of await personalizationFlow(tr)) t.ok(r.ok, r.what);
  await tr.close();
  const stopped = await first.s.stop();
  t.equal(stopped.code, 0);
  t.match(stopped.out, /card state saved to .*card\.json/);
  await readerState(READER0, 'empty');
  const { s } = await served(t, ['--state', state]);

  const atr = await run('opensc-tool', ['-r', READER0, '-a'], { timeout: 30_000 });
  t.equal(atr.stdout.trim().replace(/:/g, '').toUpperCase(), atrOf(false), 'opensc-tool -a prints the ATR');
  const sel = await run('opensc-tool', ['-r', READER0, '-s', '00A40000023F00'], { timeout: 30_000 });
  t.match(sel.stdout, /Received \(SW1=0x90, SW2=0x00\)/, 'opensc-tool -s SELECT MF: 9000');
  t.match(sel.stdout.replace(/\s+/g, ' '), /6F 13 82 01 38 83 02 3F 00/, 'and the FCP of the MF');
  const read = await run('opensc-tool', ['-r', READER0, '-s', '00B081000C'], { timeout: 30_000 });
  t.match(read.stdout, /Received \(SW1=0x90, SW2=0x00\)/);
  t.match(read.stdout.replace(/\s+/g, ''), BINARY_DATA.match(/../g)!.join(''), 'opensc-tool reads what PcscTransport wrote in the previous run');

  const script = join(dir, 'scriptor.txt');
  writeFileSync(script, ['00 A4 00 00 02 3F 00', '00 B0 81 00 0C', '00 B2 01 14 08', '00 84 00 00 08', '00 B2 09 14 08', ''].join('\n'));
  const sc = await run('scriptor', ['-r', READER0, script], { timeout: 30_000 });
  // scriptor echoes each line, prints "> command", then "< response : meaning" (long responses wrap).
  const answers: string[] = [];
  let current: string | undefined;
  for (const line of sc.stdout.split('\n')) {
    if (line.startsWith('< ')) current = line.slice(2);
    else if (current !== undefined) current += ` ${line}`;
    if (current !== undefined && / : /.test(current)) {
      answers.push(current.replace(/\s+/g, ' ').trim());
      current = undefined;
    }
  }
  t.equal(answers.length, 5, 'five answers');
  t.match(answers[0], /^6F 13 82 01 38 83 02 3F 00 .* 90 00 : Normal processing\.$/);
  t.equal(answers[1], 'CA FE BA BE 01 02 03 04 05 06 07 08 90 00 : Normal processing.');
  t.equal(answers[2], '11 22 33 44 55 66 77 88 90 00 : Normal processing.');
  t.match(answers[3], /^([0-9A-F]{2} ){8}90 00 : Normal processing\.$/);
  t.match(answers[4], /^6A 83 : /, 'record 9 does not exist');
  const end = await s.stop();
  t.equal(end.code, 0);
});

t.test('cardsmith readers and apdu (processes) against sim serve', { skip }, async (t) => {
  const { s } = await served(t, ['--seed', '1', '--verbose']);
  const list = await run(process.execPath, [BIN, 'readers', '--json'], { timeout: 30_000 });
  t.same(
    (JSON.parse(list.stdout) as { name: string }[]).filter((r) => r.name.startsWith('Virtual PCD')),
    [
      { name: READER0, card: true, atr: atrOf(false) },
      { name: READER1, card: false },
    ],
  );
  const script = join(dir, 'flow.apdu');
  writeFileSync(script, ['# select the MF, then a PIN that is not there', '00A40000023F00 [9000]', '0084000008 =9000', '0020000003123456 [9000]', '0084000004 [9000]'].join('\n'));
  const r = await run(process.execPath, [BIN, 'apdu', '--reader', 'PCD 00 00', '--script', script], { timeout: 30_000 }).catch((e: { code: number; stdout: string; stderr: string }) => e);
  t.equal((r as { code?: number }).code, 1, 'exit 1 at the unexpected SW');
  t.match(r.stderr, new RegExp(`flow\\.apdu:4: expected SW 9000, card answered [0-9A-F]{4}`));
  t.match(r.stdout, /^> 00 20 00 00 03 \[3 bytes\]$/m);
  t.equal(r.stdout.split('\n').filter((l) => l.startsWith('> ')).length, 3, 'line 5 never ran');
  const { out } = await s.stop();
  t.match(out, /contact: 00 20 00 00 03 \[3 bytes\] -> /, 'sim serve --verbose redacts the PIN too');
  t.notMatch(out, /123456/);
});

t.test('--interface both: contact in "Virtual PCD 00 00", contactless in "Virtual PCD 00 01"', { skip }, async (t) => {
  await readerState(READER1, 'empty');
  const { s } = await served(t, ['--seed', '1', '--interface', 'both']);
  const cl = await readerState(READER1, 'present');
  t.teardown(() => readerState(READER1, 'empty').then(() => undefined));
  t.equal(toHex(cl.atr!), atrOf(false, 'contactless'));
  const a = await PcscTransport.open(READER0);
  const b = await PcscTransport.open(READER1);
  t.equal(toHex((await a.transmit(Uint8Array.of(0x00, 0xa4, 0x00, 0x0c, 0x02, 0x3f, 0x00)))), '9000');
  t.equal(toHex((await b.transmit(Uint8Array.of(0x00, 0xa4, 0x00, 0x0c, 0x02, 0x3f, 0x00)))), '9000');
  await a.close();
  await b.close();
  const { code, out } = await s.stop();
  t.equal(code, 0);
  t.match(out, /^stopped \(SIGTERM\): \d+ APDUs \(contact \d+, contactless \d+\)$/m);
});

t.test('the card state is saved on a clean exit only: SIGKILL leaves no file', { skip }, async (t) => {
  const state = join(dir, 'never.json');
  const { s } = await served(t, ['--state', state]);
  const { code } = await s.stop('SIGKILL');
  t.equal(code, null, 'killed');
  t.throws(() => readFileSync(state), { code: 'ENOENT' }, 'nothing saved without a clean exit');
});
