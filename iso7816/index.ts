// ISO/IEC 7816-4 "bytes on the wire": the public API of iso7816/ (APDUs, status words,
// BER-TLV, EMV CPS DGIs, BCD / an / GBK / date codecs).
export { Iso7816Error } from './errors.js';
export {
  apdu,
  checkCommand,
  commandCase,
  encodeCommand,
  encodeResponse,
  formatCommand,
  formatResponse,
  parseCommand,
  parseResponse,
  sw1,
  sw2,
  MAX_EXTENDED_DATA,
  MAX_EXTENDED_LE,
  MAX_SHORT_DATA,
  MAX_SHORT_LE,
} from './apdu.js';
export type { ApduCase, CommandApdu, EncodeOptions, FormatOptions, ParsedCommand, ResponseApdu } from './apdu.js';
export { atrHistoricalBytes } from './atr.js';
export { insName } from './instructions.js';
export {
  describeSw,
  formatSw,
  isSuccess,
  requireSw,
  StatusWordError,
  STATUS_WORDS,
  swClass,
  swMeaning,
} from './status-words.js';
export type { CommandRef, StatusWordInfo, SwClass } from './status-words.js';
export {
  buildTlv,
  encodeLength,
  encodeTag,
  findAllTlv,
  findTlv,
  formatTag,
  MAX_TLV_DEPTH,
  parseTlv,
  tagNumber,
} from './tlv.js';
export type { ParseTlvOptions, Tag, TlvNode } from './tlv.js';
export { encodeDgi, formatDgi, isSensitiveDgi, parseDgis } from './dgi.js';
export type { Dgi } from './dgi.js';
export { decodeBcd, decodeCn, encodeBcd, encodeCn } from './bcd.js';
export type { BcdOptions } from './bcd.js';
export { decodeAn, decodeGbk, encodeAn, encodeGbk } from './text.js';
export { daysInMonth, decodeDateCn, encodeDateCn } from './date.js';
