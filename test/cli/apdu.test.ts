// `cardsmith apdu` and `cardsmith readers`: bad input exits 2 before anything is sent; against a
// PC/SC reader (the test double card served into "Virtual PCD 00 00" by the in-process vpcd bridge)
// the pairs print, --json prints an array, a script stops at the first unexpected SW with exit 1
// and the line number, and PIN data never shows. PC/SC parts skip, with the reason, without pcscd.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { VpcdBridge } from '../../transport/index.js';
import { loadPcsc } from '../../transport/index.js';
import { cli, cliProcess } from '../helpers/cli.js';
import { binSkipReason, lockStack, READER0, readerState, stackSkipReason } from '../helpers/pcsc.js';
import { FakeCard } from '../helpers/fake-card.js';

const dir = mkdtempSync(join(tmpdir(), 'cardsmith-apdu-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

t.test('bad input exits 2 with one line and sends nothing', async (t) => {
  const cases: [string[], RegExp][] = [
    [['apdu', '00A40400'], /Missing required argument: reader/],
    [['apdu', '--reader', 'sim'], /give at least one APDU in hex, or --script FILE/],
    [['apdu', '--reader', 'sim', '--script', file('a.apdu', '00B0000001'), '00B0000001'], /not both/],
    [['apdu', '--reader', 'sim', '00B0G00001'], /^cardsmith: argument:1:5: APDU: 'G' is not a hex digit/],
    [['apdu', '--reader', 'sim', '00B0000001', '00A404'], /^cardsmith: argument:2:1: not a well-formed command APDU/],
    [['apdu', '--reader', 'sim', '--script', file('bad.apdu', '# ok\n00B0000001 [9000]\n00B0000001 [90]\n')], /bad\.apdu:3:13: expected status word "90" is not 4 hex digits/],
    [['apdu', '--reader', 'sim', '--script', join(dir, 'missing.apdu')], /--script: cannot read .*missing\.apdu \(ENOENT\)/],
    [['apdu', '--reader', 'sim:gp?t0', '00B0000001'], /GlobalPlatform card simulator speaks T=1 only/],
    [['apdu', '--reader', 'sim:sscard?sed=1', '00B0000001'], /unknown parameter "sed"; known: seed, interface, iface, t0, state/],
    [['apdu', '--reader', 'sim?seed=-1', '00B0000001'], /seed must be an integer 0\.\.4294967295/],
    [['apdu', '--reader', 'sim?interface=nfc', '00B0000001'], /interface must be contact or contactless, not "nfc"/],
    [['apdu', '--reader', 'pcsc:', '00B0000001'], /name the PC\/SC reader after the colon/],
    [['apdu', '--reader', 'sim', '--wait', '-1', '00B0000001'], /--wait: expected seconds >= 0/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.err, re, args.join(' '));
    t.equal(r.err.trim().split('\n').length, 1, 'one line');
    t.equal(r.out, '', 'nothing printed on stdout');
  }
});

const noPackage = await loadPcsc().then(
  () => false as const,
  (e: unknown) => (e as Error).message,
);

t.test('pcscd not reachable: readers and apdu exit 1 with an actionable line', { skip: noPackage || binSkipReason() }, async (t) => {
  // libpcsclite honours PCSCLITE_CSOCK_NAME: a socket that does not exist is a service that does not run.
  const env = { PCSCLITE_CSOCK_NAME: join(dir, 'no-pcscd.comm') };
  for (const args of [['readers'], ['apdu', '--reader', READER0, '00A4000C023F00']]) {
    const r = cliProcess(args, { env });
    t.equal(r.code, 1, args.join(' '));
    t.equal(r.err, 'cardsmith: PC/SC: the PC/SC service is not running; start pcscd (on a test machine: scripts/pcsc-stack.sh start) (PC/SC: "PC/SC service not running")\n');
    t.equal(r.out, '');
  }
});

const skip = await stackSkipReason();
if (!skip) await lockStack(t);

async function withCard(t: Test, card = new FakeCard()): Promise<FakeCard> {
  await readerState(READER0, 'empty');
  const bridge = new VpcdBridge({ card });
  bridge.start();
  t.teardown(async () => {
    await bridge.stop();
    await readerState(READER0, 'empty');
  });
  await readerState(READER0, 'present');
  return card;
}

t.test('readers: lists the virtual readers, card and ATR; --json', { skip }, async (t) => {
  await withCard(t);
  const text = await cli(['readers']);
  t.equal(text.code, 0, text.err);
  t.match(text.out, /^Virtual PCD 00 00 {2}card {3}ATR 3B80800101$/m);
  t.match(text.out, /^Virtual PCD 00 01 {2}empty$/m);
  const json = await cli(['readers', '--json']);
  const rows = JSON.parse(json.out) as { name: string; card: boolean; atr?: string }[];
  t.same(rows.filter((r) => r.name.startsWith('Virtual PCD')), [
    { name: READER0, card: true, atr: '3B80800101' },
    { name: 'Virtual PCD 00 01', card: false },
  ]);
});

t.test('apdu with hex arguments on a PC/SC reader (exact name or part of it)', { skip }, async (t) => {
  await withCard(t, new FakeCard({ t0: true }));
  const r = await cli(['apdu', '--reader', 'PCD 00 00', '00A4040007A000000003101000', '00B2010400=9000', '00B2090404']);
  t.equal(r.code, 0, r.err);
  t.equal(
    r.out,
    [
      '> 00 A4 04 00 07 A0000000031010 00',
      '< 6F0B8407A0000000031010A500 9000',
      '> 00 B2 01 04 00',
      '< 01020304 9000',
      '> 00 B2 09 04 04',
      '< 6A83  (record not found)',
      '',
    ].join('\n'),
  );
  const bad = await cli(['apdu', '--reader', 'PCD 00 00', '00B2090404 [9000]']);
  t.equal(bad.code, 1);
  t.match(bad.err, /^cardsmith: argument 1: expected SW 9000, card answered 6A83 \(record not found\); stopped there$/m);
});

t.test('apdu --script: stops at the first mismatch with exit 1 and the line; --json prints an array', { skip }, async (t) => {
  await withCard(t);
  const script = file(
    'flow.apdu',
    ['# a flow', '00A4040007A000000003101000 [9000]', '0020000103123456 [9000]   # PIN: never printed', '00B2090400 [9000]', '00B2010404 [9000]'].join('\n'),
  );
  const text = await cli(['apdu', '--reader', READER0, '--script', script]);
  t.equal(text.code, 1);
  t.match(text.err, new RegExp(`${script.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: expected SW 9000, card answered 6A83`));
  t.match(text.out, /^> 00 20 00 01 03 \[3 bytes\]$/m, 'VERIFY data redacted');
  t.notMatch(text.out, /123456/, 'no PIN bytes anywhere');
  t.equal(text.out.split('\n').filter((l) => l.startsWith('>')).length, 3, 'line 5 never ran');
  const json = await cli(['apdu', '--reader', READER0, '--script', script, '--json']);
  t.equal(json.code, 1);
  const arr = JSON.parse(json.out) as Record<string, unknown>[];
  t.equal(arr.length, 3);
  t.match(arr[0], { line: 2, command: '00 A4 04 00 07 A0000000031010 00', sw: '9000', expect: ['9000'], ok: true });
  t.match(arr[1], { line: 3, command: '00 20 00 01 03 [3 bytes]', response: '9000', data: '' });
  t.match(arr[2], { line: 4, sw: '6A83', ok: false });
  t.notMatch(json.out, /123456/);
});

t.test('apdu: a reader that does not exist is exit 2, an empty reader exit 1 (with --wait bounded)', { skip }, async (t) => {
  await readerState(READER0, 'empty');
  const none = await cli(['apdu', '--reader', 'No Such Reader', '00B0000001']);
  t.equal(none.code, 2);
  t.match(none.err, /no PC\/SC reader matches "No Such Reader"; readers: "Virtual PCD 00 00"/);
  const ambiguous = await cli(['apdu', '--reader', 'Virtual', '00B0000001']);
  t.equal(ambiguous.code, 2);
  t.match(ambiguous.err, /matches 2 readers/);
  const empty = await cli(['apdu', '--reader', READER0, '00B0000001']);
  t.equal(empty.code, 1);
  t.match(empty.err, /Virtual PCD 00 00: no card in the reader; insert one/);
  const started = Date.now();
  const waited = await cli(['apdu', '--reader', READER0, '--wait', '0.5', '00B0000001']);
  t.equal(waited.code, 1);
  t.match(waited.err, /no card after 500 ms/);
  t.ok(Date.now() - started < 5000);
});
