// A minimal host for the example personalization and for tests: sends APDUs to a SimulatedCard
// through process(), checks status words, and does the host half of the social-security COS
// cryptography from the formats in docs/simulator.md (external authentication, PBOC MACs,
// encrypted WRITE KEY). It uses crypto/ directly and nothing of the card's internals.
// (A real host goes through transport/ and channels/; simulator/ may not import those.)
import { concat, toHex } from '../../bytes/index.js';
import { blockCipher } from '../../crypto/block.js';
import { pad } from '../../crypto/padding.js';
import { pbocIv, pbocMac } from '../../crypto/pboc-mac.js';
import type { SimulatedCard } from '../card.js';
import { CardsmithError, type ErrorKind } from '../../errors/index.js';

export interface HostKey {
  alg: 'des3' | 'sm4';
  value: Uint8Array;
}

export interface Response {
  data: Uint8Array;
  sw: number;
}

/** The card did not answer what the example expected. Carries INS and SW, never command data. */
export class ExampleHostError extends CardsmithError {
  override readonly name = 'ExampleHostError';
  readonly kind: ErrorKind = 'operation';
  constructor(
    readonly step: string,
    readonly sw: number | undefined,
  ) {
    super(`example host: ${step}: card answered ${sw === undefined ? 'nothing (power lost?)' : sw.toString(16).toUpperCase().padStart(4, '0')}`);
  }
}

export const blockOf = (k: HostKey): 8 | 16 => (k.alg === 'sm4' ? 16 : 8);

/** Short APDU encoding (case 1–4). */
export function apduBytes(cla: number, ins: number, p1: number, p2: number, data?: Uint8Array, le?: number): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(cla, ins, p1, p2)];
  if (data && data.length > 0) parts.push(Uint8Array.of(data.length), data);
  if (le !== undefined) parts.push(Uint8Array.of(le & 0xff));
  return concat(...parts);
}

export class ExampleHost {
  constructor(readonly card: SimulatedCard) {}

  send(command: Uint8Array): Response {
    const r = this.card.process(command);
    if (r.length < 2) return { data: new Uint8Array(0), sw: -1 };
    return { data: r.slice(0, -2), sw: (r[r.length - 2]! << 8) | r[r.length - 1]! };
  }

  /** Sends and requires one of `sws` (default 9000); returns the data. */
  expect(step: string, command: Uint8Array, ...sws: number[]): Uint8Array {
    const r = this.send(command);
    const wanted = sws.length > 0 ? sws : [0x9000];
    if (!wanted.includes(r.sw)) throw new ExampleHostError(`${step} (INS ${toHex(command.subarray(1, 2))})`, r.sw < 0 ? undefined : r.sw);
    return r.data;
  }

  selectAid(aid: Uint8Array): Uint8Array {
    return this.expect('select by name', apduBytes(0x00, 0xa4, 0x04, 0x00, aid, 0x00));
  }

  selectFid(fid: number): void {
    this.expect('select by FID', apduBytes(0x00, 0xa4, 0x00, 0x0c, Uint8Array.of(fid >> 8, fid & 0xff)));
  }

  selectMf(): void {
    this.expect('select MF', apduBytes(0x00, 0xa4, 0x00, 0x0c, Uint8Array.of(0x3f, 0x00)));
  }

  selectParent(): void {
    this.expect('select parent', apduBytes(0x00, 0xa4, 0x03, 0x0c));
  }

  challenge(n: 4 | 8 | 16): Uint8Array {
    return this.expect('get challenge', apduBytes(0x00, 0x84, 0x00, 0x00, undefined, n));
  }

  /** 00 82 00 id Lc ECB_K(challenge ‖ 00… to whole blocks), challenge of 8 (3DES) or 16 (SM4) bytes. */
  externalAuthenticate(keyId: number, key: HostKey): void {
    const rnd = this.challenge(blockOf(key));
    const cryptogram = blockCipher(key.alg).encryptEcb(key.value, rnd);
    this.expect('external authenticate', apduBytes(0x00, 0x82, 0x00, keyId, cryptogram));
  }

  /**
   * A MAC-protected command: fetches a challenge (4 bytes for 3DES, 16 for SM4), appends the
   * PBOC MAC over header ‖ Lc ‖ body with IV = challenge ‖ zeros.
   */
  macCommand(key: HostKey, cla: number, ins: number, p1: number, p2: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
    const rnd = this.challenge(key.alg === 'sm4' ? 16 : 4);
    const lc = body.length + 4;
    const mac = pbocMac({ alg: key.alg, key: key.value, iv: pbocIv(rnd, blockOf(key)), data: concat(Uint8Array.of(cla, ins, p1, p2, lc), body) });
    return apduBytes(cla, ins, p1, p2, concat(body, mac));
  }

  /** 80 D4 00 00 Lc key block (personalization, plain). */
  writeKeyPlain(block: Uint8Array): void {
    this.expect('write key', apduBytes(0x80, 0xd4, 0x00, 0x00, block));
  }

  /** 84 D4 00 00 Lc ECB_MK(pad2(block)) ‖ MAC_MK. */
  writeKeyEncrypted(mk: HostKey, block: Uint8Array): void {
    const c = blockCipher(mk.alg).encryptEcb(mk.value, pad(block, 2, blockOf(mk)));
    this.expect('write key (encrypted)', this.macCommand(mk, 0x84, 0xd4, 0x00, 0x00, c));
  }

  createFile(fcp: Uint8Array): void {
    this.expect('create file', apduBytes(0x80, 0xe0, 0x00, 0x00, fcp));
  }
}

/** type ‖ id ‖ version ‖ algorithm (01 3DES, 02 SM4, 00 PIN) ‖ error limit ‖ value. */
export function keyBlock(type: number, id: number, version: number, key: HostKey | { pin: Uint8Array }, limit: number): Uint8Array {
  if ('pin' in key) return concat(Uint8Array.of(type, id, version, 0x00, limit), key.pin);
  return concat(Uint8Array.of(type, id, version, key.alg === 'sm4' ? 0x02 : 0x01, limit), key.value);
}
