// The built-in "CPS data store" applet: personalized per EMV Card Personalization Specification 1.1
// (STORE DATA with DGIs, EMV) through INSTALL [for personalization] and STORE DATA
// forwarded by the ISD, it afterwards answers SELECT, READ RECORD (ISO/IEC 7816-4) and
// GET DATA (EMV Book 3) from the stored DGIs, the way an EMV applet does after
// personalization. The DGI → command mapping is cardsmith's choice (docs/simulator-gp.md):
// - SELECT: FCI = 6F { 84 instance AID, A5 { DGI 9102 } }; DGI 9102 data that already starts with
//   A5 is taken as the A5 template, data starting with 6F as the whole FCI.
// - READ RECORD record r of SFI s: the data of DGI (s << 8 | r), as stored (normally a 70 template).
// - GET DATA tag T: the data of DGI T as the value of T when such a DGI exists (outside the record
//   range 0101–1EFF and the secret range 8000–8FFF); otherwise the first data object with tag T
//   inside the other non-secret, non-record DGIs in DGI order.
// Secret DGIs 8000–8FFF must arrive encrypted (STORE DATA P1 b7-b6 = 11) and are decrypted under
// the session DEK; they are stored but never returned by any command.
import { concat } from '../../bytes/index.js';
import { buildTlv, encodeTag, formatDgi, parseTlv, type TlvNode } from '../../iso7816/index.js';
import { AppletException, type Applet, type AppletCommand, type AppletContext, type AppletModel, type AppletResponse, type PersonalizationContext } from './applet.js';

/** cardsmith test package "F0 'csm' 'CPS'" and its applet class (module) AID. */
export const CPS_PACKAGE_AID = Uint8Array.of(0xf0, 0x63, 0x73, 0x6d, 0x43, 0x50, 0x53);
export const CPS_MODULE_AID = Uint8Array.of(0xf0, 0x63, 0x73, 0x6d, 0x43, 0x50, 0x53, 0x01);

const DGI_FCI = 0x9102;
const key = (dgi: number): string => `dgi:${formatDgi(dgi)}`;

export function isSecretDgi(dgi: number): boolean {
  return dgi >= 0x8000 && dgi <= 0x8fff;
}

/** DGI sfi ‖ record with SFI 1–30 and record 1–255: the CPS convention for record data. */
export function isRecordDgi(dgi: number): boolean {
  const sfi = dgi >> 8;
  return sfi >= 1 && sfi <= 30 && (dgi & 0xff) !== 0;
}

function storedDgis(ctx: AppletContext): number[] {
  return ctx.storage
    .names()
    .filter((n) => n.startsWith('dgi:'))
    .map((n) => parseInt(n.slice(4), 16))
    .sort((a, b) => a - b);
}

function fci(ctx: AppletContext): Uint8Array {
  const d = ctx.storage.get(key(DGI_FCI));
  if (d === undefined || d.length === 0) return buildTlv(0x6f, [buildTlv(0x84, ctx.aid)]);
  if (d[0] === 0x6f) return d;
  if (d[0] === 0xa5) return buildTlv(0x6f, [buildTlv(0x84, ctx.aid), d]);
  return buildTlv(0x6f, [buildTlv(0x84, ctx.aid), buildTlv(0xa5, d)]);
}

function readRecord(c: AppletCommand, ctx: AppletContext): AppletResponse {
  if ((c.p2 & 0x07) !== 0x04 || c.p1 === 0x00) throw new AppletException(0x6a86);
  const sfi = c.p2 >> 3;
  if (sfi < 1 || sfi > 30) throw new AppletException(0x6a86);
  const data = ctx.storage.get(key((sfi << 8) | c.p1));
  if (data === undefined) throw new AppletException(0x6a83);
  return { data };
}

function findNode(nodes: readonly TlvNode[], tag: number): TlvNode | undefined {
  for (const n of nodes) {
    if (n.tag === tag) return n;
    if (n.children) {
      const inner = findNode(n.children, tag);
      if (inner) return inner;
    }
  }
  return undefined;
}

function getData(c: AppletCommand, ctx: AppletContext): AppletResponse {
  const tag = (c.p1 << 8) | c.p2;
  const tagNumber = c.p1 === 0 ? c.p2 : tag;
  try {
    encodeTag(tagNumber);
  } catch {
    throw new AppletException(0x6a88); // P1-P2 is not a BER tag, so no data object can have it
  }
  if (!isSecretDgi(tag) && !isRecordDgi(tag)) {
    const direct = ctx.storage.get(key(tag));
    if (direct !== undefined) return { data: buildTlv(tagNumber, direct) };
  }
  for (const dgi of storedDgis(ctx)) {
    if (isSecretDgi(dgi) || isRecordDgi(dgi)) continue;
    let nodes: TlvNode[];
    try {
      nodes = parseTlv(ctx.storage.get(key(dgi))!, { padding: true });
    } catch {
      continue;
    }
    const node = findNode(nodes, tagNumber);
    if (node) return { data: buildTlv(node.tag, node.value) };
  }
  throw new AppletException(0x6a88);
}

/** Transient state of one personalization sequence: DGI bytes waiting for the rest of their data. */
interface Pending {
  bytes: Uint8Array;
}

function storeDgis(c: AppletCommand, ctx: PersonalizationContext, pending: Pending): AppletResponse {
  const structure = c.p1 & 0x18;
  if (structure === 0x10) throw new AppletException(0x6a80); // BER-TLV: this applet takes DGIs only
  const encryption = c.p1 & 0x60;
  if (encryption !== 0x00 && encryption !== 0x60) throw new AppletException(0x6a80);
  // A new sequence (block 00) starts from nothing; the pending bytes change only once the whole
  // command has been accepted, so a refused command leaves the applet as it was.
  const buf = concat(c.p2 === 0x00 ? new Uint8Array(0) : pending.bytes, c.data);
  let i = 0;
  const complete: { dgi: number; data: Uint8Array }[] = [];
  for (;;) {
    if (buf.length - i < 3) break;
    const dgi = (buf[i]! << 8) | buf[i + 1]!;
    let length = buf[i + 2]!;
    let at = i + 3;
    if (length === 0xff) {
      if (buf.length - i < 5) break;
      length = (buf[i + 3]! << 8) | buf[i + 4]!;
      at = i + 5;
    }
    if (at + length > buf.length) break;
    complete.push({ dgi, data: buf.slice(at, at + length) });
    i = at + length;
  }
  const rest = buf.slice(i);
  const last = (c.p1 & 0x80) !== 0;
  if (last && rest.length > 0) {
    pending.bytes = new Uint8Array(0);
    throw new AppletException(0x6a80);
  }
  // Decrypt and check everything before storing anything: a refused command changes nothing.
  const values = complete.map(({ dgi, data }) => {
    if (!isSecretDgi(dgi)) return { dgi, data };
    if (encryption !== 0x60) throw new AppletException(0x6a80); // a secret sent in clear
    return { dgi, data: ctx.decrypt(data) };
  });
  for (const { dgi, data } of values) ctx.storage.set(key(dgi), data);
  pending.bytes = last ? new Uint8Array(0) : rest;
  return {};
}

export const CPS_APPLET: AppletModel = {
  name: 'cps-data-store',
  create(ctx: AppletContext): Applet {
    const pending: Pending = { bytes: new Uint8Array(0) };
    return {
      process(c: AppletCommand): AppletResponse {
        if (c.cla === 0x00 && c.ins === 0xa4 && c.p1 === 0x04) return { data: fci(ctx) };
        if (c.ins === 0xb2) {
          if (c.cla !== 0x00) throw new AppletException(0x6e00);
          return readRecord(c, ctx);
        }
        if (c.ins === 0xca) {
          if (c.cla !== 0x00 && c.cla !== 0x80) throw new AppletException(0x6e00);
          return getData(c, ctx);
        }
        throw new AppletException(0x6d00);
      },
      processData(c: AppletCommand, pctx: PersonalizationContext): AppletResponse {
        return storeDgis(c, pctx, pending);
      },
    };
  },
};
