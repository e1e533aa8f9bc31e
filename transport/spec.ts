// Reader specs: one string that names where the card is, used by every command that talks to a
// card (`--reader`) and by openTransport().
//
//   sim                               the in-process simulator: social-security card, contact, seed 0
//   sim:sscard                        the same, card kind spelled out
//   sim:sscard?seed=7&t0              query parameters, `&`-separated:
//        seed=N                       random seed of a new card (decimal or 0x hex; default 0), same seed ⇒ same challenges
//        interface=contact|contactless (alias iface=)
//        t0 | t0=1 | t0=0             T=0 behaviour: the card answers 61xx / 6Cxx (the transport resolves them)
//        state=FILE                   load the card image from FILE when it exists, save it back on close
//   sim:gp                            the GlobalPlatform card (simulator/gp: ISD with test keys 40..4F)
//   pcsc:NAME                         the PC/SC reader NAME, even if NAME starts with "sim"
//   anything else                     a PC/SC reader: its exact name, or a unique part of it (any case)
import type { CardInterface } from './transport.js';
import { ReaderSpecError } from './pcsc.js';

export const SIM_CARD_KINDS = ['sscard', 'gp'] as const;
export type SimCardKind = (typeof SIM_CARD_KINDS)[number];

export interface SimSpec {
  kind: SimCardKind;
  /** Random seed of a new card (default 0); a card loaded from `state` keeps its own. */
  seed?: number;
  interface: CardInterface;
  /** T=0 behaviour (61xx / 6Cxx); default: off for a new card, as saved for a loaded one. */
  t0?: boolean;
  /** Card image file: loaded when it exists, saved on close. */
  state?: string;
}

export type ReaderSpec = { type: 'sim'; sim: SimSpec } | { type: 'pcsc'; reader: string };

export const READER_SPEC_HELP =
  "'sim' (in-process simulator; sim:sscard?seed=N&interface=contact|contactless&t0&state=FILE), or a PC/SC reader name or unique part of it (pcsc:NAME to force PC/SC)";

const PARAMS = ['seed', 'interface', 'iface', 't0', 'state'];

export function parseReaderSpec(spec: string): ReaderSpec {
  if (typeof spec !== 'string' || spec.trim() === '') throw new ReaderSpecError(`reader: empty; give ${READER_SPEC_HELP}`);
  if (spec.startsWith('pcsc:')) {
    const reader = spec.slice(5);
    if (reader === '') throw new ReaderSpecError('reader "pcsc:": name the PC/SC reader after the colon (cardsmith readers lists them)');
    return { type: 'pcsc', reader };
  }
  if (spec !== 'sim' && !spec.startsWith('sim:') && !spec.startsWith('sim?')) return { type: 'pcsc', reader: spec };

  const q = spec.indexOf('?');
  const head = q < 0 ? spec : spec.slice(0, q);
  const query = q < 0 ? '' : spec.slice(q + 1);
  const kindText = head === 'sim' ? 'sscard' : head.slice(4);
  if (!(SIM_CARD_KINDS as readonly string[]).includes(kindText)) {
    throw new ReaderSpecError(`reader "${spec}": unknown simulated card "${kindText}"; known: ${SIM_CARD_KINDS.join(', ')}`);
  }
  const sim: SimSpec = { kind: kindText as SimCardKind, interface: 'contact' };
  if (query === '') return { type: 'sim', sim };
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const raw = eq < 0 ? undefined : part.slice(eq + 1);
    let value: string | undefined;
    try {
      value = raw === undefined ? undefined : decodeURIComponent(raw);
    } catch {
      throw new ReaderSpecError(`reader "${spec}": ${key}: bad %-escape in "${raw}"`);
    }
    switch (key) {
      case 'seed':
        sim.seed = parseSeed(value, spec);
        break;
      case 'interface':
      case 'iface':
        if (value !== 'contact' && value !== 'contactless') {
          throw new ReaderSpecError(`reader "${spec}": ${key} must be contact or contactless, not "${value ?? ''}"`);
        }
        sim.interface = value;
        break;
      case 't0':
        if (value === undefined || value === '1' || value === 'true') sim.t0 = true;
        else if (value === '0' || value === 'false') sim.t0 = false;
        else throw new ReaderSpecError(`reader "${spec}": t0 takes 1, 0, true, false or no value, not "${value}"`);
        break;
      case 'state':
        if (!value) throw new ReaderSpecError(`reader "${spec}": state needs a file name (state=card.json)`);
        sim.state = value;
        break;
      default:
        throw new ReaderSpecError(`reader "${spec}": unknown parameter "${key}"; known: ${PARAMS.join(', ')}`);
    }
  }
  return { type: 'sim', sim };
}

/** Seeds: decimal or 0x hex, 0 ≤ seed < 2^32. */
export function parseSeed(value: string | undefined, where: string): number {
  const text = (value ?? '').trim();
  const n = /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text.slice(2), 16) : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) {
    throw new ReaderSpecError(`${where.startsWith('--') ? where : `reader "${where}"`}: seed must be an integer 0..4294967295 (decimal or 0x hex), not "${text}"`);
  }
  return n;
}
