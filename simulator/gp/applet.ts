// The applet host: applet models written in TypeScript against a small Java-Card-like API
// (Java Card 3.0.x Runtime Environment: install, select, deselect, process; ISOException.throwIt;
// GlobalPlatform org.globalplatform.Application.processData for STORE DATA forwarded by a Security
// Domain after INSTALL [for personalization], GP Card Specification 2.3.1, INSTALL and STORE DATA).
// A model is looked up by the Executable Module (applet class) AID that a loaded package declares
// in its Applet component; an instance keeps its persistent fields in the card's storage, so it
// survives power cycles and image save/load, while the Applet object itself is transient (created
// again after every power-on, like transient arrays and the current selection).
import type { CardInterface } from '../card.js';
import { buildTlv } from '../../iso7816/index.js';
import { CardsmithError, type ErrorKind } from '../../errors/index.js';

/** Persistent fields of one applet instance: named byte strings, saved in the card image. */
export interface AppletStorage {
  get(name: string): Uint8Array | undefined;
  set(name: string, value: Uint8Array): void;
  delete(name: string): boolean;
  names(): string[];
}

/** A command as the applet sees it (secure messaging already removed by the SD where it applies). */
export interface AppletCommand {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Uint8Array;
  readonly le?: number | undefined;
}

export interface AppletResponse {
  data?: Uint8Array;
  /** Defaults to 9000. */
  sw?: number;
}

/** Java Card's ISOException: an applet throws it to answer with a status word. */
export class AppletException extends CardsmithError {
  override readonly name = 'AppletException';
  readonly kind: ErrorKind = 'card';
  constructor(readonly sw: number) {
    super(`applet answers ${sw.toString(16).toUpperCase().padStart(4, '0')}`);
  }
}

export interface AppletContext {
  /** The instance AID. */
  readonly aid: Uint8Array;
  readonly storage: AppletStorage;
  /** The interface the card was powered on (contact / contactless). */
  readonly cardInterface: CardInterface;
  /** The card's (seeded) random source. */
  random(length: number): Uint8Array;
}

/** What a Security Domain offers an application it forwards STORE DATA to (GP SecureChannel.decryptData). */
export interface PersonalizationContext extends AppletContext {
  /** Decrypts whole blocks under the session DEK; throws AppletException(6A80) for a bad length. */
  decrypt(data: Uint8Array): Uint8Array;
  /** 8 (3DES DEK, SCP02) or 16 (AES DEK, SCP03). */
  readonly dekBlockSize: number;
}

export interface Applet {
  /** Called on selection; false refuses it (SW 6999). The SELECT APDU then goes to process(). */
  select?(ctx: AppletContext): boolean;
  deselect?(ctx: AppletContext): void;
  /** Every command while selected, the SELECT that selected it included. */
  process(command: AppletCommand, ctx: AppletContext): AppletResponse;
  /** STORE DATA forwarded by the Security Domain after INSTALL [for personalization]. */
  processData?(command: AppletCommand, ctx: PersonalizationContext): AppletResponse;
}

export interface AppletModel {
  readonly name: string;
  /** Instances are Security Domains (may be installed with the Security Domain privilege). */
  readonly securityDomain?: boolean;
  /** Java Card install(): runs once at INSTALL [for install] with the application-specific parameters (C9). Throw AppletException to refuse. */
  install?(params: Uint8Array, ctx: AppletContext): void;
  /** Builds the transient object for an installed instance; persistent state lives in ctx.storage. */
  create(ctx: AppletContext): Applet;
}

export interface AppletModelEntry {
  /** The Executable Module (applet class) AID from the package's Applet component. */
  moduleAid: Uint8Array;
  /** When set, the model applies only to modules of this package (Executable Load File AID). */
  packageAid?: Uint8Array;
  model: AppletModel;
}

/** Storage backed by a Map the card owns; copies in and out so callers cannot alias card memory. */
export class MapStorage implements AppletStorage {
  constructor(readonly map: Map<string, Uint8Array>) {}
  get(name: string): Uint8Array | undefined {
    const v = this.map.get(name);
    return v === undefined ? undefined : Uint8Array.from(v);
  }
  set(name: string, value: Uint8Array): void {
    this.map.set(name, Uint8Array.from(value));
  }
  delete(name: string): boolean {
    return this.map.delete(name);
  }
  names(): string[] {
    return [...this.map.keys()].sort();
  }
}

const SELECT = 0xa4;

function isSelectByName(c: AppletCommand): boolean {
  return c.cla === 0x00 && c.ins === SELECT && c.p1 === 0x04;
}

/**
 * The model for an applet class the card has no TypeScript model for (cardsmith choice): it can be
 * installed and selected, answers its SELECT with 9000 and every other command with 6D00.
 */
export const INERT_APPLET: AppletModel = {
  name: 'inert',
  create: () => ({
    process: (c) => (isSelectByName(c) ? {} : { sw: 0x6d00 }),
  }),
};

/** GP Supplementary Security Domain package and module as JCOP-like cards ship them in ROM. */
export const SSD_PACKAGE_AID = Uint8Array.of(0xa0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50);
export const SSD_MODULE_AID = Uint8Array.of(0xa0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x41);

/**
 * A Supplementary Security Domain as far as this simulator goes (cardsmith choice): it answers
 * SELECT with an FCI (6F { 84 AID, A5 { 9F65 01 FF } }), refuses INITIALIZE UPDATE with 6A88
 * (it has no key sets) and everything else with 6D00. Applications can be associated with it.
 */
export const SSD_MODEL: AppletModel = {
  name: 'supplementary-security-domain',
  securityDomain: true,
  create: (ctx) => ({
    process: (c) => {
      if (isSelectByName(c)) return { data: buildTlv(0x6f, [buildTlv(0x84, ctx.aid), buildTlv(0xa5, [buildTlv(0x9f65, Uint8Array.of(0xff))])]) };
      if (c.ins === 0x50) return { sw: 0x6a88 };
      return { sw: 0x6d00 };
    },
  }),
};
