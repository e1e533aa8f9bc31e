// Builders for the CREATE FILE data field (docs/simulator.md "CREATE FILE"): one FCP template 62
// with 82 (file descriptor), 83 (FID), 84 (DF name), 80 (size), 88 (SFI), 86 (three access
// condition bytes) and, for a DF, A5 (its FCI proprietary data). Host-side helpers.
import { buildTlv } from '../../iso7816/index.js';

export type EfType = 'transparent' | 'internal' | 'linear-fixed' | 'linear-fixed-tlv' | 'linear-variable' | 'linear-variable-tlv' | 'cyclic' | 'cyclic-tlv';

const FDB: Record<EfType, number> = {
  transparent: 0x01,
  internal: 0x09,
  'linear-fixed': 0x02,
  'linear-fixed-tlv': 0x03,
  'linear-variable': 0x04,
  'linear-variable-tlv': 0x05,
  cyclic: 0x06,
  'cyclic-tlv': 0x07,
};

export interface DfOptions {
  fid?: number;
  name?: Uint8Array;
  /** Access condition bytes: CREATE FILE in it, plain WRITE KEY in it. */
  create: number;
  keyWrite: number;
  /** Value of A5 in its FCI. */
  fci?: Uint8Array;
}

export function fcpDf(o: DfOptions): Uint8Array {
  const parts = [buildTlv(0x82, Uint8Array.of(0x38))];
  if (o.fid !== undefined) parts.push(buildTlv(0x83, Uint8Array.of(o.fid >> 8, o.fid & 0xff)));
  if (o.name !== undefined) parts.push(buildTlv(0x84, o.name));
  parts.push(buildTlv(0x86, Uint8Array.of(o.create, o.keyWrite, 0x00)));
  if (o.fci !== undefined) parts.push(buildTlv(0xa5, o.fci));
  return buildTlv(0x62, parts);
}

export interface EfOptions {
  fid: number;
  sfi?: number;
  type: EfType;
  /** Transparent / internal: bytes. */
  size?: number;
  /** Record files: record length (maximum for variable files) and number of records. */
  recordLength?: number;
  records?: number;
  /** Access condition bytes. */
  read: number;
  update: number;
  append?: number;
}

export function fcpEf(o: EfOptions): Uint8Array {
  const fdb = FDB[o.type];
  const transparent = o.type === 'transparent' || o.type === 'internal';
  const parts = [
    buildTlv(0x82, transparent ? Uint8Array.of(fdb) : Uint8Array.of(fdb, 0x21, 0x00, o.recordLength ?? 0, o.records ?? 0)),
    buildTlv(0x83, Uint8Array.of(o.fid >> 8, o.fid & 0xff)),
  ];
  if (transparent) parts.push(buildTlv(0x80, Uint8Array.of((o.size ?? 0) >> 8, (o.size ?? 0) & 0xff)));
  if (o.sfi !== undefined) parts.push(buildTlv(0x88, Uint8Array.of(o.sfi << 3)));
  parts.push(buildTlv(0x86, Uint8Array.of(o.read, o.update, o.append ?? 0xff)));
  return buildTlv(0x62, parts);
}
