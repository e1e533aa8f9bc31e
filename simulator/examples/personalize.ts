// An example personalization of a blank social-security card, done only with APDUs sent to
// process() — the real command path — so that tests and demos start from a card the way a
// bureau would leave it. The layout follows LD/T 32 (SSSE with EF05/EF06 TLV records,
// DF01–DF04 by AID, the generation-3 PKI DDF/ADF with EFs 0012–0019, the contactless PPSE).
// Everything the public record leaves open is an *example* choice here: keys (derived from
// labels), FIDs of the SSSE (DDF1) and of EF07/EF08, file sizes, access conditions, PINs.
import { concat, fromHex } from '../../bytes/index.js';
import { pbocMac } from '../../crypto/pboc-mac.js';
import { sm3 } from '../../crypto/sm3.js';
import { buildTlv, encodeAn, encodeBcd, encodeCn, encodeDateCn, encodeGbk } from '../../iso7816/index.js';
import type { SimulatedCard } from '../card.js';
import { createSsCard, DEFAULT_TRANSPORT_KEY } from '../sscard/factory.js';
import type { CardImage } from '../sscard/image.js';
import type { Seed } from '../core/drbg.js';
import { KeyType } from '../sscard/keys.js';
import { PKI_ADF_AID, PKI_DDF_AID, PPSE_NAME, SS_APP_AIDS, SSSE_AID, UNIONPAY_AID } from '../sscard/layout.js';
import { fcpDf, fcpEf } from './fcp.js';
import { apduBytes, ExampleHost, keyBlock, type HostKey } from './host.js';

/** A 16-byte example key: SM3("cardsmith example key " ‖ label)[0..16]. Never use outside tests. */
export function exampleKey(label: string, alg: 'des3' | 'sm4' = 'des3'): HostKey {
  return { alg, value: sm3(new TextEncoder().encode(`cardsmith example key ${label}`)).slice(0, 16) };
}

export interface PersonalizeOptions {
  /** The blank card's transport key (default: the simulator's default, 3DES). */
  transportKey?: HostKey;
  /** Cardholder data written to EF05/EF06. */
  cardNumber?: string;
  name?: string;
  ssn?: string;
  /** The SSSE PIN (id 00) and the PKI PIN (id 01 in the PKI ADF), digits. */
  pin?: string;
  pkiPin?: string;
  /** Leave the card blank-but-built (skip END OF PERSONALIZATION). */
  skipEnd?: boolean;
}

export const EXAMPLE_FIDS = Object.freeze({
  SSSE: 0xddf1,
  EF05: 0xef05,
  EF06: 0xef06,
  EF07: 0xef07,
  EF08: 0xef08,
  DF01: 0xdf01,
  DF02: 0xdf02,
  DF03: 0xdf03,
  DF04: 0xdf04,
  /** In DF02: a linear-fixed EF (SFI 0A), 4 records of 16 bytes. */
  EF0A: 0xef0a,
  /** In DF04: a cyclic EF (SFI 15), 5 records of 16 bytes. */
  EF15: 0xef15,
  PKI_ADF: 0xdf01,
  SIGN_PUB: 0x0012,
  SIGN_PRIV: 0x0013,
  ENC_PUB: 0x0014,
  ENC_PRIV: 0x0015,
  SIGN_CERT: 0x0018,
  ENC_CERT: 0x0019,
});

export interface ExampleCard {
  transportKey: HostKey;
  keys: {
    mfMaster: HostKey;
    cardBlock: HostKey;
    ssseMaster: HostKey;
    ssseInternal: HostKey;
    /** External-auth key 0D of the SSSE: the update condition of EF05/EF06/EF08. */
    ssseUpdate: HostKey;
    /** Line-protection key 01 of the SSSE (SM4): EF07 is updated with a MAC under it. */
    ssseLine: HostKey;
    sssePuk: HostKey;
    ssseReload: HostKey;
    ssseAppBlock: HostKey;
    appMaster: HostKey;
    pkiDdfMaster: HostKey;
    pkiMaster: HostKey;
  };
  pin: string;
  pkiPin: string;
  cardNumber: string;
  /** 04 ‖ X ‖ Y of the signing key pair generated on the card. */
  signingPublicKey: Uint8Array;
  /** The placeholder certificate written to EF 0018. */
  signingCertificate: Uint8Array;
}

// BCD PIN, an odd digit count padded with F ("12345" → 12 34 5F).
const bcdPin = (digits: string) => encodeBcd(digits, { pad: 'right' });

/**
 * Personalizes a blank card (made by createSsCard) over its contact interface and powers it off.
 * Throws ExampleHostError at the first unexpected status word.
 */
export function personalizeExample(card: SimulatedCard, opts: PersonalizeOptions = {}): ExampleCard {
  const transportKey = opts.transportKey ?? { alg: 'des3' as const, value: DEFAULT_TRANSPORT_KEY };
  const keys: ExampleCard['keys'] = {
    mfMaster: exampleKey('mf master'),
    cardBlock: exampleKey('card block'),
    ssseMaster: exampleKey('ssse master'),
    ssseInternal: exampleKey('ssse internal'),
    ssseUpdate: exampleKey('ssse update'),
    ssseLine: exampleKey('ssse line', 'sm4'),
    sssePuk: exampleKey('ssse puk'),
    ssseReload: exampleKey('ssse reload'),
    ssseAppBlock: exampleKey('ssse app block'),
    appMaster: exampleKey('app master'),
    pkiDdfMaster: exampleKey('pki ddf master'),
    pkiMaster: exampleKey('pki master', 'sm4'),
  };
  const pin = opts.pin ?? '123456';
  const pkiPin = opts.pkiPin ?? '123456';
  const cardNumber = opts.cardNumber ?? 'A02796279';
  const host = new ExampleHost(card);
  card.powerOn('contact');

  // MF: authenticate with the transport key, replace it (encrypted + MACed under itself).
  host.selectMf();
  host.externalAuthenticate(0x00, transportKey);
  host.writeKeyEncrypted(transportKey, keyBlock(KeyType.MASTER, 0x00, 0x01, keys.mfMaster, 15));
  host.writeKeyPlain(keyBlock(KeyType.CARD_BLOCK, 0x00, 0x01, keys.cardBlock, 15));
  const authMf = () => {
    host.selectMf();
    host.externalAuthenticate(0x00, keys.mfMaster);
  };

  // PPSE: contactless directory listing the UnionPay application.
  const directory = buildTlv(0xbf0c, [buildTlv(0x61, [buildTlv(0x4f, UNIONPAY_AID), buildTlv(0x87, Uint8Array.of(0x01))])]);
  host.createFile(fcpDf({ name: PPSE_NAME, create: 0xff, keyWrite: 0xff, fci: directory }));

  // SSSE.
  authMf();
  host.createFile(fcpDf({ fid: EXAMPLE_FIDS.SSSE, name: SSSE_AID, create: 0x20, keyWrite: 0xff }));
  host.writeKeyPlain(keyBlock(KeyType.MASTER, 0x00, 0x01, keys.ssseMaster, 15));
  host.writeKeyPlain(keyBlock(KeyType.INTERNAL_AUTH, 0x00, 0x01, keys.ssseInternal, 15));
  host.writeKeyPlain(keyBlock(KeyType.EXTERNAL_AUTH, 0x0d, 0x01, keys.ssseUpdate, 5));
  host.writeKeyPlain(keyBlock(KeyType.LINE_PROTECTION, 0x01, 0x01, keys.ssseLine, 5));
  host.writeKeyPlain(keyBlock(KeyType.PIN_UNBLOCK, 0x00, 0x01, keys.sssePuk, 5));
  host.writeKeyPlain(keyBlock(KeyType.PIN_RELOAD, 0x00, 0x01, keys.ssseReload, 5));
  host.writeKeyPlain(keyBlock(KeyType.APP_BLOCK, 0x00, 0x01, keys.ssseAppBlock, 5));
  host.writeKeyPlain(keyBlock(KeyType.PIN, 0x00, 0x01, { pin: bcdPin(pin) }, 3));

  host.createFile(fcpEf({ fid: EXAMPLE_FIDS.EF05, sfi: 0x05, type: 'linear-variable-tlv', recordLength: 32, records: 8, read: 0x00, update: 0x2d, append: 0x2d }));
  host.createFile(fcpEf({ fid: EXAMPLE_FIDS.EF06, sfi: 0x06, type: 'linear-variable-tlv', recordLength: 40, records: 8, read: 0x10, update: 0x2d, append: 0x2d }));
  host.createFile(fcpEf({ fid: EXAMPLE_FIDS.EF07, sfi: 0x07, type: 'transparent', size: 512, read: 0x10, update: 0x31 }));
  host.createFile(fcpEf({ fid: EXAMPLE_FIDS.EF08, sfi: 0x08, type: 'transparent', size: 1024, read: 0x10, update: 0x2d }));

  // EF05, card identification: tag 01 = city code ‖ RID ‖ chip serial ‖ MAC (example: PBOC MAC
  // under the internal-auth key, IV 0, over the first 12 bytes).
  const first12 = concat(encodeBcd('110100'), fromHex('D156000005'), fromHex('00000001').slice(0, 4)).slice(0, 12);
  const idCode = concat(first12, pbocMac({ alg: 'des3', key: keys.ssseInternal.value, iv: new Uint8Array(8), data: first12 }));
  const ef05: [number, Uint8Array][] = [
    [0x01, idCode],
    [0x02, encodeAn('3', 1)],
    [0x03, encodeAn('3.00', 4)],
    [0x04, fromHex('110100000000000000000001')],
    [0x05, encodeDateCn('2024-01-15')],
    [0x06, encodeDateCn('2034-01-15')],
    [0x07, encodeAn(cardNumber, 9)],
  ];
  for (const [tag, value] of ef05) host.expect('append EF05', apduBytes(0x00, 0xe2, 0x00, (0x05 << 3) | 0, concat(Uint8Array.of(tag, value.length), value)));
  const ef06: [number, Uint8Array][] = [
    [0x08, encodeAn(opts.ssn ?? '11010519491231002X', 18)],
    [0x09, encodeGbk(opts.name ?? '张三', 30)],
    [0x0a, encodeAn('1', 1)],
    [0x0b, encodeBcd('01')],
    [0x0c, encodeBcd('110105')],
    [0x0d, encodeCn('19491231', 4)],
  ];
  for (const [tag, value] of ef06) host.expect('append EF06', apduBytes(0x00, 0xe2, 0x00, (0x06 << 3) | 0, concat(Uint8Array.of(tag, value.length), value)));

  // DF01–DF04 by AID, each with its master key; DF02 and DF04 get one record file each.
  const dfs = [EXAMPLE_FIDS.DF01, EXAMPLE_FIDS.DF02, EXAMPLE_FIDS.DF03, EXAMPLE_FIDS.DF04];
  dfs.forEach((fid, i) => {
    host.createFile(fcpDf({ fid, name: SS_APP_AIDS[i]!, create: 0x20, keyWrite: 0xff }));
    host.writeKeyPlain(keyBlock(KeyType.MASTER, 0x00, 0x01, keys.appMaster, 15));
    if (fid === EXAMPLE_FIDS.DF02) {
      host.createFile(fcpEf({ fid: EXAMPLE_FIDS.EF0A, sfi: 0x0a, type: 'linear-fixed', recordLength: 16, records: 4, read: 0x00, update: 0x20, append: 0x20 }));
      for (let k = 1; k <= 4; k++) host.expect('append EF0A', apduBytes(0x00, 0xe2, 0x00, 0x0a << 3, new Uint8Array(16).fill(k)));
    }
    if (fid === EXAMPLE_FIDS.DF04) {
      host.createFile(fcpEf({ fid: EXAMPLE_FIDS.EF15, sfi: 0x15, type: 'cyclic', recordLength: 16, records: 5, read: 0x00, update: 0xff, append: 0x20 }));
    }
    host.selectParent();
  });

  // Generation-3 PKI: DDF, ADF DF01 with its PIN, key-pair and certificate EFs.
  authMf();
  host.createFile(fcpDf({ name: PKI_DDF_AID, create: 0x20, keyWrite: 0xff }));
  host.writeKeyPlain(keyBlock(KeyType.MASTER, 0x00, 0x01, keys.pkiDdfMaster, 15));
  host.createFile(fcpDf({ fid: EXAMPLE_FIDS.PKI_ADF, name: PKI_ADF_AID, create: 0x20, keyWrite: 0xff }));
  host.writeKeyPlain(keyBlock(KeyType.MASTER, 0x00, 0x01, keys.pkiMaster, 15));
  host.writeKeyPlain(keyBlock(KeyType.PIN, 0x01, 0x01, { pin: bcdPin(pkiPin) }, 6));
  host.createFile(fcpEf({ fid: EXAMPLE_FIDS.SIGN_PUB, type: 'transparent', size: 65, read: 0x00, update: 0x20 }));
  host.createFile(fcpEf({ fid: EXAMPLE_FIDS.SIGN_PRIV, type: 'internal', size: 32, read: 0x11, update: 0x20 }));
  host.createFile(fcpEf({ fid: EXAMPLE_FIDS.ENC_PUB, type: 'transparent', size: 65, read: 0x00, update: 0x20 }));
  host.createFile(fcpEf({ fid: EXAMPLE_FIDS.ENC_PRIV, type: 'internal', size: 32, read: 0x11, update: 0x20 }));
  host.createFile(fcpEf({ fid: EXAMPLE_FIDS.SIGN_CERT, type: 'transparent', size: 1024, read: 0x00, update: 0x20 }));
  host.createFile(fcpEf({ fid: EXAMPLE_FIDS.ENC_CERT, type: 'transparent', size: 1024, read: 0x00, update: 0x20 }));
  const signingPublicKey = host.expect('generate key pair', apduBytes(0x80, 0x40, 0x00, 0x00, fromHex('C0020012C2020013'), 0x00));
  // A placeholder "certificate" (the CA lives in keys/, host side): written in 200-byte chunks.
  const signingCertificate = concat(fromHex('3082'), new TextEncoder().encode('cardsmith example certificate '.repeat(20)));
  host.selectFid(EXAMPLE_FIDS.SIGN_CERT);
  for (let off = 0; off < signingCertificate.length; off += 200) {
    const chunk = signingCertificate.slice(off, off + 200);
    host.expect('update certificate', apduBytes(0x00, 0xd6, off >> 8, off & 0xff, chunk));
  }

  if (!opts.skipEnd) {
    authMf();
    host.expect('end of personalization', apduBytes(0x80, 0xea, 0x00, 0x00));
  }
  card.powerOff();
  return { transportKey, keys, pin, pkiPin, cardNumber, signingPublicKey, signingCertificate };
}

/**
 * A personalized example card as an image (JSON-serialisable), for demos and tests:
 * `createSsCard({ image })` makes as many identical cards from it as needed.
 */
export function personalizedExampleImage(opts: PersonalizeOptions & { seed?: Seed; t0?: boolean } = {}): { image: CardImage; info: ExampleCard } {
  const card = createSsCard({ seed: opts.seed ?? 0, t0: false });
  const info = personalizeExample(card, opts);
  const image = card.toImage();
  if (opts.t0 !== undefined) image.options.t0 = opts.t0;
  return { image, info };
}
