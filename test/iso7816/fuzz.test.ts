// Seeded random and mutated inputs: every parser either returns or throws Iso7816Error, never
// another error type (no TypeError from reading past an array, no stack overflow).
import t from 'tap';
import { equal, toHex } from '../../bytes/index.js';
import {
  decodeAn,
  decodeBcd,
  decodeCn,
  decodeDateCn,
  decodeGbk,
  encodeCommand,
  encodeDgi,
  Iso7816Error,
  parseCommand,
  parseDgis,
  parseResponse,
  parseTlv,
  type TlvNode,
} from '../../iso7816/index.js';
import { counting, h } from './fixtures/helpers.js';

/** Numerical Recipes LCG: small, seedable, the same sequence on every machine. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
}

const SEEDS = [
  h('00A4040007A000000003101000'),
  h('00A40400000007A00000000310100100'),
  h('00B00000000100'),
  h('80E2800100' + '012C' + toHex(counting(300))),
  h('6F23840E325041592E5359532E4444463031A511BF0C0E610C4F07A0000003330101870101'),
  h('9F0206000000001000DF810102ABCD5381C8' + toHex(counting(200))),
  h('0101034142438000FF012C' + toHex(counting(300))),
  h('D5C5C8FD0000'),
  h('20231231'),
];

function makeInput(next: () => number, k: number): Uint8Array {
  const byte = () => next() >>> 24;
  if (k % 2 === 0) {
    // Pure noise, mostly short (where the header logic lives), sometimes long.
    const n = next() % 8 === 0 ? next() % 400 : next() % 24;
    return Uint8Array.from({ length: n }, byte);
  }
  // A valid sample, mutated: flip, truncate, or insert.
  const seed = SEEDS[next() % SEEDS.length]!;
  const out = Array.from(seed);
  const edits = 1 + (next() % 3);
  for (let e = 0; e < edits && out.length > 0; e++) {
    const at = next() % out.length;
    const kind = next() % 3;
    if (kind === 0) out[at] = byte();
    else if (kind === 1) out.length = at;
    else out.splice(at, 0, byte());
  }
  return Uint8Array.from(out);
}

type Check = (input: Uint8Array) => void;

const tlvOffsetsOk = (input: Uint8Array, nodes: TlvNode[]): boolean =>
  nodes.every((n) => equal(input.subarray(n.offset, n.offset + n.tagBytes.length), n.tagBytes) && (!n.children || tlvOffsetsOk(input, n.children)));

const parsers: Record<string, Check> = {
  parseCommand: (input) => {
    const c = parseCommand(input);
    // Whatever parses must re-encode to exactly the same bytes.
    if (!equal(encodeCommand(c, { extended: c.extended }), input)) throw new Error(`round trip failed for ${toHex(input)}`);
  },
  parseResponse: (input) => void parseResponse(input),
  parseTlv: (input) => {
    if (!tlvOffsetsOk(input, parseTlv(input))) throw new Error(`bad offsets for ${toHex(input)}`);
  },
  'parseTlv padding': (input) => {
    if (!tlvOffsetsOk(input, parseTlv(input, { padding: true }))) throw new Error(`bad offsets for ${toHex(input)}`);
  },
  parseDgis: (input) => {
    for (const d of parseDgis(input)) {
      const encoded = encodeDgi(d.dgi, d.data);
      if (!equal(input.subarray(d.offset, d.offset + 2), encoded.subarray(0, 2))) throw new Error(`bad offset for ${toHex(input)}`);
    }
  },
  decodeBcd: (input) => void decodeBcd(input),
  decodeCn: (input) => void decodeCn(input),
  decodeAn: (input) => void decodeAn(input),
  decodeGbk: (input) => void decodeGbk(input),
  'decodeGbk FF': (input) => void decodeGbk(input, 0xff),
  // Dates are fixed at 4 bytes (a wrong size is a RangeError by design), so take the first four.
  decodeDateCn: (input) => void (input.length >= 4 && decodeDateCn(input.subarray(0, 4))),
};

t.test('random and mutated buffers: a result or an Iso7816Error', async (t) => {
  const next = lcg(0x7816);
  const BUFFERS = 4000;
  const stats = Object.fromEntries(Object.keys(parsers).map((name) => [name, { ok: 0, rejected: 0, wrong: [] as string[] }]));
  for (let k = 0; k < BUFFERS; k++) {
    const input = makeInput(next, k);
    for (const [name, check] of Object.entries(parsers)) {
      const s = stats[name]!;
      try {
        check(input);
        s.ok++;
      } catch (e) {
        if (e instanceof Iso7816Error && Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= input.length) s.rejected++;
        else if (s.wrong.length < 5) s.wrong.push(`${toHex(input)}: ${String(e)}`);
      }
    }
  }
  for (const [name, s] of Object.entries(stats)) {
    t.same(s.wrong, [], `${name}: ${s.ok} parsed, ${s.rejected} rejected with Iso7816Error, nothing else`);
  }
  // The corpus must exercise both outcomes, or the test proves little.
  for (const name of ['parseCommand', 'parseTlv', 'parseDgis']) {
    t.ok(stats[name]!.ok > 100 && stats[name]!.rejected > 100, `${name} saw both valid and invalid input`);
  }
});
