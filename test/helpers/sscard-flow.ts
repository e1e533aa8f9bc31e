// A personalization-like flow on a blank social-security card (the simulator's blank card: an MF
// and the chip vendor's transport key 40..4F): authenticate with the transport key, create a
// transparent and a record EF, write and read them back, ask for challenges. Runs over any
// Transport, so the same flow checks the in-process simulator and the PC/SC stack.
import { concat, fromHex, toHex } from '../../bytes/index.js';
import { des3EncryptEcb } from '../../crypto/des3.js';
import { buildTlv, encodeCommand } from '../../iso7816/index.js';
import type { Transport } from '../../transport/index.js';

export const TRANSPORT_KEY = fromHex('404142434445464748494A4B4C4D4E4F');
export const SELECT_MF = '00A40000023F00';
export const BINARY_DATA = 'CAFEBABE0102030405060708';
export const RECORD_DATA = '1122334455667788';

/** CREATE FILE 80 E0 00 00 with an FCP template (docs/simulator.md "CREATE FILE"). */
export function createEf(fid: number, sfi: number, fd: Uint8Array, size?: number): Uint8Array {
  const parts = [buildTlv(0x82, fd), buildTlv(0x83, Uint8Array.of(fid >> 8, fid & 0xff))];
  if (size !== undefined) parts.push(buildTlv(0x80, Uint8Array.of(size >> 8, size & 0xff)));
  parts.push(buildTlv(0x86, Uint8Array.of(0x00, 0x00, 0x00)), buildTlv(0x88, Uint8Array.of(sfi << 3)));
  return encodeCommand({ cla: 0x80, ins: 0xe0, p1: 0, p2: 0, data: buildTlv(0x62, concat(...parts)) });
}

export interface Step {
  what: string;
  command: Uint8Array;
  /** Expected full response (data + SW) in hex, or a pattern. */
  expect: string | RegExp;
}

export interface FlowResult {
  what: string;
  command: string;
  response: string;
  ok: boolean;
}

/** Runs the flow; challenge-dependent steps are computed from the card's answers. */
export async function personalizationFlow(tr: Transport): Promise<FlowResult[]> {
  const out: FlowResult[] = [];
  const send = async (what: string, command: Uint8Array, expect: string | RegExp): Promise<string> => {
    const response = toHex(await tr.transmit(command));
    out.push({ what, command: toHex(command), response, ok: typeof expect === 'string' ? response === expect : expect.test(response) });
    return response;
  };
  await send('SELECT MF', fromHex(SELECT_MF), /^6F.*9000$/);
  const challenge = await send('GET CHALLENGE', fromHex('0084000008'), /^[0-9A-F]{16}9000$/);
  const cryptogram = des3EncryptEcb(TRANSPORT_KEY, fromHex(challenge.slice(0, 16)));
  await send('EXTERNAL AUTHENTICATE (transport key)', concat(fromHex('0082000008'), cryptogram), '9000');
  await send('CREATE FILE EF01 (transparent, SFI 1)', createEf(0xef01, 1, Uint8Array.of(0x01), 32), '9000');
  await send('UPDATE BINARY', fromHex(`00D600000C${BINARY_DATA}`), '9000');
  await send('READ BINARY (SFI 1)', fromHex('00B081000C'), `${BINARY_DATA}9000`);
  await send('CREATE FILE EF02 (linear fixed, SFI 2)', createEf(0xef02, 2, Uint8Array.of(0x02, 0x21, 0x00, 0x08, 0x04)), '9000');
  await send('APPEND RECORD (SFI 2)', fromHex(`00E2001008${'00'.repeat(8)}`), '9000');
  await send('UPDATE RECORD 1 (SFI 2)', fromHex(`00DC011408${RECORD_DATA}`), '9000');
  await send('READ RECORD 1 (SFI 2)', fromHex('00B2011408'), `${RECORD_DATA}9000`);
  await send('GET CHALLENGE', fromHex('0084000004'), /^[0-9A-F]{8}9000$/);
  return out;
}
