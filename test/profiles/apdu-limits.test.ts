// card.maxCommandData / card.maxResponseLength / card.protocols ("scripts use the fewest
// APDUs the card allows"): defaults, the built-in profiles against the simulated card's real
// limits (its I/O buffer, the protocols its ATR offers), and the validation rules. The broken
// corpus (broken/apdu-length-*.yaml) holds the file:line:column cases.
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { MAX_SHORT_DATA, MAX_SHORT_LE } from '../../iso7816/index.js';
import { formatDiagnostic, formatLoc, loadProfile, PROFILE_SCHEMA, validateProfile } from '../../profiles/index.js';
import { createSsCard, MAX_COMMAND_DATA } from '../../simulator/index.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const MINI = here('fixtures/mini.yaml');
const MINI_GP = here('fixtures/mini-gp.yaml');

/** The protocols (T=…) an ATR offers, from its TDi bytes (ISO/IEC 7816-3 §8.2); no TD1 = T=0 only. */
function atrProtocols(atr: Uint8Array): Set<number> {
  const out = new Set<number>();
  let i = 1;
  let y = atr[i]! >> 4;
  let first = true;
  for (;;) {
    const td = y & 0x8 ? atr[i + popcount(y & 0x7) + 1] : undefined;
    i += popcount(y);
    if (td === undefined) break;
    out.add(td & 0x0f);
    y = td >> 4;
    first = false;
  }
  if (first) out.add(0);
  return out;
}

function popcount(n: number): number {
  let c = 0;
  for (let x = n; x; x >>= 1) c += x & 1;
  return c;
}

/** Validates `text` as a profile file next to the fixtures (so `extends: mini.yaml` resolves). */
function check(text: string, name = 'virtual.yaml') {
  return validateProfile(here(`fixtures/${name}`), { text, display: name });
}

t.test('a profile that says nothing keeps short APDUs: 255 / 256', async (t) => {
  const p = loadProfile(MINI);
  t.equal(p.maxCommandData, MAX_SHORT_DATA);
  t.equal(p.maxResponseLength, MAX_SHORT_LE);
  t.equal(p.protocols, undefined);
  const gp = loadProfile('builtin:gp-cps');
  t.equal(gp.maxCommandData, 255, 'gp-cps: short (its commands go through the secure channel)');
  t.equal(gp.maxResponseLength, 256);
});

t.test("the built-in sscard profiles declare what the simulated card takes", async (t) => {
  for (const name of ['builtin:sscard-gen3', 'builtin:sscard-gen3-sm4']) {
    const p = loadProfile(name);
    t.equal(p.maxCommandData, MAX_COMMAND_DATA, `${name}: maxCommandData = the simulator's I/O buffer (${MAX_COMMAND_DATA})`);
    t.equal(p.maxResponseLength, 65536, `${name}: maxResponseLength 65536 (the simulator answers up to Ne)`);
    t.same(p.protocols, ['t1'], `${name}: T=1`);
    t.equal(p.interfaces[0], 'contact', 'scripts are written for the contact interface');
  }
  // The simulated card's contact ATR offers T=1 only (extended APDUs pass), its T=0 ATR T=0 only
  // (the card then refuses every extended APDU with 6700, test/prep/apdu-limits.test.ts).
  t.same([...atrProtocols(createSsCard({ seed: 1 }).powerOn('contact'))], [1], 'default contact ATR: T=1');
  t.same([...atrProtocols(createSsCard({ seed: 1, t0: true }).powerOn('contact'))], [0], 't0 contact ATR: T=0');
});

t.test('limits are read as written; T=0 is fine while everything stays short', async (t) => {
  const r = check('extends: mini.yaml\ncard:\n  protocols: [t0, t1]\n  maxCommandData: 600\n  maxResponseLength: 1000\n');
  t.ok(r.ok, 'T=0 and T=1: valid', { d: r.diagnostics.map(formatDiagnostic) });
  t.equal(r.profile?.maxCommandData, 600);
  t.equal(r.profile?.maxResponseLength, 1000);
  t.same(r.profile?.protocols, ['t0', 't1']);
  const short = check('extends: mini.yaml\ncard:\n  protocols: [t0]\n  maxCommandData: 255\n  maxResponseLength: 256\n');
  t.ok(short.ok, 'T=0 with the short maxima: valid', { d: short.diagnostics.map(formatDiagnostic) });
  const smaller = check('extends: mini.yaml\ncard:\n  protocols: [t0]\n  maxCommandData: 128\n');
  t.ok(smaller.ok, 'a card taking less than 255 bytes: valid');
  t.equal(smaller.profile?.maxCommandData, 128);
});

t.test('extended lengths on a T=0-only contact card are refused where they are written', async (t) => {
  const r = check('extends: mini.yaml\ncard:\n  protocols: [t0]\n  maxCommandData: 1024\n');
  t.notOk(r.ok);
  const d = r.diagnostics.find((x) => x.code === 'apdu-length');
  t.ok(d, 'apdu-length');
  t.equal(formatLoc(d!.loc), 'virtual.yaml:4:19', 'at the value');
  t.match(d!.message, /card\.maxCommandData 1024 needs extended-length APDUs/);
  t.match(d!.hint ?? '', /add t1 to card\.protocols/);
  // Contactless first: scripts go over ISO/IEC 14443-4, which carries extended APDUs.
  const cl = check('extends: mini.yaml\ncard:\n  interfaces: [contactless, contact]\n  protocols: [t0]\n  maxCommandData: 1024\n');
  t.ok(cl.ok, 'contactless first: valid', { d: cl.diagnostics.map(formatDiagnostic) });
  // Without card.protocols nothing is known about T=0, so nothing is said.
  t.ok(check('extends: mini.yaml\ncard:\n  maxCommandData: 1024\n').ok, 'no protocols stated: valid');
});

t.test('the schema bounds the values (Nc ≤ 65535, Ne ≤ 65536) and names the protocols', async (t) => {
  const card = (PROFILE_SCHEMA.properties.card as { properties: Record<string, { minimum?: number; maximum?: number; items?: { enum?: string[] } }> }).properties;
  t.equal(card.maxCommandData!.maximum, 65535);
  t.equal(card.maxResponseLength!.maximum, 65536);
  t.equal(card.maxCommandData!.minimum, 1);
  t.same(card.protocols!.items!.enum, ['t0', 't1']);
  const r = check('extends: mini.yaml\ncard:\n  maxResponseLength: 65537\n  protocols: [t2]\n');
  t.notOk(r.ok);
  t.ok(r.diagnostics.some((d) => d.code === 'out-of-range' && formatLoc(d.loc) === 'virtual.yaml:3:22'), 'maxResponseLength 65537 out of range', { d: r.diagnostics.map(formatDiagnostic) });
  t.ok(r.diagnostics.some((d) => d.code === 'bad-value' && formatLoc(d.loc).startsWith('virtual.yaml:4:')), 'protocol t2 is not one', { d: r.diagnostics.map(formatDiagnostic) });
});

t.test('a globalplatform profile gets a warning: its commands go through the secure channel (short)', async (t) => {
  const r = validateProfile(here('fixtures/virtual-gp.yaml'), { text: 'extends: mini-gp.yaml\ncard:\n  maxCommandData: 1024\n', display: 'virtual-gp.yaml' });
  t.ok(r.ok, 'valid', { d: r.diagnostics.map(formatDiagnostic) });
  const w = r.diagnostics.find((d) => d.code === 'apdu-length');
  t.equal(w?.severity, 'warning');
  t.equal(formatLoc(w!.loc), 'virtual-gp.yaml:3:19');
  t.match(w!.message, /secure channel/);
  void MINI_GP;
});
