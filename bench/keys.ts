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
import { median, verdictLine } from './measure.js';

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

interface Subject {
  name: string;
  perCard: (i: number) => number | Promise<number>;
  note?: string;
}

/**
 * Cards per second for each subject, their rounds interleaved (floor, file, HSM, floor, …) after a
 * warm-up of each, so load from elsewhere falls on all alike; median per subject, and each round's
 * time ratio to the floor's round.
 */
async function interleaved(subjects: Subject[], rounds = 7, sliceMs = 250): Promise<{ cps: number[]; roundRatios: number[][] }> {
  for (const s of subjects) for (let i = 0; i < 20; i++) await s.perCard(i);
  const samples: number[][] = subjects.map(() => []);
  let i = 0;
  for (let r = 0; r < rounds; r++) {
    for (const [k, s] of subjects.entries()) {
      const t0 = process.hrtime.bigint();
      let n = 0;
      while (Number(process.hrtime.bigint() - t0) / 1e6 < sliceMs) {
        await s.perCard(i++);
        n++;
      }
      samples[k]!.push((n * 1e9) / Number(process.hrtime.bigint() - t0));
    }
  }
  const floor = samples[0]!;
  return { cps: samples.map(median), roundRatios: samples.map((x) => x.map((c, r) => floor[r]! / c)) };
}

async function fill(s: FileKeyStore | Pkcs11KeyStore) {
  await s.importComponents({ label: 'kmc', alg: 'des3', usage: ['derive'] }, [KMC, zero]);
  await s.importComponents({ label: 'kmc-aes', alg: 'aes', length: 16, usage: ['derive'] }, [KMC_AES, zero]);
  await s.importComponents({ label: 'mk', alg: 'des3', usage: ['derive'] }, [MK, zero]);
}

const tmp = mkdtempSync(join(tmpdir(), 'cardsmith-bench-keys-'));
const subjects: Subject[] = [{ name: 'raw cipher floor (node:crypto / noble, keys in hand)', perCard: perCardFloor }];
const closers: (() => Promise<void>)[] = [];
try {
  const file = await FileKeyStore.create(join(tmp, 'bench.keys'), new TextEncoder().encode('bench passphrase only'), { scryptLog2N: 14 });
  closers.push(() => file.close());
  await fill(file);
  subjects.push({ name: 'file store (KeyProvider.deriveCardKeys)', perCard: (i) => perCardProvider(file, i) });

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
      closers.push(() => hsm.close());
      await fill(hsm);
      subjects.push({ name: 'SoftHSM2 via PKCS#11 (derivation in the token)', perCard: (i) => perCardProvider(hsm, i), note: '14 C_DeriveKey + 3 C_Sign + 2 C_CreateObject per card' });
    } catch (e) {
      skip = `SoftHSM2 part failed: ${(e as Error).message}`;
    }
  }
  const { cps, roundRatios } = await interleaved(subjects);
  const rows = subjects.map((s, k) => ({ name: s.name, cps: cps[k]!, usPerCard: 1e6 / cps[k]!, ratioToFloor: cps[0]! / cps[k]!, roundRatios: roundRatios[k]!, ...(s.note ? { note: s.note } : {}) }));
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ keysPerCard: 8, rows, ...(skip ? { skipped: skip } : {}) }));
  } else {
    console.log('bench/keys: per-card derivation of 8 keys (3 emv 3DES + 3 kdf3 AES-128 + 2 two-level PBOC 3DES); 7 interleaved rounds after a warm-up, medians\n');
    for (const r of rows) {
      const ratio = r === rows[0] ? 'floor' : `${r.ratioToFloor.toFixed(1)}× the floor's time (rounds ${Math.min(...r.roundRatios).toFixed(1)}–${Math.max(...r.roundRatios).toFixed(1)})`;
      console.log(`${r.name.padEnd(50)} ${r.cps.toFixed(0).padStart(8)} cards/s  ${r.usPerCard.toFixed(1).padStart(8)} µs/card  ${ratio}${r.note ? `  (${r.note})` : ''}`);
    }
    if (skip) console.log(`\nSoftHSM2: skipped — ${skip}`);
    // The issue sets no goal for key derivation: the ratios are shown, not judged.
    for (const r of rows.slice(1)) console.log(verdictLine(r.name, `${r.ratioToFloor.toFixed(1)}× the raw cipher floor's time`, { noGoal: true }));
  }
} finally {
  for (const close of closers) await close();
  rmSync(tmp, { recursive: true, force: true });
}
