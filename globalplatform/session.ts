// A GlobalPlatform session over any Transport (GP Card Specification 2.3.1: §9 card content
// management, chapter 11 commands; Amendment D for SCP03; EMV CPS v1.1 for STORE DATA). It selects
// the security domain, opens a secure channel, and runs card content management commands. It never
// prints and never exits: progress goes to an optional callback, failures are typed errors whose
// message says what the card answered, at which step, and in which state the card was left.
import { concat, equal, fromHex, toHex } from '../bytes/index.js';
import { kcv } from '../crypto/index.js';
import { encodeCommand, encodeDgi, isSensitiveDgi, parseResponse, type CommandApdu, type ResponseApdu } from '../iso7816/index.js';
import type { Transport } from '../transport/transport.js';
import { openSecureChannel, type OpenSecureChannelOptions } from '../channels/open.js';
import type { StaticKeys } from '../channels/keys.js';
import type { SecureChannel } from '../channels/secure-channel.js';
import { DEFAULT_ISD_AIDS, checkAid } from './aid.js';
import { CapFile, type LoadFileOptions } from './cap.js';
import { decodeCardRecognitionData, decodeCplc, decodeKeyInformation, decodeSdFci, type CardRecognitionData, type Cplc, type KeyInfo, type SdFci } from './card-data.js';
import {
  CARD_STATES,
  deleteCommand,
  getDataCommand,
  getStatusCommand,
  installCommand,
  installForLoadCommand,
  installForPersonalizationCommand,
  loadCommands,
  loadStream,
  makeSelectableCommand,
  putKeyCommand,
  selectCommand,
  setStatusCommand,
  STORE_DATA,
  storeDataCommand,
  type InstallOptions,
  type LoadParameters,
  type PutKeyComponent,
} from './commands.js';
import { GpCommandError, GpError, IsdNotFoundError, KcvMismatchError } from './errors.js';
import { GET_STATUS_P1, parseStatusLegacy, parseStatusTags, type RegistryEntry, type RegistryKind } from './registry.js';

export interface GpProgress {
  op: 'load' | 'store-data';
  /** 1-based. */
  block: number;
  blocks: number;
  bytes: number;
}

export interface GpSessionOptions {
  onProgress?: (event: GpProgress) => void;
}

export interface SdSelection {
  aid: Uint8Array;
  fci: SdFci;
  /** How the AID was found. */
  how: 'given' | 'default-selected' | 'default-aid';
  /** 6283: the card is locked (SELECT still works; most commands will not). */
  locked: boolean;
}

export interface LoadResult {
  loadFileAid: string;
  /** LOAD commands sent. */
  blocks: number;
  blockSize: number;
  /** Bytes of the LOAD stream (C4 header included). */
  bytes: number;
}

export type DgiInput = {
  dgi: number;
  data: Uint8Array;
  /** Encrypt under the DEK; default: DGIs 8000–8FFF when StoreDataOptions.encryptSensitive holds. */
  encrypt?: boolean;
};

export interface StoreDataOptions {
  /** Encrypt DGIs 8000–8FFF under the DEK (default true; needs a secure channel). */
  encryptSensitive?: boolean;
  /** P1 b5–b4 data structure indication (default none, as EMV CPS cards expect). */
  structure?: 'none' | 'dgi' | 'ber-tlv';
  /** Largest plain data field per STORE DATA; default what fits a short APDU after the channel's overhead. */
  blockSize?: number;
  /** Several DGIs share a command while they fit (default true); false starts each DGI in a new command. */
  pack?: boolean;
}

const NOT_SUPPORTED = new Set([0x6a88, 0x6a86, 0x6a82, 0x6d00, 0x6e00, 0x6a81]);

/** What a person can do about a status word, per command family. */
function advice(sw: number, op: string): string {
  switch (sw) {
    case 0x6982:
      return 'security status not satisfied: authenticate first (most card content management needs a secure channel)';
    case 0x6985:
      return op === 'DELETE'
        ? 'other objects depend on it: delete its applications first, or delete with related objects'
        : 'conditions of use not satisfied (is the AID already in use, or the card locked?)';
    case 0x6a80:
      return 'the card refused the data (malformed AID, parameters or privileges)';
    case 0x6a84:
      return 'not enough memory on the card';
    case 0x6a88:
      return op === 'DELETE' ? 'no such AID on the card; nothing was deleted' : 'referenced data not found (gp list shows what is on the card)';
    case 0x6a86:
      return 'wrong P1/P2 for this card';
    case 0x6d00:
      return 'the selected application does not know this command (select the security domain first)';
    default:
      return '';
  }
}

export class GpSession {
  readonly transport: Transport;
  /** The transport as the session and its channels use it: counts every command APDU. */
  readonly #wire: Transport;
  #options: GpSessionOptions;
  #channel: SecureChannel | undefined;
  #sd: SdSelection | undefined;
  #apdus = 0;

  constructor(transport: Transport, options: GpSessionOptions = {}) {
    this.transport = transport;
    this.#options = options;
    this.#wire = {
      name: transport.name,
      atr: () => transport.atr(),
      transmit: (c) => {
        this.#apdus++;
        return transport.transmit(c);
      },
      reset: (cold) => transport.reset(cold),
      close: () => transport.close(),
    };
  }

  /** The open secure channel, if any. */
  get channel(): SecureChannel | undefined {
    return this.#channel?.active ? this.#channel : undefined;
  }

  get sd(): SdSelection | undefined {
    return this.#sd;
  }

  /** Command APDUs this session sent (secure channel setup included). */
  get apduCount(): number {
    return this.#apdus;
  }

  /** Where commands go: the secure channel when one is open, else the plain transport. */
  get link(): Transport {
    return this.channel ?? this.#wire;
  }

  /** Sends one command (through the channel when open) and parses the answer. */
  async transmit(command: CommandApdu): Promise<ResponseApdu> {
    return parseResponse(await this.link.transmit(encodeCommand(command)));
  }

  /** Sends one command on the plain transport (SELECT, which ends any secure channel session). */
  async transmitPlain(command: CommandApdu): Promise<ResponseApdu> {
    return parseResponse(await this.#wire.transmit(encodeCommand(command)));
  }

  async #expect(command: CommandApdu, what: string, ...ok: number[]): Promise<ResponseApdu> {
    const r = await this.transmit(command);
    const allowed = ok.length ? ok : [0x9000];
    if (!allowed.includes(r.sw)) throw new GpCommandError(what, r.sw, advice(r.sw, what));
    return r;
  }

  /**
   * Selects the security domain: `aid` when given; else the default-selected application when its
   * FCI looks like a security domain's; else the default ISD AIDs in turn. Ends any secure channel.
   */
  async selectSd(aid?: Uint8Array): Promise<SdSelection> {
    this.#endChannel('a new SELECT');
    if (aid) {
      checkAid(aid, 'select: security domain AID');
      const r = await this.transmitPlain(selectCommand(aid));
      if (r.sw !== 0x9000 && r.sw !== 0x6283) {
        throw new IsdNotFoundError(`select: the card answered ${toHex(Uint8Array.of(r.sw >> 8, r.sw & 0xff))} to SELECT ${toHex(aid)}: no such security domain (leave --sd out to search the default AIDs)`);
      }
      return (this.#sd = { aid: Uint8Array.from(aid), fci: decodeSdFci(r.data), how: 'given', locked: r.sw === 0x6283 });
    }
    const tried: string[] = [];
    const byDefault = await this.transmitPlain(selectCommand(new Uint8Array(0)));
    if (byDefault.sw === 0x9000 || byDefault.sw === 0x6283) {
      const fci = decodeSdFci(byDefault.data);
      // Only an FCI with SD proprietary data (A5: 73 / 9F6E / 9F65) is taken for the ISD: the
      // default-selected application of a payment card is the payment applet.
      if (fci.aid && (fci.cardRecognitionData || fci.maxCommandDataLength !== undefined || fci.productionLifeCycle)) {
        return (this.#sd = { aid: fromHex(fci.aid), fci, how: 'default-selected', locked: byDefault.sw === 0x6283 });
      }
    }
    tried.push('the default-selected application');
    for (const hex of DEFAULT_ISD_AIDS) {
      const candidate = fromHex(hex);
      const r = await this.transmitPlain(selectCommand(candidate));
      if (r.sw === 0x9000 || r.sw === 0x6283) return (this.#sd = { aid: candidate, fci: decodeSdFci(r.data), how: 'default-aid', locked: r.sw === 0x6283 });
      tried.push(`${hex} (${toHex(Uint8Array.of(r.sw >> 8, r.sw & 0xff))})`);
    }
    throw new IsdNotFoundError(`select: no issuer security domain found (tried ${tried.join(', ')}); give its AID with --sd`);
  }

  /**
   * Opens a secure channel with the application selected now — the SD chosen by selectSd(), or
   * whatever the card has selected when selectSd() was not called (as a recorded transcript has it).
   */
  async authenticate(options: OpenSecureChannelOptions): Promise<SecureChannel> {
    this.#endChannel('a new authentication');
    const sdAid = options.sdAid ?? this.#sd?.aid;
    this.#channel = await openSecureChannel(this.#wire, { ...options, ...(sdAid ? { sdAid } : {}) });
    return this.#channel;
  }

  /**
   * Goes on over a secure channel opened outside the session on the same card (keys derived from
   * the KDD of an INITIALIZE UPDATE the caller sent, say): later commands, PUT KEY's and STORE
   * DATA's encryption use it. Ends the session's own channel, if any.
   */
  useChannel(channel: SecureChannel): void {
    this.#endChannel('another secure channel was taken over');
    this.#channel = channel;
  }

  /** Ends the secure channel, if one is open, with `reason` (later transmits through it name it); commands go in plain. */
  endChannel(reason: string): void {
    if (this.#channel?.active) this.#channel.end(reason);
    this.#channel = undefined;
  }

  #endChannel(reason: string): void {
    this.endChannel(`the session moved on: ${reason}`);
  }

  /** transmit, then wipes the command's bytes (keys under the DEK, personalization data). */
  async #transmitWiped(command: CommandApdu): Promise<ResponseApdu> {
    const encoded = encodeCommand(command);
    try {
      return parseResponse(await this.link.transmit(encoded));
    } finally {
      encoded.fill(0);
      command.data.fill(0);
    }
  }

  /** GET DATA; undefined when the card does not have that data object. */
  async getData(tag: number): Promise<Uint8Array | undefined> {
    const r = await this.transmit(getDataCommand(tag));
    if (r.sw === 0x9000) return r.data;
    if (NOT_SUPPORTED.has(r.sw)) return undefined;
    throw new GpCommandError(`GET DATA ${tag.toString(16).toUpperCase().padStart(4, '0')}`, r.sw, advice(r.sw, 'GET DATA'));
  }

  async cplc(referenceYear?: number): Promise<Cplc | undefined> {
    const d = await this.getData(0x9f7f);
    return d && d.length > 0 ? decodeCplc(d, referenceYear) : undefined;
  }

  async cardRecognitionData(): Promise<CardRecognitionData | undefined> {
    const d = await this.getData(0x0066);
    return d && d.length > 0 ? decodeCardRecognitionData(d) : undefined;
  }

  async keyInformation(): Promise<KeyInfo[] | undefined> {
    const d = await this.getData(0x00e0);
    return d && d.length > 0 ? decodeKeyInformation(d) : undefined;
  }

  /** IIN (42) or CIN (45): the value, without its tag. */
  async identifier(tag: 0x42 | 0x45): Promise<string | undefined> {
    const d = await this.getData(tag);
    if (!d || d.length === 0) return undefined;
    return d[0] === tag && d.length >= 2 ? toHex(d.subarray(2, 2 + d[1]!)) : toHex(d);
  }

  /** GET STATUS of one kind, following 6310 continuations; falls back to the fixed format on 6A86. */
  async getStatus(kind: keyof typeof GET_STATUS_P1): Promise<RegistryEntry[]> {
    const p1 = GET_STATUS_P1[kind];
    const entryKind: RegistryKind = kind === 'isd' ? 'isd' : kind === 'applications' ? 'application' : 'load-file';
    let tagFormat = true;
    const chunks: Uint8Array[] = [];
    for (let round = 0; round < 64; round++) {
      const r = await this.transmit(getStatusCommand(p1, { next: round > 0, tagFormat }));
      if (r.sw === 0x6a88 && round === 0) return [];
      if (r.sw === 0x6a86 && round === 0 && tagFormat) {
        tagFormat = false;
        round = -1;
        continue;
      }
      if (r.sw !== 0x9000 && r.sw !== 0x6310) throw new GpCommandError(`GET STATUS ${p1.toString(16).toUpperCase()}`, r.sw, advice(r.sw, 'GET STATUS'));
      chunks.push(r.data);
      if (r.sw === 0x9000) {
        const data = concat(...chunks);
        return tagFormat ? parseStatusTags(data, entryKind) : parseStatusLegacy(data, entryKind, kind === 'loadFilesAndModules');
      }
    }
    throw new GpError('GET STATUS: the card kept answering 6310 (more data) for 64 rounds; giving up');
  }

  /** The whole registry: ISD, applications and SDs, load files with their modules. */
  async registry(): Promise<{ isd: RegistryEntry[]; applications: RegistryEntry[]; loadFiles: RegistryEntry[] }> {
    const isd = await this.getStatus('isd');
    const applications = await this.getStatus('applications');
    let loadFiles: RegistryEntry[];
    try {
      loadFiles = await this.getStatus('loadFilesAndModules');
    } catch (e) {
      if (!(e instanceof GpCommandError)) throw e;
      loadFiles = await this.getStatus('loadFiles');
    }
    return { isd, applications, loadFiles };
  }

  /** Largest plain data field per command: a short APDU, less the channel's overhead and the card's 9F65 limit. */
  maxBlockSize(): number {
    const channel = this.channel;
    let n = channel ? channel.maxDataLength(255) : 255;
    const cardLimit = this.#sd?.fci.maxCommandDataLength;
    if (cardLimit !== undefined && cardLimit > 0 && cardLimit < 255) n = Math.min(n, channel ? channel.maxDataLength(cardLimit) : cardLimit);
    return n;
  }

  async installForLoad(o: { loadFileAid: Uint8Array; sdAid?: Uint8Array; hash?: Uint8Array; parameters?: Uint8Array | LoadParameters; token?: Uint8Array }): Promise<void> {
    await this.#expect(installForLoadCommand({ ...o, sdAid: o.sdAid ?? this.#sd?.aid ?? new Uint8Array(0) }), 'INSTALL [for load]');
  }

  /**
   * LOAD of a load file data block (INSTALL [for load] must precede). A status word other than 9000
   * stops at once, naming the block: the card keeps no part of an incomplete load file.
   */
  async load(loadFileAid: Uint8Array, loadFileDataBlock: Uint8Array, o: { blockSize?: number; dapBlocks?: Uint8Array[] } = {}): Promise<LoadResult> {
    const stream = loadStream(loadFileDataBlock, o.dapBlocks);
    const blockSize = o.blockSize ?? this.maxBlockSize();
    const commands = loadCommands(stream, blockSize);
    for (const [k, command] of commands.entries()) {
      const r = await this.transmit(command);
      if (r.sw !== 0x9000) {
        throw new GpCommandError(
          `LOAD block ${k + 1} of ${commands.length} (P2 ${k.toString(16).toUpperCase().padStart(2, '0')}) of ${toHex(loadFileAid)}`,
          r.sw,
          `${advice(r.sw, 'LOAD') || 'the card refused the block'}; the load stopped here and the card keeps no part of an incomplete load file (gp list shows what is on the card)`,
        );
      }
      this.#options.onProgress?.({ op: 'load', block: k + 1, blocks: commands.length, bytes: Math.min(stream.length, (k + 1) * blockSize) });
    }
    return { loadFileAid: toHex(loadFileAid), blocks: commands.length, blockSize, bytes: stream.length };
  }

  /** INSTALL [for load] + LOAD of a CAP file's package. */
  async loadCap(
    cap: CapFile,
    o: LoadFileOptions & { hash?: 'sha1' | 'sha256'; parameters?: Uint8Array | LoadParameters; sdAid?: Uint8Array; blockSize?: number } = {},
  ): Promise<LoadResult> {
    const block = cap.loadFileDataBlock(o);
    await this.installForLoad({
      loadFileAid: cap.packageAid,
      ...(o.sdAid ? { sdAid: o.sdAid } : {}),
      ...(o.hash ? { hash: cap.loadFileDataBlockHash(o.hash, o) } : {}),
      ...(o.parameters ? { parameters: o.parameters } : {}),
    });
    return this.load(cap.packageAid, block, o.blockSize !== undefined ? { blockSize: o.blockSize } : {});
  }

  /** INSTALL [for install (and make selectable)]. */
  async install(o: InstallOptions): Promise<void> {
    await this.#expect(installCommand(o), o.makeSelectable === false ? 'INSTALL [for install]' : 'INSTALL [for install and make selectable]');
  }

  async makeSelectable(aid: Uint8Array, privileges?: Uint8Array): Promise<void> {
    await this.#expect(makeSelectableCommand(aid, privileges), 'INSTALL [for make selectable]');
  }

  /** DELETE; `related` also deletes what depends on it (a load file's applications). */
  async delete(aid: Uint8Array, o: { related?: boolean } = {}): Promise<void> {
    await this.#expect(deleteCommand(aid, o.related ?? false), 'DELETE');
  }

  /**
   * PUT KEY of a whole key set (ENC, MAC, DEK as key ids 1–3), encrypted under this session's DEK,
   * and a check of the KCVs the card returns. `replaceVersion` 0 adds a key set.
   */
  async putKeys(o: { keys: StaticKeys; newVersion: number; replaceVersion?: number; keyId?: number }): Promise<{ version: number; kcvs: string[] }> {
    const channel = this.channel;
    if (!channel) throw new GpError('PUT KEY: the keys are encrypted under the session DEK, so an authenticated secure channel is needed (authenticate first)');
    const aes = channel.protocol === 'scp03';
    const keys = [o.keys.enc, o.keys.mac, o.keys.dek];
    const components: PutKeyComponent[] = keys.map((k) => ({
      type: aes ? 0x88 : 0x80,
      encrypted: channel.encryptKey(k),
      keyLength: k.length,
      kcv: kcv(aes ? 'aes' : 'des3', k),
    }));
    const command = putKeyCommand(o.newVersion, components, {
      ...(o.replaceVersion !== undefined ? { replaceVersion: o.replaceVersion } : {}),
      ...(o.keyId !== undefined ? { keyId: o.keyId } : {}),
    });
    const r = await this.#transmitWiped(command);
    const action = o.replaceVersion ? `replacing key set ${o.replaceVersion} with version ${o.newVersion}` : `adding key set version ${o.newVersion}`;
    if (r.sw !== 0x9000) throw new GpCommandError(`PUT KEY (${action})`, r.sw, `${advice(r.sw, 'PUT KEY') || 'the card refused the keys'}; the card's keys are unchanged`);
    const expected = concat(Uint8Array.of(o.newVersion), ...components.map((c) => c.kcv));
    if (!equal(r.data, expected)) {
      const got = toHex(r.data);
      throw new KcvMismatchError(
        `PUT KEY (${action}): the card answered ${got || '(no data)'}, expected key version and KCVs ${toHex(expected)} — ` +
          `the card holds other keys than the ones sent (or reports them wrongly); key set ${o.newVersion} may be unusable: ` +
          'do not discard the old keys, and check with gp info which key sets the card lists',
        toHex(expected),
        got,
      );
    }
    return { version: o.newVersion, kcvs: components.map((c) => toHex(c.kcv)) };
  }

  /** SET STATUS of an application or SD: lock (b8 set) or unlock (back to its previous state). */
  async setApplicationLock(aid: Uint8Array, lock: boolean): Promise<void> {
    await this.#expect(setStatusCommand(0x40, lock ? 0x80 : 0x00, aid), `SET STATUS (${lock ? 'lock' : 'unlock'} ${toHex(aid)})`);
  }

  /** SET STATUS of the card: lock (7F), unlock (back to SECURED, 0F), terminate (FF, irreversible). */
  async setCardState(state: 'locked' | 'secured' | 'terminated'): Promise<void> {
    await this.#expect(setStatusCommand(0x80, CARD_STATES[state]), `SET STATUS (card ${state})`);
  }

  /** INSTALL [for personalization] of `target`, then its DGIs in STORE DATA commands. */
  async personalize(target: Uint8Array, dgis: readonly DgiInput[], o: StoreDataOptions = {}): Promise<{ commands: number; bytes: number }> {
    await this.#expect(installForPersonalizationCommand(target), `INSTALL [for personalization] of ${toHex(target)}`);
    return this.storeData(dgis, o);
  }

  /**
   * STORE DATA of DGIs (EMV CPS v1.1 §4.3): plain and encrypted DGIs go in separate commands so P1
   * can say which carry encrypted data (b7–b6 = 11); a DGI too long for one command continues in the
   * next; P2 counts the blocks from 00; the last command has P1 b8 set.
   */
  async storeData(dgis: readonly DgiInput[], o: StoreDataOptions = {}): Promise<{ commands: number; bytes: number }> {
    if (dgis.length === 0) throw new RangeError('store data: no DGIs to store');
    const encrypt = o.encryptSensitive ?? true;
    const structure = o.structure === 'dgi' ? STORE_DATA.structureDgi : o.structure === 'ber-tlv' ? STORE_DATA.structureBerTlv : STORE_DATA.structureNone;
    const size = o.blockSize ?? this.maxBlockSize();
    const blocks = this.#storeDataBlocks(dgis, size, encrypt, o.pack ?? true);
    let bytes = 0;
    try {
      for (const [k, b] of blocks.entries()) {
        const last = k === blocks.length - 1;
        const p1 = (last ? STORE_DATA.last : 0) | (b.encrypted ? STORE_DATA.encrypted : STORE_DATA.noEncryption) | structure;
        const length = b.data.length;
        const r = await this.#transmitWiped(storeDataCommand(p1, k, b.data));
        if (r.sw !== 0x9000) {
          throw new GpCommandError(
            `STORE DATA block ${k + 1} of ${blocks.length} (P2 ${k.toString(16).toUpperCase().padStart(2, '0')})`,
            r.sw,
            `${advice(r.sw, 'STORE DATA') || 'the application refused the data'}; blocks before this one were stored`,
          );
        }
        bytes += length;
        this.#options.onProgress?.({ op: 'store-data', block: k + 1, blocks: blocks.length, bytes });
      }
    } finally {
      for (const b of blocks) b.data.fill(0);
    }
    return { commands: blocks.length, bytes };
  }

  /** The DGIs encoded (sensitive ones encrypted) and cut into STORE DATA data fields of at most `size` bytes. */
  #storeDataBlocks(dgis: readonly DgiInput[], size: number, encryptSensitive: boolean, pack: boolean): { data: Uint8Array; encrypted: boolean }[] {
    const blocks: { data: Uint8Array; encrypted: boolean }[] = [];
    for (const { dgi, data, encrypt } of dgis) {
      const sensitive = encrypt ?? (encryptSensitive && isSensitiveDgi(dgi));
      let payload: Uint8Array;
      if (sensitive) {
        const channel = this.channel;
        if (!channel) throw new GpError(`STORE DATA: DGI ${dgi.toString(16).toUpperCase()} is sensitive and is encrypted under the session DEK, so a secure channel is needed (authenticate first)`);
        payload = encodeDgi(dgi, channel.encryptSensitiveData(data));
      } else payload = encodeDgi(dgi, data);
      const last = blocks[blocks.length - 1];
      if (pack && last && last.encrypted === sensitive && last.data.length + payload.length <= size) {
        const before = last.data;
        last.data = concat(before, payload);
        before.fill(0);
      } else {
        for (let off = 0; off < payload.length; off += size) blocks.push({ data: payload.slice(off, off + size), encrypted: sensitive });
      }
      payload.fill(0);
    }
    return blocks;
  }

  /** SELECT an application on the plain transport (ends the secure channel session). */
  async selectApplication(aid: Uint8Array): Promise<ResponseApdu> {
    this.#endChannel('an application was selected');
    this.#sd = undefined;
    return this.transmitPlain(selectCommand(aid));
  }
}

/** Parses CAP bytes (re-exported here for callers that only import the session). */
export function parseCap(bytes: Uint8Array, source?: string): CapFile {
  return CapFile.parse(bytes, source);
}
