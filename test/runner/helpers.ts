// Shared fixtures of the runner tests: a throwaway key store (transport key + card CA), sealing,
// and hand-built social-security card scripts in the CardScript format prep writes.
import * as fs from 'node:fs';
import { mkdtempSync } from 'node:fs';
const require_fs = () => fs;
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concat, fromHex, toHex } from '../../bytes/index.js';
import { buildTlv } from '../../iso7816/index.js';
import { createCaCertificate, FileKeyStore } from '../../keys/index.js';
import type { KeyProvider, KeyRef } from '../../keys/types.js';
import { CARD_DIGESTS_FILE, CardDigests, CARDS_FILE, inputFileDigests, manifestMac, writeManifestFile } from '../../personalization/sealed.js';
import { INPUT_FILES_DIR, MANIFEST_FORMAT, SCRIPT_FORMAT, type BatchManifest, type CardScript, type SealedKey, type Step } from '../../personalization/script.js';
import { kcv } from '../../crypto/index.js';
import { TS_LOADER_ARGS } from '../helpers/ts-child.js';

process.env.CARDSMITH_KEYSTORE_SCRYPT_LOG2N ??= '14';

export const TRANSPORT_KEY: KeyRef = { label: 'batch-transport' };
export const CA: KeyRef = { label: 'card-ca' };
export const PASSPHRASE = new TextEncoder().encode('runner test passphrase (not secret)');
export const CARD_TRANSPORT_KEY = fromHex('404142434445464748494A4B4C4D4E4F');

export async function makeKeyStore(dir = mkdtempSync(join(tmpdir(), 'cardsmith-runner-keys-'))): Promise<{ store: FileKeyStore; path: string; dir: string }> {
  const path = join(dir, 'keys.cks');
  const store = await FileKeyStore.create(path, PASSPHRASE);
  await store.generate({ label: TRANSPORT_KEY.label, alg: 'aes', length: 32, usage: ['seal', 'mac'] });
  await store.generate({ label: CA.label, alg: 'sm2', usage: ['sign'] });
  await store.setCertificate(CA, await createCaCertificate(store, CA, 'C=CN, O=cardsmith test, CN=Test Card CA'));
  return { store, path, dir };
}

export async function seal(store: FileKeyStore, recordId: string, secret: Uint8Array): Promise<string> {
  return Buffer.from(await store.seal(TRANSPORT_KEY, secret, new TextEncoder().encode(recordId))).toString('base64');
}

export async function sealKey(store: FileKeyStore, recordId: string, key: Uint8Array, alg: SealedKey['alg'] = 'des3'): Promise<SealedKey> {
  return { sealed: await seal(store, recordId, key), alg, kcv: toHex(kcv(alg, key)) };
}

/** CREATE FILE of a transparent EF (docs/simulator.md): FID, size, access read/update/append. */
export function createEfHex(fid: number, size: number, access = '0000FF', fdb = 0x01): string {
  const t = buildTlv(0x62, concat(buildTlv(0x82, Uint8Array.of(fdb)), buildTlv(0x83, Uint8Array.of(fid >> 8, fid & 0xff)), buildTlv(0x80, Uint8Array.of(size >> 8, size & 0xff)), buildTlv(0x86, fromHex(access))));
  return toHex(concat(fromHex('80E00000'), Uint8Array.of(t.length), t));
}

/** A per-record line-protection key and PIN, derived from the record id (test data). */
export function recordSecrets(recordId: string): { stk: Uint8Array; pin: string } {
  const h = Buffer.from(new TextEncoder().encode(`stk:${recordId}:0123456789abcdef`)).subarray(0, 16);
  let n = 0;
  for (const c of recordId) n = (n * 31 + c.charCodeAt(0)) % 1000000;
  return { stk: new Uint8Array(h), pin: String(n).padStart(6, '0') };
}

/**
 * A social-security-like personalization of a blank simulated card: external authentication with
 * the transport key, an encrypted+MACed WRITE KEY (line-protection key), a plain sealed WRITE KEY
 * (PIN), an EF written with UPDATE BINARY under MAC, a record-specific data EF, END OF
 * PERSONALIZATION; verify reads back the data, checks the PIN try counter, the life cycle.
 */
export async function ssScript(store: FileKeyStore, recordId: string, line: number, o: { keygen?: boolean; cardTransportKey?: Uint8Array } = {}): Promise<CardScript> {
  const tk = await sealKey(store, recordId, o.cardTransportKey ?? CARD_TRANSPORT_KEY);
  const { stk, pin } = recordSecrets(recordId);
  const keyBlockStk = concat(fromHex('060101010F'), stk); // type 06 id 01 v01 alg 01 limit 15
  const pinBlock = concat(fromHex('0A01000003'), fromHex(pin)); // type 0A id 01 v00 alg 00 limit 3
  const name = toHex(new TextEncoder().encode(`NAME ${recordId}`.padEnd(24, ' ').slice(0, 24)));
  const steps: Step[] = [
    { op: 'apdu', apdu: '00A40000023F00', note: 'select MF' },
    { op: 'open', protocol: 'ssc-ext-auth', keyId: 0, key: tk, note: 'transport key' },
    { op: 'mac-apdu', header: '84D40000', data: { sealed: await seal(store, recordId, keyBlockStk) }, macKey: tk, encryptKey: tk, note: 'write STK 01' },
    { op: 'sealed-apdu', header: '80D40000', data: { sealed: await seal(store, recordId, pinBlock) }, note: 'write PIN 01' },
    { op: 'apdu', apdu: createEfHex(0xef05, 24, '003100'), note: 'create EF05' },
    { op: 'mac-apdu', header: '04D60000', data: name, macKey: { ...(await sealKey(store, recordId, stk)) }, note: 'write EF05 with MAC' },
  ];
  const verify: Step[] = [
    { op: 'apdu', apdu: '00A40000023F00', note: 'select MF' },
    { op: 'check', apdu: '00A4020C02EF05', what: 'EF05 exists' },
    { op: 'check', apdu: '00B0000018', expect: name, what: 'EF05 content' },
    { op: 'check', apdu: '00200001', sw: ['63C3'], what: 'PIN 01 tries left 3' },
  ];
  if (o.keygen) {
    steps.push(
      { op: 'apdu', apdu: createEfHex(0x0012, 65, '000000'), note: 'create public key EF' },
      { op: 'apdu', apdu: createEfHex(0x0013, 32, '000000', 0x09), note: 'create private key EF' },
      { op: 'apdu', apdu: createEfHex(0x0015, 1024, '000000'), note: 'create certificate EF' },
      { op: 'keygen-cert', generate: '80400000 08 C0020012 C2020013 00'.replace(/ /g, ''), certificateFile: '0015', subject: { CN: `Card ${recordId}`, serialNumber: recordId }, ca: CA, chunk: 200, note: 'SM2 key + certificate' },
    );
    verify.push({ op: 'check', apdu: '00A4020C020012', what: 'public key EF' }, { op: 'check', apdu: '00B0000041', what: 'public key readable' });
  }
  steps.push({ op: 'apdu', apdu: '80EA0000', note: 'end of personalization' });
  verify.push({ op: 'check', apdu: '80EA0000', sw: ['6985'], what: 'life cycle personalized' });
  return { format: SCRIPT_FORMAT, recordId, line, interface: 'contact', steps, verify };
}

/** Writes a batch folder (manifest.json + cards.jsonl + cards.sha256) as prep would, sealed under the store's transport key; `blobs` lists a blobs.pack the caller wrote. */
export async function writeBatch(dir: string, scripts: CardScript[], store: KeyProvider, o: { seed?: number; keys?: BatchManifest['keys']; blobs?: BatchManifest['files']['blobs'] } = {}): Promise<void> {
  const { writeFileSync, mkdirSync } = require_fs();
  mkdirSync(dir, { recursive: true });
  const lines = scripts.map((s) => JSON.stringify(s));
  const digests = new CardDigests();
  const hex = lines.map((l) => digests.add(l));
  const info = await store.info(TRANSPORT_KEY);
  const manifest: Omit<BatchManifest, 'mac'> = {
    format: MANIFEST_FORMAT,
    profile: { name: 'runner-test', file: 'hand-built', sha256: '0'.repeat(64), revision: '1' },
    input: { file: 'hand-built', sha256: '0'.repeat(64), records: scripts.length, rejected: 0 },
    cards: scripts.length,
    transportKey: { label: info.label, version: info.version, kcv: info.kcv },
    keys: o.keys ?? [],
    seed: o.seed ?? 1,
    createdAt: '2024-01-01T00:00:00.000Z',
    files: { cards: { file: CARDS_FILE, lines: digests.lines, root: digests.root(), digests: CARD_DIGESTS_FILE }, inputFiles: inputFileDigests(join(dir, INPUT_FILES_DIR)), ...(scripts.some((s) => s.face) ? { fonts: [] } : {}), ...(o.blobs ? { blobs: o.blobs } : {}) },
  };
  writeFileSync(join(dir, CARDS_FILE), lines.map((l) => `${l}\n`).join(''));
  writeFileSync(join(dir, CARD_DIGESTS_FILE), hex.map((h) => `${h}\n`).join(''));
  writeManifestFile(dir, { ...manifest, mac: await manifestMac(store, manifest) });
}

export async function makeScripts(store: FileKeyStore, n: number, prefix = 'r', o: { cardTransportKey?: Uint8Array } = {}): Promise<CardScript[]> {
  const out: CardScript[] = [];
  for (let i = 1; i <= n; i++) out.push(await ssScript(store, `${prefix}${String(i).padStart(4, '0')}`, i, o));
  return out;
}

/**
 * Runs a runner child script (test/runner/fixtures/…) that SIGKILLs itself at its `killAt`-th
 * kill point (0: never); resolves with how it ended and what it printed (bounded at 120 s).
 */
export function runnerChild(t: { teardown(fn: () => void): void }, script: string, args: string[], killAt: number): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const c = spawn(process.execPath, [...TS_LOADER_ARGS, join(root, script), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, KILL_AT: String(killAt), PASS: new TextDecoder().decode(PASSPHRASE) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  c.stdout.on('data', (d: Buffer) => (out += d.toString()));
  c.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`runner child did not finish in 120 s: ${err}`));
    }, 120_000);
    c.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err });
    });
  });
}

/**
 * Starts the runner child `script` again and again, each time SIGKILLed at the kill point `nextAt()`
 * picks, until it was killed `count` times; `argsFor(first)` gives its arguments (the first start
 * is not a resume). Returns the kill points; a batch that finished early is a test failure.
 */
export async function killRepeatedly(
  t: { teardown(fn: () => void): void; fail(message: string): void },
  script: string,
  argsFor: (first: boolean) => string[],
  count: number,
  nextAt: () => number,
): Promise<number[]> {
  const kills: number[] = [];
  let first = true;
  while (kills.length < count) {
    const at = nextAt();
    const r = await runnerChild(t, script, argsFor(first), at);
    first = false;
    if (r.signal === 'SIGKILL') {
      kills.push(at);
      continue;
    }
    t.fail(`the batch finished before ${count} kills (after ${kills.length}): ${r.out} ${r.err}`);
    break;
  }
  return kills;
}

/** mulberry32: seeded kill points. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
