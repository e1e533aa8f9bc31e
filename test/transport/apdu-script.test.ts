// The APDU script format (docs/readers.md): what each line form means, where errors point
// (file:line:column), and the runner stopping at the first unexpected status word.
import t from 'tap';
import { toHex } from '../../bytes/index.js';
import { parseApduLine, parseApduScript, runApduScript, ScriptError, SimulatorTransport, swMatches } from '../../transport/index.js';
import { FakeCard } from '../helpers/fake-card.js';

const SCRIPT = [
  '\uFEFF# select the application',
  '',
  '00 A4 04 00 07 A0000000031010 00      # spaces anywhere, trailing comment',
  '00B2010404 [9000]',
  '00B2020402=9000',
  '0020000103 123457 [9000 | 63CX]',
  '  00:B0:00:00:04 [90XX,6282]',
  '!00A404',
  '00B2090400 = 6A83',
  '\t# indented comment',
].join('\r\n');

t.test('every line form parses to a command and its expectations', async (t) => {
  const steps = parseApduScript(SCRIPT, 'demo.apdu');
  t.same(
    steps.map((s) => [s.line, toHex(s.command), s.raw, s.expect?.map((p) => p.text)]),
    [
      [3, '00A4040007A000000003101000', false, undefined],
      [4, '00B2010404', false, ['9000']],
      [5, '00B2020402', false, ['9000']],
      [6, '0020000103123457', false, ['9000', '63CX']],
      [7, '00B0000004', false, ['90XX', '6282']],
      [8, '00A404', true, undefined],
      [9, '00B2090400', false, ['6A83']],
    ],
  );
});

t.test('status word patterns: X (or ?) matches any hex digit', async (t) => {
  const p = parseApduLine('00B0000001 [63CX|9000|6?8?]', 'f', 1)!.expect!;
  t.ok(swMatches(0x63c2, p));
  t.ok(swMatches(0x9000, p));
  t.ok(swMatches(0x6a82, p));
  t.notOk(swMatches(0x6300, p));
  t.notOk(swMatches(0x9001, p));
  t.equal(p[2]!.text, '6X8X');
});

t.test('errors name file:line:column and what to write instead', async (t) => {
  const cases: [string, RegExp][] = [
    ['00B2010404 [9000', /^s\.apdu:2:12: '\[' without a closing '\]'/],
    ['00B2010404 [900]', /^s\.apdu:2:13: expected status word "900" is not 4 hex digits/],
    ['00B2010404 [9000] extra', /^s\.apdu:2:18: unexpected text after '\]': "extra"/],
    ['00B2010404 []', /^s\.apdu:2:13: empty expected status word/],
    ['00B2010404 =', /^s\.apdu:2:13: empty expected status word/],
    ['[9000]', /^s\.apdu:2:1: no command APDU before the expected status word/],
    ['  00B2G10404', /^s\.apdu:2:7: APDU: 'G' is not a hex digit/],
    ['00B201040', /^s\.apdu:2:10: APDU: odd number of hex digits \(9\)/],
    ['00A404', /^s\.apdu:2:1: not a well-formed command APDU: header at offset 0 is too short.*start the line with '!'/],
    ['00A4040005AABB', /^s\.apdu:2:1: not a well-formed command APDU: Lc at offset 4 says 5 data bytes but only 2 follow/],
    ['  !  ', /^s\.apdu:2:6: no bytes after !/],
  ];
  for (const [line, re] of cases) {
    const e = (() => {
      try {
        parseApduScript(`# first line\n${line}\n00B0000001`, 's.apdu');
      } catch (x) {
        return x as ScriptError;
      }
      return undefined;
    })();
    t.type(e, ScriptError, line);
    t.match(e?.message ?? '', re, line);
    t.equal(e?.line, 2);
  }
});

t.test('the runner stops at the first status word that misses its expectation', async (t) => {
  const tr = new SimulatorTransport(new FakeCard({ t0: true }));
  const steps = parseApduScript(['00B2010400 [9000]', '00B2020400', '00B2090400 [9000]', '00B2010404'].join('\n'), 's');
  const seen: number[] = [];
  const out = await runApduScript(tr, steps, (r) => seen.push(r.step.line));
  t.same(seen, [1, 2, 3], 'line 4 never ran');
  t.equal(out.failed?.step.line, 3);
  t.equal(out.failed?.sw, 0x6a83);
  t.equal(toHex(out.results[0]!.response), '010203049000', 'T=0 resolved before the check');
  t.ok(out.results.every((r) => r.ms >= 0));
  const ok = await runApduScript(tr, parseApduScript('00B2010404=9000\n00B2090404 [6A83]', 's'));
  t.equal(ok.failed, undefined);
  t.equal(ok.results.length, 2);
});
