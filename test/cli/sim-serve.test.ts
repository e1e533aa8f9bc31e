// `cardsmith sim serve` in-process against a fake vpcd (random loopback ports), stopped through the
// abort signal that stands in for SIGINT: one line per event, redacted --verbose APDUs, JSON lines,
// the state file saved on exit and loaded on start, a corrupt state file (exit 2), both interfaces.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { run } from '../../bin/main.js';
import type { Io } from '../../bin/io.js';
import { fromHex, toHex } from '../../bytes/index.js';
import type { Transport } from '../../transport/index.js';
import { FakeVpcd, type VpcdConnection, WAIT_MS, withTimeout } from '../helpers/fake-vpcd.js';
import { BINARY_DATA, personalizationFlow } from '../helpers/sscard-flow.js';

interface Running {
  lines: string[];
  err: () => string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Aborts (like SIGINT) and returns the exit code. */
  stop(): Promise<number>;
  done: Promise<number>;
}

function start(args: string[]): Running {
  const lines: string[] = [];
  let err = '';
  const io: Io = {
    out: (s) => lines.push(...s.replace(/\n$/, '').split('\n')),
    err: (s) => void (err += s),
    interactive: false,
    env: {},
    stdin: Readable.from(['']),
  };
  const ac = new AbortController();
  const done = run(['sim', 'serve', ...args], io, ac.signal);
  return {
    lines,
    err: () => err,
    done,
    async waitFor(re, timeoutMs = WAIT_MS) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines.find((l) => re.test(l));
        if (hit !== undefined) return hit;
        if (Date.now() > deadline) throw new Error(`no line matching ${re} within ${timeoutMs} ms:\n${lines.join('\n')}\n${err}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async stop() {
      ac.abort();
      return withTimeout(done, WAIT_MS, 'sim serve did not stop');
    },
  };
}

/** A Transport over a fake-vpcd connection: what pcscd would send, byte for byte. */
function viaVpcd(c: VpcdConnection): Transport {
  return {
    name: 'fake vpcd',
    atr: () => new Uint8Array(0),
    transmit: (cmd) => c.exchange(cmd),
    reset: async () => new Uint8Array(0),
    close: async () => undefined,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'cardsmith-serve-'));

t.test('one line per event; the APDU count on exit', async (t) => {
  const vpcd = await FakeVpcd.listen();
  t.teardown(() => vpcd.close());
  const s = start(['--vpcd', `127.0.0.1:${vpcd.port}`]);
  t.teardown(() => s.stop().catch(() => undefined));
  t.equal(await s.waitFor(/^serving/), `serving sscard (new, seed 0) on contact → vpcd 127.0.0.1:${vpcd.port}; Ctrl-C stops`);
  const c = await vpcd.accept();
  await s.waitFor(/^contact: connected to vpcd 127\.0\.0\.1:\d+$/);
  const atr = await c.exchange([0x04]);
  c.send([0x01]);
  t.equal(await s.waitFor(/power on/), `contact: power on, ATR ${toHex(atr)}`);
  t.equal(toHex(await c.exchange(fromHex('00A4000C023F00'))), '9000');
  t.equal(toHex((await c.exchange(fromHex('0084000008'))).subarray(-2)), '9000');
  c.send([0x00]);
  await s.waitFor(/^contact: power off$/);
  t.equal(await s.stop(), 0);
  t.equal(s.lines.at(-1), 'stopped (abort): 2 APDUs');
  t.notOk(s.lines.some((l) => /00A4|00 A4/.test(l)), 'no APDUs without --verbose');
  t.equal(s.err(), '');
});

t.test('--verbose: every APDU, with PIN and key data shown as [n bytes]', async (t) => {
  const vpcd = await FakeVpcd.listen();
  t.teardown(() => vpcd.close());
  const s = start(['--vpcd', `:${vpcd.port}`, '--verbose', '--seed', '7']);
  t.teardown(() => s.stop().catch(() => undefined));
  const c = await vpcd.accept();
  await c.exchange(fromHex('00A4000C023F00'));
  await c.exchange(fromHex('0020000003123456'));
  await c.exchange(fromHex('0082000008F30B98CA8EBBC512'));
  await c.exchange(fromHex('80D4000005AABBCCDDEE'));
  t.match(await s.waitFor(/00 A4 00 0C/), /^contact: 00 A4 00 0C 02 3F00 -> 9000 \(\d+\.\d\d ms\)$/);
  t.match(await s.waitFor(/00 20 00 00/), /^contact: 00 20 00 00 03 \[3 bytes\] -> [0-9A-F]{4} /);
  t.match(await s.waitFor(/00 82 00 00/), /^contact: 00 82 00 00 08 \[8 bytes\] -> /);
  t.match(await s.waitFor(/80 D4 00 00/), /^contact: 80 D4 00 00 05 \[5 bytes\] -> /);
  t.notMatch(s.lines.join('\n'), /123456|F30B98CA|AABBCCDD/, 'no PIN or key bytes in the log');
  t.equal(await s.stop(), 0);
  t.match(s.lines.at(-1), /^stopped \(abort\): 4 APDUs$/);
});

t.test('--json: JSON lines', async (t) => {
  const vpcd = await FakeVpcd.listen();
  t.teardown(() => vpcd.close());
  const s = start(['--vpcd', `:${vpcd.port}`, '--json', '--verbose', '--t0']);
  t.teardown(() => s.stop().catch(() => undefined));
  const c = await vpcd.accept();
  c.send([0x01]);
  await c.exchange(fromHex('00A40000023F00'));
  await s.waitFor(/"event":"apdu"/);
  t.equal(await s.stop(), 0);
  const events = s.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(events[0], { event: 'serving', card: 'sscard', loaded: false, seed: 0, t0: true, state: null });
  t.match(events[1], { event: 'connected', interface: 'contact', host: '127.0.0.1', port: vpcd.port });
  t.match(events[2], { event: 'power-on', interface: 'contact', atr: /^3B/ });
  t.match(events[3], { event: 'apdu', command: '00 A4 00 00 02 3F00', response: /^61[0-9A-F]{2}$/, switched: false });
  t.match(events.at(-1), { event: 'stopped', reason: 'abort', apdus: 1, perInterface: { contact: 1 }, state: null });
});

t.test('--state: saved on exit, loaded at the next start; --seed is then ignored with a note', async (t) => {
  const file = join(dir, 'card.json');
  const vpcd = await FakeVpcd.listen();
  t.teardown(() => vpcd.close());
  const first = start(['--vpcd', `:${vpcd.port}`, '--state', file, '--seed', '3']);
  t.teardown(() => first.stop().catch(() => undefined));
  t.match(await first.waitFor(/^serving/), new RegExp(`^serving sscard \\(new, seed 3, saved to .*card\\.json on exit\\)`));
  const c1 = await vpcd.accept();
  for (const r of await personalizationFlow(viaVpcd(c1))) t.ok(r.ok, `${r.what} → ${r.response}`);
  t.equal(await first.stop(), 0);
  t.match(first.lines.at(-1), /^stopped \(abort\): 11 APDUs; card state saved to .*card\.json$/);
  t.match(JSON.parse(readFileSync(file, 'utf8')), { format: 'cardsmith-card-image' });

  const second = start(['--vpcd', `:${vpcd.port}`, '--state', file, '--seed', '9']);
  t.teardown(() => second.stop().catch(() => undefined));
  t.match(await second.waitFor(/^note:/), /--seed 9 ignored: the card loaded from .*card\.json keeps its own seed/);
  t.match(await second.waitFor(/^serving/), /^serving sscard \(loaded from .*card\.json\)/);
  const c2 = await vpcd.accept();
  t.equal(toHex(await c2.exchange(fromHex('00B081000C'))), `${BINARY_DATA}9000`, 'what the first run wrote');
  t.equal(await second.stop(), 0);
});

t.test('a corrupt state file is exit 2 naming the file; nothing is served', async (t) => {
  const bad = join(dir, 'corrupt.json');
  writeFileSync(bad, '{"format":"cardsmith-card-image","version":1,"cells":[]}');
  const s = start(['--vpcd', ':1', '--state', bad]);
  t.equal(await s.done, 2);
  t.match(s.err(), new RegExp(`^cardsmith: card state file ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a usable card image: .*\\(fix or delete it`));
  t.equal(s.err().trim().split('\n').length, 1);
  t.same(s.lines, []);
});

t.test('a malformed frame is logged, the connection closed, and serving goes on', async (t) => {
  const vpcd = await FakeVpcd.listen();
  t.teardown(() => vpcd.close());
  const s = start(['--vpcd', `:${vpcd.port}`]);
  t.teardown(() => s.stop().catch(() => undefined));
  const c1 = await vpcd.accept();
  c1.sendRaw([0x00, 0x00]);
  await c1.waitClosed();
  t.equal(await s.waitFor(/malformed/), 'contact: malformed frame from vpcd: frame of length 0; connection closed');
  t.match(await s.waitFor(/disconnected/), /^contact: disconnected: closed after a malformed frame \(frame of length 0\); reconnecting$/);
  const c2 = await vpcd.accept();
  t.equal(toHex(await c2.exchange(fromHex('00A4000C023F00'))), '9000');
  t.equal(await s.stop(), 0);
});

t.test('vpcd not there: one line, then it keeps trying until vpcd comes', async (t) => {
  const probe = await FakeVpcd.listen();
  const port = probe.port;
  await probe.close();
  const s = start(['--vpcd', `:${port}`]);
  t.teardown(() => s.stop().catch(() => undefined));
  t.match(await s.waitFor(/not reachable/), new RegExp(`^contact: vpcd 127\\.0\\.0\\.1:${port} not reachable \\(ECONNREFUSED\\); retrying \\(is pcscd with vsmartcard-vpcd running\\?\\)$`));
  await new Promise((r) => setTimeout(r, 400));
  t.equal(s.lines.filter((l) => /not reachable/.test(l)).length, 1, 'said once, not on every retry');
  const vpcd = await FakeVpcd.listen(port);
  t.teardown(() => vpcd.close());
  await vpcd.accept(5000);
  await s.waitFor(/connected to vpcd/);
  t.equal(await s.stop(), 0);
});

t.test('--interface both: contact on PORT, contactless on PORT+1, one card', async (t) => {
  let contact: FakeVpcd | undefined;
  let cl: FakeVpcd | undefined;
  for (let i = 0; i < 20 && !cl; i++) {
    contact = await FakeVpcd.listen();
    cl = await FakeVpcd.listen(contact.port + 1).catch(() => undefined);
    if (!cl) await contact.close();
  }
  if (!contact || !cl) throw new Error('no two consecutive free ports');
  t.teardown(async () => {
    await contact!.close();
    await cl!.close();
  });
  const s = start(['--vpcd', `127.0.0.1:${contact.port}`, '--interface', 'both', '--verbose']);
  t.teardown(() => s.stop().catch(() => undefined));
  t.match(await s.waitFor(/^serving/), new RegExp(`contact → vpcd 127\\.0\\.0\\.1:${contact.port}, contactless → vpcd 127\\.0\\.0\\.1:${contact.port + 1}`));
  const a = await contact.accept();
  const b = await cl.accept();
  const atrA = toHex(await a.exchange([0x04]));
  const atrB = toHex(await b.exchange([0x04]));
  t.not(atrA, atrB, 'each interface has its own ATR');
  t.equal(toHex(await a.exchange(fromHex('00A4000C023F00'))), '9000');
  t.equal(toHex(await b.exchange(fromHex('00A4000C023F00'))), '9000');
  t.match(await s.waitFor(/^contactless: 00 A4/), /card switched to this interface/);
  t.equal(await s.stop(), 0);
  t.equal(s.lines.at(-1), 'stopped (abort): 2 APDUs (contact 1, contactless 1)');
});
