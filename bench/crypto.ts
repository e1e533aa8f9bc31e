// bench/crypto: time per single-block operation of each primitive cardsmith uses, measured in one
// run next to the alternative it did not choose (noble vs node:crypto), printed as ratios.
// Run: npm run bench:crypto   (node dist/bench/crypto.js [--json])
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { createHash, randomBytes } from 'node:crypto';
import { aesEncryptCbc, aesEncryptEcb } from '../crypto/aes.js';
import { cmac, cmacOverBlockCalls } from '../crypto/cmac.js';
import { des3EncryptEcb } from '../crypto/des3.js';
import { hash } from '../crypto/hash.js';
import { opensslCrypt } from '../crypto/node-cipher.js';
import { retailMac } from '../crypto/mac.js';
import { sm2GenerateKeyPair, sm2Sign, sm2Verify } from '../crypto/sm2.js';
import { sm3 } from '../crypto/sm3.js';
import { sm4EncryptEcb } from '../crypto/sm4.js';
import { fmtNs, measure, measurePair, verdictLine, type Timing } from './measure.js';

const bytes = (n: number) => new Uint8Array(randomBytes(n));
const k16 = bytes(16);
const k24 = bytes(24);
const k32 = bytes(32);
const b8 = bytes(8);
const b16 = bytes(16);
const msg32 = bytes(32);
const iv16 = new Uint8Array(16);
const kb32 = bytes(32 * 1024);

/** Chosen and alternative measured with interleaved rounds (bench/measure.ts). */
function pair(chosen: [string, () => unknown], alternative: [string, () => unknown]): { chosen: Timing; alternative: Timing } {
  const [c, a] = measurePair(chosen, alternative);
  return { chosen: c, alternative: a };
}

interface Row {
  primitive: string;
  chosen: Timing;
  alternative?: Timing;
  note?: string;
}

const rows: Row[] = [
  {
    primitive: 'AES-128 ECB, 1 block',
    ...pair(['noble', () => aesEncryptEcb(k16, b16)], ['node:crypto', () => opensslCrypt('aes-128-ecb', k16, null, b16, true)]),
  },
  {
    primitive: 'AES-256 ECB, 1 block',
    ...pair(['noble', () => aesEncryptEcb(k32, b16)], ['node:crypto', () => opensslCrypt('aes-256-ecb', k32, null, b16, true)]),
  },
  {
    primitive: 'AES-128 CBC, 2 blocks',
    ...pair(['noble', () => aesEncryptCbc(k16, iv16, msg32)], ['node:crypto', () => opensslCrypt('aes-128-cbc', k16, iv16, msg32, true)]),
  },
  {
    primitive: 'AES-CMAC, 32-byte message',
    ...pair(['noble cmac', () => cmac('aes', k16, msg32)], ['SP 800-38B over AES block calls', () => cmacOverBlockCalls('aes', k16, msg32)]),
  },
  {
    primitive: '3DES (3-key) ECB, 1 block',
    chosen: measure('node:crypto', () => des3EncryptEcb(k24, b8)),
    note: 'no DES in @noble/ciphers',
  },
  {
    primitive: 'retail MAC (ISO 9797-1 alg 3), 32 bytes',
    chosen: measure('node:crypto DES', () => retailMac(k16, msg32)),
    note: 'no DES in @noble/ciphers',
  },
  {
    primitive: 'SM4 ECB, 1 block',
    chosen: measure('node:crypto', () => sm4EncryptEcb(k16, b16)),
    note: 'no SM4 in @noble/ciphers',
  },
  {
    primitive: 'SM3, 32-byte message',
    chosen: measure('node:crypto', () => sm3(msg32)),
    note: 'no SM3 in @noble/hashes',
  },
  {
    primitive: 'SHA-256, 32-byte message',
    ...pair(['node:crypto', () => hash('sha256', msg32)], ['noble', () => nobleSha256(msg32)]),
  },
  {
    primitive: 'SHA-256, 32 KiB load file',
    ...pair(['node:crypto', () => hash('sha256', kb32)], ['noble', () => nobleSha256(kb32)]),
    note: 'the case SHA-256 is used for: GP load-file hashes',
  },
];

// SM2 takes milliseconds: fewer rounds.
const sm2Pair = sm2GenerateKeyPair();
const sig = sm2Sign(sm2Pair.privateKey, msg32);
rows.push({
  primitive: 'SM2 sign (with Z_A)',
  chosen: measure('noble curve arithmetic', () => sm2Sign(sm2Pair.privateKey, msg32), { rounds: 3, minMs: 200 }),
  note: "node:crypto's SM2 keys sign with ECDSA, not SM2, so it is no alternative",
});
rows.push({
  primitive: 'SM2 verify',
  chosen: measure('noble curve arithmetic', () => sm2Verify(sm2Pair.publicKey, msg32, sig), { rounds: 3, minMs: 200 }),
});
// Raw SHA-256 from node as a floor for "what a native call costs" (context for the numbers above).
rows.push({ primitive: 'floor: node createHash("sha256") of 0 bytes', chosen: measure('node:crypto', () => createHash('sha256').digest()) });

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows.map((r) => ({ ...r, ratio: r.alternative ? r.alternative.nsPerOp / r.chosen.nsPerOp : undefined }))));
} else {
  console.log('bench/crypto: median time per operation (one run, same process); ratio = alternative / chosen, >1 means the chosen one is faster\n');
  for (const r of rows) {
    const alt = r.alternative ? `  vs ${r.alternative.name} ${fmtNs(r.alternative.nsPerOp)}  ratio ${(r.alternative.nsPerOp / r.chosen.nsPerOp).toFixed(2)}` : '';
    console.log(`${r.primitive.padEnd(42)} ${r.chosen.name} ${fmtNs(r.chosen.nsPerOp)}${alt}${r.note ? `  (${r.note})` : ''}`);
  }
  // No goal is set for the primitives: the line says how the choices compare, without a verdict.
  const ratios = rows.filter((r) => r.alternative).map((r) => r.alternative!.nsPerOp / r.chosen.nsPerOp);
  const slower = ratios.filter((x) => x < 1).length;
  console.log('\n' + verdictLine('chosen primitives against their alternatives', `alternative / chosen ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} over ${ratios.length} pairs, the chosen one slower in ${slower}`, { noGoal: true }));
}
