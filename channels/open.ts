// Opening a secure channel (GP Card Specification 2.3.1 §7.4.2, §11.10 INITIALIZE UPDATE, §11.8
// EXTERNAL AUTHENTICATE; Amendment D §7.1 for SCP03): one INITIALIZE UPDATE, a local check of the
// card cryptogram, then one EXTERNAL AUTHENTICATE. Nothing here retries: a wrong card cryptogram
// stops before EXTERNAL AUTHENTICATE (whose failures the card counts), with both cryptograms shown.
import { abytes, toHex } from '../bytes/index.js';
import { encodeCommand, parseResponse, swMeaning, type CommandApdu } from '../iso7816/index.js';
import type { Transport } from '../transport/transport.js';
import { AuthenticationError, SecureChannelError } from './errors.js';
import { checkPseudoRandomChallenge, initializeUpdateCommand, parseInitializeUpdateResponse, type InitializeUpdateResponse } from './initialize-update.js';
import { staticKeySource, type KeySource, type StaticKeys } from './keys.js';
import { Scp02Channel } from './scp02.js';
import { Scp03Channel } from './scp03.js';
import { defaultRandom, type SecureChannel } from './secure-channel.js';
import { C_MAC, checkSecurityLevel } from './security-level.js';

export interface InitializeUpdateOptions {
  /** P1: the key set version to use; 0 lets the card choose its default. */
  keyVersion?: number;
  /** 8 bytes (SCP02, SCP03 S8) or 16 (SCP03 S16); random when absent. */
  hostChallenge?: Uint8Array;
  /** Ask for SCP03 S16 (a 16-byte host challenge). */
  s16?: boolean;
  random?: (n: number) => Uint8Array;
}

export interface InitializeUpdateResult {
  command: CommandApdu;
  hostChallenge: Uint8Array;
  response: InitializeUpdateResponse;
  /** The response data as received, without SW. */
  raw: Uint8Array;
}

/**
 * Sends INITIALIZE UPDATE and parses the answer. Costs the card no authentication attempt (GP counts
 * failed EXTERNAL AUTHENTICATEs), which is why probe-keys may call it.
 */
export async function initializeUpdate(transport: Transport, options: InitializeUpdateOptions = {}): Promise<InitializeUpdateResult> {
  const random = options.random ?? defaultRandom;
  const hostChallenge = options.hostChallenge ?? random(options.s16 ? 16 : 8);
  abytes(hostChallenge, 'initializeUpdate: host challenge', 8, 16);
  const keyVersion = options.keyVersion ?? 0;
  const command = initializeUpdateCommand(hostChallenge, keyVersion);
  const { data, sw } = parseResponse(await transport.transmit(encodeCommand(command)));
  if (sw !== 0x9000) {
    const hexSw = toHex(Uint8Array.of(sw >> 8, sw & 0xff));
    let advice: string;
    if (sw === 0x6a88) advice = `the card has no key set version ${keyVersion} (choose another --key-version; gp info lists the key sets)`;
    else if (sw === 0x6982 || sw === 0x6983) advice = 'the key set is blocked or the card is locked; no authentication is possible with this key set';
    else if (sw === 0x6d00 || sw === 0x6e00) advice = 'the selected application is not a security domain (select the ISD first)';
    else advice = 'the card refused to start a secure channel';
    throw new AuthenticationError(`initialize update: card answered ${hexSw} (${swMeaning(sw)}): ${advice}`, sw);
  }
  return { command, hostChallenge, response: parseInitializeUpdateResponse(data), raw: data };
}

export interface OpenSecureChannelOptions extends InitializeUpdateOptions {
  /** The static keys, one key for all three, or a source deriving them from the card's KDD. */
  keys: KeySource | StaticKeys | Uint8Array;
  /** Require this protocol; the card's answer decides when absent. */
  scp?: 2 | 3;
  /** SCP02 i parameter (the card does not send it): default 15. */
  scp02i?: number;
  /** P1 of EXTERNAL AUTHENTICATE; default C-MAC (01). */
  securityLevel?: number;
  /** The AID of the security domain, to check pseudo-random SCP03 card challenges. */
  sdAid?: Uint8Array;
}

function toKeySource(keys: OpenSecureChannelOptions['keys']): KeySource {
  if (keys instanceof Uint8Array) return staticKeySource(keys);
  if ('keysFor' in keys) return keys;
  return staticKeySource(keys);
}

/**
 * INITIALIZE UPDATE → card cryptogram check → EXTERNAL AUTHENTICATE. Throws CardCryptogramError on
 * a wrong card cryptogram (EXTERNAL AUTHENTICATE is then never sent) and AuthenticationError when
 * the card refuses; neither is retried.
 */
export async function openSecureChannel(transport: Transport, options: OpenSecureChannelOptions): Promise<SecureChannel> {
  const source = toKeySource(options.keys);
  const level = options.securityLevel ?? C_MAC;
  if (options.scp !== undefined) checkSecurityLevel(options.scp === 2 ? 'scp02' : 'scp03', level);
  const init = await initializeUpdate(transport, options);
  return authenticateAfterInitializeUpdate(transport, init, { ...options, keys: source, securityLevel: level });
}

/** The second half of openSecureChannel, for callers that already sent INITIALIZE UPDATE. */
export async function authenticateAfterInitializeUpdate(transport: Transport, init: InitializeUpdateResult, options: OpenSecureChannelOptions): Promise<SecureChannel> {
  const source = toKeySource(options.keys);
  const { response, hostChallenge } = init;
  const level = options.securityLevel ?? C_MAC;
  const requested = options.keyVersion ?? 0;
  if (options.scp !== undefined && options.scp !== response.scp) {
    throw new SecureChannelError(`secure channel: the card answered with SCP0${response.scp} but SCP0${options.scp} was asked for (drop --scp or use --scp 0${response.scp})`);
  }
  if (requested !== 0 && response.keyVersion !== requested) {
    throw new SecureChannelError(`secure channel: key version ${requested} was asked for but the card answered with key version ${response.keyVersion}`);
  }
  const keys = source.keysFor(response.kdd, response.scp);
  if (response.scp === 2) {
    const channel = new Scp02Channel(transport, keys, response, hostChallenge, options.scp02i ?? 0x15, source.description);
    channel.verifyCardCryptogram();
    await channel.externalAuthenticate(level);
    return channel;
  }
  const verified = options.sdAid !== undefined ? checkPseudoRandomChallenge(keys, response, options.sdAid) : undefined;
  const channel = new Scp03Channel(transport, keys, response, hostChallenge, source.description, verified);
  channel.verifyCardCryptogram();
  await channel.externalAuthenticate(level);
  return channel;
}
