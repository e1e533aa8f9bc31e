// Each GP command encoder against the byte layout of GP Card Specification 2.3.1 chapter 11
// (and Amendment D for AES PUT KEY, EMV CPS for STORE DATA).
import t from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import { encodeCommand, type CommandApdu } from '../../iso7816/index.js';
import {
  deleteCommand,
  encodePrivileges,
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
  storeDataCommand,
} from '../../globalplatform/index.js';

const hex = (c: CommandApdu) => toHex(encodeCommand(c));
const A = fromHex('A0000001515350');
const B = fromHex('A000000151535041');

t.test('SELECT, GET DATA, GET STATUS', async (t) => {
  t.equal(hex(selectCommand(fromHex('A000000151000000'))), '00A4040008A00000015100000000');
  t.equal(hex(selectCommand(new Uint8Array(0))), '00A4040000', 'empty AID: the default-selected application');
  t.equal(hex(getDataCommand(0x9f7f)), '80CA9F7F00');
  t.equal(hex(getDataCommand(0x00e0)), '80CA00E000');
  t.equal(hex(getStatusCommand(0x80)), '80F28002024F0000');
  t.equal(hex(getStatusCommand(0x40, { next: true })), '80F24003024F0000', 'P2 b1: next occurrences after 6310');
  t.equal(hex(getStatusCommand(0x20, { tagFormat: false })), '80F22000024F0000');
  t.equal(hex(getStatusCommand(0x10, { aid: A })), '80F2100209' + '4F07A000000151535000');
  t.throws(() => getStatusCommand(0x30), /P1 must be 80, 40, 20 or 10/);
});

t.test('INSTALL variants', async (t) => {
  /** Header ‖ Lc (counted here) ‖ data ‖ Le 00: so each case lists only its fields. */
  const expect = (header: string, ...fields: string[]) => {
    const data = fields.join('');
    return header + (data.length / 2).toString(16).toUpperCase().padStart(2, '0') + data + '00';
  };
  t.equal(hex(installForLoadCommand({ loadFileAid: A, sdAid: new Uint8Array(0) })), expect('80E60200', '07A0000001515350', '00', '00', '00', '00'));
  t.equal(
    hex(installForLoadCommand({ loadFileAid: A, sdAid: fromHex('A000000151000000'), hash: new Uint8Array(20), parameters: { nonVolatileCode: 0x1234 } })),
    expect('80E60200', '07A0000001515350', '08A000000151000000', '14' + '00'.repeat(20), '06EF04C6021234', '00'),
  );
  t.equal(
    hex(installCommand({ loadFileAid: A, moduleAid: B, instanceAid: B, privileges: Uint8Array.of(0x02), parameters: fromHex('AABB') })),
    expect('80E60C00', '07A0000001515350', '08A000000151535041', '08A000000151535041', '0102', '04C902AABB', '00'),
  );
  t.equal(
    hex(installCommand({ loadFileAid: A, moduleAid: B, makeSelectable: false, privileges: fromHex('80C000'), systemParameters: { volatileData: 0x100, nonVolatileData: 0x200 } })),
    expect('80E60400', '07A0000001515350', '08A000000151535041', '08A000000151535041', '0380C000', '0CC900EF08C7020100C8020200', '00'),
  );
  t.equal(hex(makeSelectableCommand(B)), expect('80E60800', '00', '00', '08A000000151535041', '0100', '00', '00'));
  t.equal(hex(installForPersonalizationCommand(B)), expect('80E62000', '00', '00', '08A000000151535041', '00', '00', '00'));
  t.throws(() => installCommand({ loadFileAid: A, moduleAid: B, privileges: Uint8Array.of(1, 2) }), /privileges are 1 or 3 bytes/);
  t.throws(() => installForLoadCommand({ loadFileAid: fromHex('A000') }), /an AID has 5 to 16 bytes/);
  t.equal(toHex(encodePrivileges(['SecurityDomain', 'trusted-path', 'Authorized Management'])), '80C000');
  t.throws(() => encodePrivileges(['root']), /unknown privilege 'root'/);
});

t.test('LOAD: C4 stream, blocks, P1 80 and Le only on the last, block numbers in P2', async (t) => {
  const block = new Uint8Array(300).map((_, i) => i & 0xff);
  const stream = loadStream(block);
  t.equal(toHex(stream.subarray(0, 4)), 'C482012C');
  const cmds = loadCommands(stream, 239);
  t.equal(cmds.length, 2);
  t.same(cmds.map((c) => [c.p1, c.p2, c.data.length, c.le]), [
    [0x00, 0, 239, undefined],
    [0x80, 1, 65, 256],
  ]);
  t.equal(loadStream(new Uint8Array(100))[1], 0x64, 'short BER length below 128');
  t.equal(toHex(loadStream(new Uint8Array(200)).subarray(0, 3)), 'C481C8');
  t.equal(loadCommands(new Uint8Array(10), 255).length, 1);
  t.throws(() => loadCommands(new Uint8Array(257 * 100), 100), /at most 256/);
});

t.test('DELETE, SET STATUS, STORE DATA', async (t) => {
  t.equal(hex(deleteCommand(A)), '80E40000094F07A000000151535000');
  t.equal(hex(deleteCommand(A, true)), '80E40080094F07A000000151535000');
  t.equal(hex(setStatusCommand(0x40, 0x80, A)), '80F0408007A0000001515350');
  t.equal(hex(setStatusCommand(0x80, 0x7f)), '80F0807F');
  t.equal(hex(storeDataCommand(0xe0, 3, fromHex('8000021122'))), '80E2E003058000021122', 'last block, encrypted DGIs, block counter 3');
  t.throws(() => storeDataCommand(0, 256, new Uint8Array(1)), /block number must be 00..FF/);
});

t.test('PUT KEY: 3DES (type 80) and AES (type 88 with key length) formats', async (t) => {
  const des = { type: 0x80 as const, encrypted: new Uint8Array(16).fill(0x11), keyLength: 16, kcv: fromHex('8BAF47') };
  const cmd = putKeyCommand(0x21, [des, des, des], { replaceVersion: 0x20 });
  t.equal(cmd.p1, 0x20, 'P1: the version replaced');
  t.equal(cmd.p2, 0x81, 'P2: key id 1, several keys');
  t.equal(toHex(cmd.data), '21' + ('8010' + '11'.repeat(16) + '038BAF47').repeat(3));
  const aes = { type: 0x88 as const, encrypted: new Uint8Array(16).fill(0x22), keyLength: 16, kcv: fromHex('504A77') };
  t.equal(toHex(putKeyCommand(0x31, [aes]).data), '31' + '881110' + '22'.repeat(16) + '03504A77');
  t.equal(putKeyCommand(0x31, [aes]).p2, 0x01);
  t.equal(putKeyCommand(0x31, [aes]).le, 256);
  t.throws(() => putKeyCommand(0x80, [aes]), /new key version must be 01..7F/);
});
