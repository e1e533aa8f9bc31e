// Names the social-security COS recognises (LD/T 32) and the one it treats specially:
// the PPSE answers SELECT on the contactless interface only (EMV Book B: the PPSE is the
// contactless directory; over the contacts the card behaves as if it were absent).
import { fromHex } from '../../bytes/index.js';

/** "2PAY.SYS.DDF01", the Proximity Payment System Environment. */
export const PPSE_NAME = new TextEncoder().encode('2PAY.SYS.DDF01');
/** "sx1.sh." + 社会保障 (GBK): the social security system environment. */
export const SSSE_AID = fromHex('7378312E73682EC9E7BBE1B1A3D5CF');
/** "PKI." + 社会保障: the generation-3 PKI DDF. */
export const PKI_DDF_AID = fromHex('504B492EC9E7BBE1B1A3D5CF');
/** "SS.CERT.ADF1": the generation-3 PKI ADF (FID DF01). */
export const PKI_ADF_AID = fromHex('53532E434552542E41444631');
/** DF01 public data, DF02 employment, DF03 social insurance, DF04 medical (medium confidence). */
export const SS_APP_AIDS = Object.freeze([
  fromHex('D15600000500'),
  fromHex('D15600000501'),
  fromHex('D15600000502'),
  fromHex('D15600000503'),
]);
/** The UnionPay financial application the PPSE lists. */
export const UNIONPAY_AID = fromHex('A000000333010101');
