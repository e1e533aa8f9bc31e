// bench/keys: per-card derivation of a typical key set (8 keys) through the key provider — file
// store and SoftHSM2 — next to the raw cipher floor (the same cipher calls with the keys in hand),
// measured in one run and printed as cards per second and ratios.
// Key set per card: GP SCP02 emv ENC/MAC/DEK (3DES KMC), SCP03 kdf3 ENC/MAC/DEK (AES-128 KMC), and
// two 2-level PBOC 3DES keys (the social-security style): 3 + 3 + 2 = 8 keys.
// Run: tsc -p tsconfig.json && node dist/bench/keys.js [--json]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { concat, not } from '../bytes/index.js';
import { cmac } from '../crypto/cmac.js';
import { des3EncryptEcb } from '../crypto/des3.js';
import { FileKeyStore } from '../keys/file-store.js';
import { Pkcs11KeyStore, SOFTHSM2_MODULE } from '../keys/pkcs11-store.js';
import type { DeriveRequest, KeyProvider } from '../keys/types.js';
import { median } from './measure.js';

const KMC = new Uint8Array(randomBytes(16));
const KMC_AES = new Uint8Array(randomBytes(16));
const MK = new Uint8Array(randomBytes(16));
/** Second component of each master: XOR with zeros keeps the random first component as the key. */
const zero = new Uint8Array(16);

function cardData(i: number) {
  const kdd = new Uint8Array(10);
  new DataView(kdd.buffer).setUint32(6, i);
  const level = concat(Uint8Array.of(0x32, 0x01, 0, 0, 0x73, 0x78, 0, 0), new Uint8Array(randomBytes(8)));
  return { kdd, level };
}

const TYPES = ['enc', 'mac', 'dek'] as const;

async function perCardProvider(p: KeyProvider, i: number): Promise<number> {
  const { kdd, level } = cardData(i);
  const gp = await p.deriveCardKeys({ label: 'kmc' }, TYPES.map((keyType): DeriveRequest => ({ method: 'emv', data: kdd, keyType })));
  const scp03 = await p.deriveCardKeys({ label: 'kmc-aes' }, TYPES.map((keyType): DeriveRequest => ({ method: 'kdf3', data: kdd, keyType })));
  const pboc = await p.deriveCardKeys({ label: 'mk' }, [0, 1].map((): DeriveRequest => ({ method: 'pboc', data: level })));
  const all = [...gp, ...scp03, ...pboc];
  for (const k of all) k.value.fill(0);
  return all.length;
}

/** The floor: the same block-cipher and CMAC calls, keys in hand, no store, no checks. */
function perCardFloor(i: number): number {
  const { kdd, level } = cardData(i);
  const six = kdd.subarray(4, 10);
  for (let t = 1; t <= 3; t++) des3EncryptEcb(KMC, concat(six, Uint8Array.of(0xf0, t), six, Uint8Array.of(0x0f, t)));
  for (let t = 1; t <= 3; t++) cmac('aes', KMC_AES, concat(Uint8Array.of(1, 0, 0, 0, t, 0), kdd));
  for (let k = 0; k < 2; k++) {
    let key: Uint8Array = MK;
    for (let off = 0; off < 16; off += 8) key = des3EncryptEcb(key, concat(level.subarray(off, off + 8), not(level.subarray(off, off + 8))));
  }
  return 8;
}

async function cardsPerSecond(perCard: (i: number) => number | Promise<number>, minMs = 1500, rounds = 5): Promise<{ cps: number; usPerCard: number }> {
  for (let i = 0; i < 20; i++) await perCard(i); // warm-up
  const samples: number[] = [];
  let i = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    let n = 0;
    while (Number(process.hrtime.bigint() - t0) / 1e6 < minMs / rounds) {
      await perCard(i++);
      n++;
    }
    samples.push((n * 1e9) / Number(process.hrtime.bigint() - t0));
  }
  const cps = median(samples);
  return { cps, usPerCard: 1e6 / cps };
}

async function fill(s: FileKeyStore | Pkcs11KeyStore) {
  await s.importComponents({ label: 'kmc', alg: 'des3', usage: ['derive'] }, [KMC, zero]);
  await s.importComponents({ label: 'kmc-aes', alg: 'aes', length: 16, usage: ['derive'] }, [KMC_AES, zero]);
  await s.importComponents({ label: 'mk', alg: 'des3', usage: ['derive'] }, [MK, zero]);
}

const tmp = mkdtempSync(join(tmpdir(), 'cardsmith-bench-keys-'));
const rows: { name: string; cps: number; usPerCard: number; note?: string }[] = [];
try {
  rows.push({ name: 'raw cipher floor (node:crypto / noble, keys in hand)', ...(await cardsPerSecond(perCardFloor)) });

  const file = await FileKeyStore.create(join(tmp, 'bench.keys'), new TextEncoder().encode('bench passphrase only'), { scryptLog2N: 14 });
  await fill(file);
  rows.push({ name: 'file store (KeyProvider.deriveCardKeys)', ...(await cardsPerSecond((i) => perCardProvider(file, i))) });
  await file.close();

  let skip: string | undefined;
  if (!existsSync(SOFTHSM2_MODULE)) skip = `SoftHSM2 not installed (${SOFTHSM2_MODULE}; Debian package softhsm2)`;
  else if (spawnSync('softhsm2-util', ['--version']).status !== 0) skip = 'softhsm2-util not on PATH';
  if (!skip) {
    mkdirSync(join(tmp, 'tokens'));
    writeFileSync(join(tmp, 'softhsm2.conf'), `directories.tokendir = ${join(tmp, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    process.env.SOFTHSM2_CONF = join(tmp, 'softhsm2.conf');
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', '123456', '--so-pin', '12345678'], { stdio: 'ignore' });
    try {
      const hsm = await Pkcs11KeyStore.init({ module: SOFTHSM2_MODULE, token: 'bench', pin: '123456', auditPath: join(tmp, 'hsm.audit') });
      await fill(hsm);
      rows.push({
        name: 'SoftHSM2 via PKCS#11 (derivation in the token)',
        ...(await cardsPerSecond((i) => perCardProvider(hsm, i))),
        note: '14 C_DeriveKey + 3 C_Sign + 2 C_CreateObject per card',
      });
      await hsm.close();
    } catch (e) {
      skip = `SoftHSM2 part failed: ${(e as Error).message}`;
    }
  }
  const floor = rows[0]!.cps;
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ keysPerCard: 8, rows: rows.map((r) => ({ ...r, ratioToFloor: floor / r.cps })), ...(skip ? { skipped: skip } : {}) }));
  } else {
    console.log('bench/keys: per-card derivation of 8 keys (3 emv 3DES + 3 kdf3 AES-128 + 2 two-level PBOC 3DES), one run; median of 5 rounds\n');
    for (const r of rows) {
      const ratio = r === rows[0] ? 'floor' : `${(floor / r.cps).toFixed(1)}× the floor's time`;
      console.log(`${r.name.padEnd(50)} ${r.cps.toFixed(0).padStart(8)} cards/s  ${r.usPerCard.toFixed(1).padStart(8)} µs/card  ${ratio}${r.note ? `  (${r.note})` : ''}`);
    }
    if (skip) console.log(`\nSoftHSM2: skipped — ${skip}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
