// The crypto layer's public API. Each primitive lives in its own module; see docs/crypto.md.
export { AES_BLOCK, aesDecryptCbc, aesDecryptEcb, aesEncryptCbc, aesEncryptEcb } from './aes.js';
export { BLOCK_ALGS, blockCipher, crypt, isBlockAlg } from './block.js';
export type { BlockAlg, BlockCipher, BlockMode } from './block.js';
export { aesCmac, cmac } from './cmac.js';
export { adjustDesParity, DES_BLOCK, des3DecryptCbc, des3DecryptEcb, des3EncryptCbc, des3EncryptEcb } from './des3.js';
export {
  DIVERSIFY_METHODS,
  diversify,
  diversifyCps11,
  diversifyEmv,
  diversifyEmvOptionA,
  diversifyKdf3,
  diversifyPboc,
  diversifyVisa2,
  emvOptionA,
  emvOptionAData,
  KEY_TYPE_CODE,
  pbocLevel,
} from './diversify.js';
export type { DiversifyAlg, DiversifyMethod, DiversifyOptions, KeyType, PbocAlg } from './diversify.js';
export { HASH_ALGS, hash } from './hash.js';
export type { HashAlg } from './hash.js';
export { kcv, kcvHex } from './kcv.js';
export type { KcvAlg } from './kcv.js';
export { cmacCounterKdf, scp03Kdf } from './kdf.js';
export { mac9797, retailMac } from './mac.js';
export type { Mac9797Options } from './mac.js';
export { pad, PaddingError, unpadMethod2 } from './padding.js';
export type { PaddingMethod } from './padding.js';
export { PBOC_MAC_LENGTH, pbocIv, pbocMac } from './pboc-mac.js';
export type { PbocMacAlg, PbocMacOptions } from './pboc-mac.js';
export { SM2_CURVE, SM2_DEFAULT_ID, sm2GenerateKeyPair, sm2PublicKey, sm2Sign, sm2Verify, sm2Za } from './sm2.js';
export type { RandomSource, Sm2KeyPair, Sm2SignOptions } from './sm2.js';
export { SM3_LENGTH, sm3 } from './sm3.js';
export { SM4_BLOCK, sm4DecryptCbc, sm4DecryptEcb, sm4EncryptCbc, sm4EncryptEcb } from './sm4.js';
