// bench/crypto: time per single-block operation of each primitive cardsmith uses, measured in one
// run next to the alternative it did not choose (noble vs node:crypto), printed as ratios.
// Run: npm run bench:crypto   (node dist/bench/crypto.js [--json])
import { cbc as nobleCbc, ecb as nobleEcb } from '@noble/ciphers/aes.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { createHash, randomBytes } from 'node:crypto';
import { aesEncryptCbc, aesEncryptEcb } from '../crypto/aes.js';
import { cmac, cmacOverBlockCalls } from '../crypto/cmac.js';
import { des3EncryptEcb } from '../crypto/des3.js';
import { hash } from '../crypto/hash.js';
import { retailMac } from '../crypto/mac.js';
import { sm2GenerateKeyPair, sm2Sign, sm2Verify } from '../crypto/sm2.js';
import { sm3 } from '../crypto/sm3.js';
import { sm4EncryptEcb } from '../crypto/sm4.js';
import { fmtNs, measure, type Timing } from './measure.js';

const bytes = (n: number) => new Uint8Array(randomBytes(n));
const k16 = bytes(16);
const k24 = bytes(24);
const k32 = bytes(32);
const b8 = bytes(8);
const b16 = bytes(16);
const msg32 = bytes(32);
const iv16 = new Uint8Array(16);
const NO_PAD = { disablePadding: true } as const;
const kb32 = bytes(32 * 1024);

interface Row {
  primitive: string;
  chosen: Timing;
  alternative?: Timing;
  note?: string;
}

const rows: Row[] = [
  {
    primitive: 'AES-128 ECB, 1 block',
    chosen: measure('node:crypto', () => aesEncryptEcb(k16, b16)),
    alternative: measure('noble', () => nobleEcb(k16, NO_PAD).encrypt(b16)),
  },
  {
    primitive: 'AES-256 ECB, 1 block',
    chosen: measure('node:crypto', () => aesEncryptEcb(k32, b16)),
    alternative: measure('noble', () => nobleEcb(k32, NO_PAD).encrypt(b16)),
  },
  {
    primitive: 'AES-128 CBC, 2 blocks',
    chosen: measure('node:crypto', () => aesEncryptCbc(k16, iv16, msg32)),
    alternative: measure('noble', () => nobleCbc(k16, iv16, NO_PAD).encrypt(msg32)),
  },
  {
    primitive: 'AES-CMAC, 32-byte message',
    chosen: measure('noble cmac', () => cmac('aes', k16, msg32)),
    alternative: measure('SP 800-38B over node AES-ECB/CBC calls', () => cmacOverBlockCalls('aes', k16, msg32)),
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
    chosen: measure('node:crypto', () => hash('sha256', msg32)),
    alternative: measure('noble', () => nobleSha256(msg32)),
  },
  {
    primitive: 'SHA-256, 32 KiB load file',
    chosen: measure('node:crypto', () => hash('sha256', kb32)),
    alternative: measure('noble', () => nobleSha256(kb32)),
    note: 'the case SHA-256 is used for: GP load-file hashes',
  },
];

// SM2 takes milliseconds: fewer rounds.
const pair = sm2GenerateKeyPair();
const sig = sm2Sign(pair.privateKey, msg32);
rows.push({
  primitive: 'SM2 sign (with Z_A)',
  chosen: measure('noble curve arithmetic', () => sm2Sign(pair.privateKey, msg32), { rounds: 3, minMs: 200 }),
  note: "node:crypto's SM2 keys sign with ECDSA, not SM2, so it is no alternative",
});
rows.push({
  primitive: 'SM2 verify',
  chosen: measure('noble curve arithmetic', () => sm2Verify(pair.publicKey, msg32, sig), { rounds: 3, minMs: 200 }),
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
}
