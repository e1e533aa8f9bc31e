// DES and Triple DES (NIST SP 800-67): ECB and CBC, no padding. Keys of 8 bytes (single DES),
// 16 bytes (two-key 3DES, K1 ‖ K2 ‖ K1) or 24 bytes (three-key). Single DES is insecure and is
// here only because ISO 9797-1 MAC algorithm 3 (the "retail MAC") uses it for all but the last block.
import { abytes } from '../bytes/index.js';
import { opensslCrypt } from './node-cipher.js';

export const DES_BLOCK = 8;

// OpenSSL 3 moved single DES to the legacy provider, which Node does not load; DES-EDE with
// K1 = K2 is mathematically single DES (E_K(D_K(E_K(x))) = E_K(x)), so we run it that way.
function opensslName(key: Uint8Array, mode: 'ecb' | 'cbc'): { name: string; key: Uint8Array } {
  abytes(key, 'des3: key', 8, 16, 24);
  if (key.length === 8) {
    const k = new Uint8Array(16);
    k.set(key, 0);
    k.set(key, 8);
    return { name: `des-ede-${mode}`, key: k };
  }
  return { name: key.length === 16 ? `des-ede-${mode}` : `des-ede3-${mode}`, key };
}

function checkData(data: Uint8Array): void {
  abytes(data, 'des3: data');
  if (data.length % DES_BLOCK !== 0) throw new RangeError(`des3: data length ${data.length} is not a multiple of 8`);
}

export function des3EncryptEcb(key: Uint8Array, data: Uint8Array): Uint8Array {
  checkData(data);
  const k = opensslName(key, 'ecb');
  return opensslCrypt(k.name, k.key, null, data, true);
}

export function des3DecryptEcb(key: Uint8Array, data: Uint8Array): Uint8Array {
  checkData(data);
  const k = opensslName(key, 'ecb');
  return opensslCrypt(k.name, k.key, null, data, false);
}

export function des3EncryptCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  checkData(data);
  abytes(iv, 'des3: iv', 8);
  const k = opensslName(key, 'cbc');
  return opensslCrypt(k.name, k.key, iv, data, true);
}

export function des3DecryptCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  checkData(data);
  abytes(iv, 'des3: iv', 8);
  const k = opensslName(key, 'cbc');
  return opensslCrypt(k.name, k.key, iv, data, false);
}

/** Sets each byte's lowest bit so the byte has odd parity, as DES keys conventionally carry. */
export function adjustDesParity(key: Uint8Array): Uint8Array {
  const out = Uint8Array.from(key);
  for (let i = 0; i < out.length; i++) {
    const b = out[i]! & 0xfe;
    let ones = 0;
    for (let v = b; v; v >>= 1) ones += v & 1;
    out[i] = ones % 2 === 0 ? b | 1 : b;
  }
  return out;
}
