// ISO/IEC 7816-4 instruction (INS) names, plus GlobalPlatform 2.3.1 and the PBOC-style COS
// commands of the PBOC-style COS, JR/T 0025 for proprietary classes — only for messages and logs.
import { checkByte, hex2 } from './internal.js';

const INTERINDUSTRY: Record<number, string> = {
  0x04: 'DEACTIVATE FILE',
  0x0c: 'ERASE RECORD',
  0x0e: 'ERASE BINARY',
  0x0f: 'ERASE BINARY',
  0x20: 'VERIFY',
  0x21: 'VERIFY',
  0x22: 'MANAGE SECURITY ENVIRONMENT',
  0x24: 'CHANGE REFERENCE DATA',
  0x26: 'DISABLE VERIFICATION REQUIREMENT',
  0x28: 'ENABLE VERIFICATION REQUIREMENT',
  0x2a: 'PERFORM SECURITY OPERATION',
  0x2c: 'RESET RETRY COUNTER',
  0x44: 'ACTIVATE FILE',
  0x46: 'GENERATE ASYMMETRIC KEY PAIR',
  0x70: 'MANAGE CHANNEL',
  0x82: 'EXTERNAL AUTHENTICATE',
  0x84: 'GET CHALLENGE',
  0x86: 'GENERAL AUTHENTICATE',
  0x87: 'GENERAL AUTHENTICATE',
  0x88: 'INTERNAL AUTHENTICATE',
  0xa0: 'SEARCH BINARY',
  0xa1: 'SEARCH BINARY',
  0xa2: 'SEARCH RECORD',
  0xa4: 'SELECT',
  0xb0: 'READ BINARY',
  0xb1: 'READ BINARY',
  0xb2: 'READ RECORD',
  0xb3: 'READ RECORD',
  0xc0: 'GET RESPONSE',
  0xc2: 'ENVELOPE',
  0xc3: 'ENVELOPE',
  0xca: 'GET DATA',
  0xcb: 'GET DATA',
  0xd0: 'WRITE BINARY',
  0xd1: 'WRITE BINARY',
  0xd2: 'WRITE RECORD',
  0xd6: 'UPDATE BINARY',
  0xd7: 'UPDATE BINARY',
  0xda: 'PUT DATA',
  0xdb: 'PUT DATA',
  0xdc: 'UPDATE RECORD',
  0xdd: 'UPDATE RECORD',
  0xe0: 'CREATE FILE',
  0xe2: 'APPEND RECORD',
  0xe4: 'DELETE FILE',
  0xe6: 'TERMINATE DF',
  0xe8: 'TERMINATE EF',
  0xfe: 'TERMINATE CARD USAGE',
};

// Same INS, other meaning, when CLA b8 = 1 (proprietary class): GlobalPlatform first, then PBOC COS.
const PROPRIETARY: Record<number, string> = {
  0x50: 'INITIALIZE UPDATE',
  0xd8: 'PUT KEY',
  0xe2: 'STORE DATA',
  0xe4: 'DELETE',
  0xe6: 'INSTALL',
  0xe8: 'LOAD',
  0xf0: 'SET STATUS',
  0xf2: 'GET STATUS',
  0xd4: 'WRITE KEY',
  0x16: 'CARD BLOCK',
  0x18: 'APPLICATION UNBLOCK',
  0x1e: 'APPLICATION BLOCK',
  0x24: 'PIN UNBLOCK',
  0x5e: 'CHANGE/RELOAD PIN',
};

/** Name of an instruction for messages, e.g. `SELECT`; `INS 4A` when unknown. */
export function insName(ins: number, cla?: number): string {
  checkByte(ins, 'insName: ins');
  if (cla !== undefined && isProprietaryClass(checkByte(cla, 'insName: cla'))) {
    const name = PROPRIETARY[ins];
    if (name !== undefined) return name;
  }
  return INTERINDUSTRY[ins] ?? `INS ${hex2(ins)}`;
}

/** CLA b8 = 1 marks a proprietary class (FF is invalid as a CLA and left to the ISO names). */
function isProprietaryClass(cla: number): boolean {
  return (cla & 0x80) !== 0 && cla !== 0xff;
}
