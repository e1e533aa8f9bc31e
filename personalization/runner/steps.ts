// The executor's step handlers: one function per step kind (script.ts Step), looked up by `op` in
// STEP_HANDLERS. The bytes each kind sends are listed in executor.ts; GlobalPlatform PUT KEY and
// STORE DATA are the session's (globalplatform/session.ts), over the channel an `open` step set up.
import { concat, equal, fromHex } from '../../bytes/index.js';
import { AuthenticationError, authenticateAfterInitializeUpdate, CardCryptogramError, initializeUpdate, type StaticKeys } from '../../channels/index.js';
import { blockCipher, pad, pbocIv, pbocMac } from '../../crypto/index.js';
import type { DgiInput } from '../../globalplatform/index.js';
import { encodeCommand, isSensitiveDgi, MAX_EXTENDED_DATA, MAX_EXTENDED_LE, MAX_SHORT_LE } from '../../iso7816/index.js';
import { issueCertificate } from '../../keys/ca.js';
import type { KeygenCertStep, OpenStep, SealedKey, Step } from '../script.js';
import { completeParts } from './run-apdu-parts.js';
import {
  asKeyFault,
  blobBytes,
  commandApdu,
  encryptInStore,
  expectSw,
  fail,
  getChallenge,
  gpCall,
  header,
  hex,
  keyOf,
  refOf,
  refusesKey,
  StepError,
  unseal,
  withSecret,
  type Ctx,
  type KeyFault,
} from './step-context.js';

type StepOf<K extends Step['op']> = Extract<Step, { op: K }>;
type Handler<K extends Step['op']> = (ctx: Ctx, step: StepOf<K>) => Promise<unknown>;
type KeySet = { enc: Uint8Array; mac: Uint8Array; dek: Uint8Array };

const KEY_NAMES = ['enc', 'mac', 'dek'] as const;
const NO_CHANNEL = 'bad script: PUT KEY needs an open secure channel (an open step before it)';

/** Sends a command, wipes it afterwards (it may carry secrets). */
async function sendWiped(ctx: Ctx, cmd: Uint8Array, sw: string[] | undefined): Promise<void> {
  try {
    await expectSw(ctx, cmd, sw);
  } finally {
    cmd.fill(0);
  }
}

/** The most common step: its promise is expectSw's (no async frame of its own). */
function apduStep(ctx: Ctx, s: StepOf<'apdu'>): Promise<unknown> {
  return expectSw(ctx, hex(ctx, s.apdu, 'apdu'), s.sw);
}

async function checkStep(ctx: Ctx, s: StepOf<'check'>): Promise<void> {
  if (s.expect !== undefined && s.expectBlob !== undefined) throw fail(ctx, 'bad script: a check has expect or expectBlob, not both', { cardFault: false });
  const want = s.expectBlob !== undefined ? blobBytes(ctx, s.expectBlob, 'expectBlob') : s.expect !== undefined ? hex(ctx, s.expect, 'expect') : undefined;
  const data = await expectSw(ctx, hex(ctx, s.apdu, 'apdu'), s.sw, `check "${s.what}" failed`);
  ctx.result.checks++;
  if (want !== undefined && !equal(data, want)) {
    throw fail(ctx, `check "${s.what}" failed: the card's data differs from the expected ${want.length} bytes (got ${data.length})`);
  }
}

async function sealedApduStep(ctx: Ctx, s: StepOf<'sealed-apdu'>): Promise<void> {
  const h = header(ctx, s.header);
  await withSecret(ctx, s.data, 'the sealed data', (secret) => sendWiped(ctx, commandApdu(ctx, h, secret, s.le), s.sw));
}

async function runApduStep(ctx: Ctx, s: StepOf<'run-apdu'>): Promise<void> {
  const h = header(ctx, s.header);
  const data = await completeParts(ctx, s.data, 'data');
  try {
    await sendWiped(ctx, commandApdu(ctx, h, data, s.le), s.sw);
  } finally {
    data.fill(0);
  }
}

/** ECB_encKey(data ‖ 80 00…) under a sealed key; wipes `plain`. */
async function encryptData(ctx: Ctx, key: SealedKey, plain: Uint8Array): Promise<Uint8Array> {
  try {
    return await withSecret(ctx, key, 'the encryption key', (k) => {
      const c = blockCipher(key.alg);
      const padded = pad(plain, 2, c.blockSize);
      try {
        return c.encryptEcb(k, padded);
      } finally {
        padded.fill(0);
      }
    });
  } finally {
    plain.fill(0);
  }
}

async function macApduStep(ctx: Ctx, s: StepOf<'mac-apdu'>): Promise<void> {
  const h = header(ctx, s.header);
  const macAlg = s.macKey.alg;
  if (macAlg === 'aes') throw fail(ctx, 'bad script: PBOC MACs use des3 or sm4 keys, not aes', { cardFault: false });
  const block = blockCipher(macAlg).blockSize;
  const n = s.challengeLength ?? 4;
  if (n > block) throw fail(ctx, `bad script: a ${n}-byte challenge does not fit a ${block}-byte block`, { cardFault: false });
  let data: Uint8Array = s.data === undefined ? new Uint8Array(0) : typeof s.data === 'string' ? hex(ctx, s.data, 'data') : await unseal(ctx, s.data, 'the sealed data');
  try {
    if (s.encryptKey) data = await encryptData(ctx, s.encryptKey, data);
    const challenge = await getChallenge(ctx, n);
    const lc = data.length + 4;
    if (lc > 255) throw fail(ctx, `bad script: ${lc} bytes do not fit a short MAC-protected APDU`, { cardFault: false });
    const macInput = concat(h, Uint8Array.of(lc), data);
    try {
      const mac = await withSecret(ctx, s.macKey, 'the MAC key', (k) => pbocMac({ alg: macAlg, key: k, iv: pbocIv(challenge, block as 8 | 16), data: macInput }));
      await sendWiped(ctx, concat(h, Uint8Array.of(lc), data, mac), s.sw);
    } finally {
      macInput.fill(0);
    }
  } finally {
    data.fill(0);
  }
}

async function openStep(ctx: Ctx, s: OpenStep): Promise<void> {
  if (ctx.gp.channel) throw fail(ctx, 'bad script: a secure channel is already open (close it first)', { cardFault: false });
  if (s.protocol === 'ssc-ext-auth') await externalAuthenticate(ctx, s);
  else await openGpChannel(ctx, s);
}

/** Native COS: GET CHALLENGE, then EXTERNAL AUTHENTICATE with ECB_K(challenge ‖ 00…). */
async function externalAuthenticate(ctx: Ctx, s: Extract<OpenStep, { protocol: 'ssc-ext-auth' }>): Promise<void> {
  const key = s.key;
  const n = s.challengeLength ?? 8;
  const challenge = await getChallenge(ctx, n);
  const c = blockCipher(key.alg);
  const block = new Uint8Array(Math.max(c.blockSize, Math.ceil(n / c.blockSize) * c.blockSize));
  block.set(challenge);
  const cryptogram = 'stored' in key ? await encryptInStore(ctx, key, block) : await withSecret(ctx, key, 'the authentication key', (k) => c.encryptEcb(k, block));
  try {
    await expectSw(ctx, concat(Uint8Array.of(0x00, 0x82, 0x00, s.keyId & 0xff, cryptogram.length), cryptogram), ['9000'], `EXTERNAL AUTHENTICATE with key ${s.keyId} refused`);
  } catch (e) {
    throw e instanceof StepError && refusesKey(e.sw) ? asKeyFault(e, keyOf(key)) : e;
  }
}

type GpOpen = Exclude<OpenStep, { protocol: 'ssc-ext-auth' }>;

/** GP secure channel: SELECT the SD, INITIALIZE UPDATE, derive or unseal the keys, EXTERNAL AUTHENTICATE. */
async function openGpChannel(ctx: Ctx, s: GpOpen): Promise<void> {
  const aid = s.sdAid ? hex(ctx, s.sdAid, 'sdAid') : fromHex('A000000151000000');
  await expectSw(ctx, encodeCommand({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: aid, le: 256 }), ['9000', '6283'], 'SELECT of the security domain refused');
  let init;
  try {
    init = await initializeUpdate(ctx.base, { keyVersion: s.keyVersion ?? 0 });
  } catch (e) {
    throw fail(ctx, `INITIALIZE UPDATE: ${(e as Error).message}`, { cause: e, ...(e instanceof AuthenticationError && e.sw !== undefined ? { sw: e.sw } : {}) });
  }
  ctx.facts.kdd = init.response.kdd.slice();
  const keys: StaticKeys = { enc: new Uint8Array(0), mac: new Uint8Array(0), dek: new Uint8Array(0) };
  try {
    await channelKeys(ctx, s, init.response.kdd, keys);
    const channel = await authenticateAfterInitializeUpdate(ctx.base, init, { keys, scp: s.protocol === 'scp02' ? 2 : 3, securityLevel: s.securityLevel, ...(s.scp02i !== undefined ? { scp02i: s.scp02i } : {}), ...(s.keyVersion !== undefined ? { keyVersion: s.keyVersion } : {}), sdAid: aid });
    ctx.gp.useChannel(channel);
    ctx.link = channel;
  } catch (e) {
    throw openFailure(ctx, s, e);
  } finally {
    // The channel derived its session keys; the static ones are no longer needed (SCP03
    // PUT KEY encrypts under the static DEK, which the channel keeps itself).
    if (!('master' in s.keys)) {
      keys.enc.fill(0);
      keys.mac.fill(0);
    }
  }
}

/** Sets `keys` to an `open`'s static keys: diversified from a key-store master with the card's KDD, or unsealed (one by one, so the caller wipes what came). */
async function channelKeys(ctx: Ctx, s: GpOpen, kdd: Uint8Array, keys: KeySet): Promise<void> {
  const k = s.keys;
  if ('master' in k) {
    const derived = await ctx.opts.provider.deriveCardKeys(refOf(k.master), KEY_NAMES.map((keyType) => ({ method: k.div, data: kdd, keyType })));
    KEY_NAMES.forEach((name, i) => (keys[name] = derived[i]!.value));
  } else {
    keys.enc = await unseal(ctx, k.enc, 'the ENC key');
    keys.mac = await unseal(ctx, k.mac, 'the MAC key');
    keys.dek = await unseal(ctx, k.dek, 'the DEK');
  }
}

/** Why a secure channel did not open; a key fault when the card refused the keys or its cryptogram differs. */
function openFailure(ctx: Ctx, s: GpOpen, e: unknown): StepError {
  if (e instanceof StepError) return e;
  const sw = e instanceof AuthenticationError ? e.sw : undefined;
  const wrongKeys = e instanceof CardCryptogramError || refusesKey(sw);
  const keyFault: KeyFault = 'master' in s.keys ? { side: 'card', label: s.keys.master.label, ...(s.keys.master.version !== undefined ? { version: s.keys.master.version } : {}) } : { side: 'card', ...(s.keys.enc.kcv ? { kcv: s.keys.enc.kcv } : {}) };
  return fail(ctx, `${e instanceof CardCryptogramError ? 'the card cryptogram is wrong (other keys on the card?)' : 'secure channel not opened'}: ${(e as Error).message.replace(/[0-9A-F]{32,}/gi, '…')}`, { cause: e, ...(sw !== undefined ? { sw } : {}), ...(wrongKeys ? { keyFault } : {}) });
}

async function closeStep(ctx: Ctx): Promise<void> {
  ctx.gp.endChannel('script: close');
  ctx.link = ctx.base;
}

/** GP PUT KEY of ENC/MAC/DEK through the session; records the KCVs the card confirmed. */
async function putKeySet(ctx: Ctx, keyVersion: number, replaceVersion: number | undefined, keys: KeySet): Promise<void> {
  const r = await gpCall(ctx, (gp) => gp.putKeys({ keys, newVersion: keyVersion, ...(replaceVersion !== undefined ? { replaceVersion } : {}) }), () => 'PUT KEY refused; the card keeps its old keys');
  KEY_NAMES.forEach((n, i) => (ctx.result.kcvs[`${n}-v${keyVersion}`] = r.kcvs[i]!));
}

async function putKeyStep(ctx: Ctx, s: StepOf<'put-key'>): Promise<void> {
  const values: Partial<KeySet> = {};
  try {
    for (const name of KEY_NAMES) values[name] = await unseal(ctx, s.keys[name], `the new ${name.toUpperCase()} key`);
    if (!ctx.gp.channel) throw fail(ctx, NO_CHANNEL, { cardFault: false });
    await putKeySet(ctx, s.keyVersion, s.replaceVersion, values as KeySet);
  } finally {
    for (const name of KEY_NAMES) values[name]?.fill(0);
  }
}

async function putDerivedKeyStep(ctx: Ctx, s: StepOf<'put-derived-key'>): Promise<void> {
  if (!ctx.gp.channel) throw fail(ctx, NO_CHANNEL, { cardFault: false });
  const kdd = ctx.facts.kdd;
  if (!kdd) throw fail(ctx, "bad script: put-derived-key needs the card's KDD (an scp02/scp03 open step before it)", { cardFault: false });
  let derived;
  try {
    derived = await ctx.opts.provider.deriveCardKeys(refOf(s.master), KEY_NAMES.map((keyType) => ({ method: s.div, data: kdd, keyType })));
  } catch (e) {
    throw fail(ctx, `cannot derive the new key set from ${s.master.label} (${(e as Error).name}: ${(e as Error).message.replace(/[0-9A-F]{16,}/gi, '…')})`, { cardFault: false, cause: e });
  }
  try {
    await putKeySet(ctx, s.keyVersion, s.replaceVersion, { enc: derived[0]!.value, mac: derived[1]!.value, dek: derived[2]!.value });
  } finally {
    for (const d of derived) d.value.fill(0);
  }
}

/**
 * GP STORE DATA through the session, each DGI starting a new command: sealed DGIs 8000–8FFF
 * encrypted under the session DEK, every other DGI (clear hex ones too) sent as it is.
 */
async function storeDataStep(ctx: Ctx, s: StepOf<'store-data'>): Promise<void> {
  if (s.dgis.length === 0) throw fail(ctx, 'bad script: store-data without DGIs', { cardFault: false });
  const inputs: DgiInput[] = [];
  try {
    for (const d of s.dgis) {
      const name = `DGI ${d.dgi.toString(16).toUpperCase()}`;
      if (!d.sealed) {
        inputs.push({ dgi: d.dgi, data: hex(ctx, d.data ?? '', `DGI ${d.dgi.toString(16)} data`), encrypt: false });
        continue;
      }
      const encrypt = isSensitiveDgi(d.dgi);
      if (encrypt && !ctx.gp.channel) throw fail(ctx, `bad script: ${name} is sensitive and needs a secure channel (its DEK)`, { cardFault: false });
      inputs.push({ dgi: d.dgi, data: await unseal(ctx, d.sealed, name), encrypt });
    }
    await gpCall(ctx, (gp) => gp.storeData(inputs, { pack: false }), (command) => `${command} refused`);
  } finally {
    for (const i of inputs) i.data.fill(0);
  }
}

/** READ/UPDATE BINARY without an SFI: P1-P2 is a 15-bit offset (ISO/IEC 7816-4, P1 b8 = 0). */
const MAX_BINARY_OFFSET = 0x7fff;

/** A keygen-cert chunk size from the script: an integer 1..max, or `dflt` when absent. */
function chunkSize(ctx: Ctx, value: number | undefined, dflt: number, max: number, what: string): number {
  if (value === undefined) return dflt;
  if (!Number.isInteger(value) || value < 1 || value > max) throw fail(ctx, `bad script: ${what} ${String(value)} is not 1..${max}`, { cardFault: false });
  return value;
}

async function keygenCertStep(ctx: Ctx, s: KeygenCertStep): Promise<void> {
  const pub = await expectSw(ctx, hex(ctx, s.generate, 'generate'), ['9000'], 'key generation refused');
  if (pub.length !== 65 || pub[0] !== 0x04) throw fail(ctx, `key generation answered ${pub.length} bytes, not an uncompressed SM2 point (04 ‖ X ‖ Y)`);
  let issued: { der: Uint8Array; serial: string };
  try {
    issued = await issueCertificate(ctx.opts.provider, refOf(s.ca), { publicKey: pub, subject: Object.entries(s.subject).map(([type, value]) => ({ type, value })) });
  } catch (e) {
    throw fail(ctx, `the CA did not issue a certificate: ${(e as Error).message}`, { cause: e, cardFault: false });
  }
  await writeCertificate(ctx, s, issued.der);
  ctx.result.certificates.push(issued.serial);
}

/**
 * SELECT the EF, UPDATE BINARY the certificate, READ BINARY it back; every command through
 * iso7816's encoder: Lc/Le short while they fit, extended beyond, as the chunk sizes ask.
 */
async function writeCertificate(ctx: Ctx, s: KeygenCertStep, der: Uint8Array): Promise<void> {
  const fid = hex(ctx, s.certificateFile, 'certificateFile');
  const chunk = chunkSize(ctx, s.chunk, 200, MAX_EXTENDED_DATA, 'chunk');
  const readChunk = chunkSize(ctx, s.readChunk, Math.min(chunk, MAX_SHORT_LE), MAX_EXTENDED_LE, 'readChunk');
  if (der.length > MAX_BINARY_OFFSET + 1) throw fail(ctx, `the certificate is ${der.length} bytes; UPDATE BINARY offsets (15 bits) reach ${MAX_BINARY_OFFSET + 1}`, { cardFault: false });
  await expectSw(ctx, encodeCommand({ cla: 0x00, ins: 0xa4, p1: 0x02, p2: 0x0c, data: fid }), ['9000'], `SELECT of the certificate EF ${s.certificateFile} refused`);
  for (let off = 0; off < der.length; off += chunk) {
    const part = der.subarray(off, off + chunk);
    await expectSw(ctx, encodeCommand({ cla: 0x00, ins: 0xd6, p1: off >> 8, p2: off & 0xff, data: part }), ['9000'], `UPDATE BINARY of the certificate at offset ${off} refused`);
  }
  const back: Uint8Array[] = [];
  for (let off = 0; off < der.length; off += readChunk) {
    const n = Math.min(readChunk, der.length - off);
    back.push(await expectSw(ctx, encodeCommand({ cla: 0x00, ins: 0xb0, p1: off >> 8, p2: off & 0xff, data: new Uint8Array(0), le: n }), ['9000'], 'READ BINARY of the certificate refused'));
  }
  if (!equal(concat(...back), der)) throw fail(ctx, 'the certificate read back differs from the one written');
}

/** The handler of each step kind. */
export const STEP_HANDLERS: { readonly [K in Step['op']]: Handler<K> } = {
  apdu: apduStep,
  check: checkStep,
  'sealed-apdu': sealedApduStep,
  'run-apdu': runApduStep,
  'mac-apdu': macApduStep,
  open: openStep,
  close: closeStep,
  'put-key': putKeyStep,
  'put-derived-key': putDerivedKeyStep,
  'store-data': storeDataStep,
  'keygen-cert': keygenCertStep,
};

/** Runs ctx.step with its kind's handler. */
export function runStep(ctx: Ctx): Promise<unknown> {
  const handler = STEP_HANDLERS[ctx.step.op] as (ctx: Ctx, step: Step) => Promise<unknown>;
  return handler(ctx, ctx.step);
}
