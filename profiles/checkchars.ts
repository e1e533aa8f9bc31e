// Check characters and identifiers of Chinese social-security cards and payment cards:
//   - card number (LD/T 32): weights 3 7 9 10 5 8 4 2 over 8 characters (0–9, A=10 … Z=35),
//     r = 11 − (sum mod 11), r = 10 → 'X', r = 11 → '0'; examples A0279627→9, B0754118→4, F4166531→5;
//   - citizen ID number (GB 11643-1999, ISO 7064 MOD 11-2): weights 2^(17−i) mod 11 over 17 digits,
//     check = "10X98765432"[sum mod 11];
//   - PAN (ISO/IEC 7812-1 Annex B, the Luhn formula);
//   - region codes (GB/T 2260): 6 digits whose first two name a province-level division.
// Pure functions on strings; they never echo the value they check in an error (cardholder data).

const CARD_NUMBER_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2] as const;

/** Value of 0–9 / A–Z as the card number check uses it, or -1. */
function alnumValue(ch: string): number {
  const c = ch.charCodeAt(0);
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x5a) return c - 0x41 + 10;
  return -1;
}

/** The check character of the first 8 characters of a social security card number. */
export function cardNumberCheck(first8: string): string {
  if (typeof first8 !== 'string' || first8.length !== 8) {
    throw new RangeError(`cardNumberCheck: needs exactly 8 characters, got ${typeof first8 === 'string' ? first8.length : typeof first8}`);
  }
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    const v = alnumValue(first8[i]!);
    if (v < 0) throw new RangeError(`cardNumberCheck: the character at position ${i} is not 0-9 or A-Z`);
    sum += v * CARD_NUMBER_WEIGHTS[i]!;
  }
  const r = 11 - (sum % 11);
  return r === 10 ? 'X' : r === 11 ? '0' : String(r);
}

/** Whether a 9-character card number carries the right check character; a reason when not. */
export function cardNumberProblem(value: string): string | undefined {
  if (value.length !== 9) return `must be 9 characters (8 + check character), got ${value.length}`;
  const bad = [...value.slice(0, 8)].findIndex((c) => alnumValue(c) < 0);
  if (bad >= 0) return `character ${bad + 1} is not 0-9 or A-Z`;
  const want = cardNumberCheck(value.slice(0, 8));
  if (value[8] !== want) return 'wrong check character (9th character)';
  return undefined;
}

const GB11643_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const GB11643_CHECK = '10X98765432';

/** The 18th character of a citizen ID number from its first 17 digits. */
export function gb11643Check(first17: string): string {
  if (typeof first17 !== 'string' || first17.length !== 17) {
    throw new RangeError(`gb11643Check: needs exactly 17 digits, got ${typeof first17 === 'string' ? first17.length : typeof first17}`);
  }
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const c = first17.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) throw new RangeError(`gb11643Check: the character at position ${i} is not a digit`);
    sum += c * GB11643_WEIGHTS[i]!;
  }
  return GB11643_CHECK[sum % 11]!;
}

/**
 * Problems of an 18-character citizen ID / social security number: shape, region, birth date,
 * check character — in that order, the first one found. Lower-case 'x' is refused: cards store
 * the check character upper-case (an), and silently fixing it would make two spellings of one key.
 */
export function citizenIdProblem(value: string, today?: string): string | undefined {
  if (value.length !== 18) return `must be 18 characters, got ${value.length}`;
  for (let i = 0; i < 17; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return `character ${i + 1} must be a digit`;
  }
  const last = value[17]!;
  if (!/^[0-9X]$/.test(last)) return last === 'x' ? "the check character must be an upper-case 'X'" : 'character 18 must be a digit or X';
  const region = regionProblem(value.slice(0, 6));
  if (region) return `characters 1-6 (region): ${region}`;
  const birth = dateProblem(value.slice(6, 14), today);
  if (birth) return `characters 7-14 (birth date): ${birth}`;
  if (gb11643Check(value.slice(0, 17)) !== last) return 'wrong check character (GB 11643, 18th character)';
  return undefined;
}

/** First two digits of GB/T 2260 codes: provinces, autonomous regions, municipalities, SARs, Taiwan. */
export const PROVINCE_CODES: ReadonlySet<string> = new Set([
  '11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37',
  '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65',
  '71', '81', '82',
]);

export function regionProblem(value: string): string | undefined {
  if (!/^[0-9]{6}$/.test(value)) return 'must be 6 digits';
  if (!PROVINCE_CODES.has(value.slice(0, 2))) return `does not start with a province code (GB/T 2260: 11-65, 71, 81, 82)`;
  return undefined;
}

export function luhnValid(digits: string): boolean {
  if (!/^[0-9]+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 0x30;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The Luhn check digit to append to `digits`. */
export function luhnCheck(digits: string): string {
  if (!/^[0-9]+$/.test(digits)) throw new RangeError('luhnCheck: needs decimal digits');
  for (let d = 0; d <= 9; d++) if (luhnValid(digits + String(d))) return String(d);
  /* c8 ignore next */
  throw new RangeError('luhnCheck: no check digit');
}

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** 'YYYYMMDD' or 'YYYY-MM-DD' → 'YYYYMMDD', or undefined when it is not a calendar date. */
export function normalizeDate(value: string): string | undefined {
  const m = /^([0-9]{4})-?([0-9]{2})-?([0-9]{2})$/.exec(value);
  if (!m) return undefined;
  if (value.length === 9) return undefined; // one dash only
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo)) return undefined;
  return `${m[1]}${m[2]}${m[3]}`;
}

/** Shape and calendar of a date; with `today` (YYYYMMDD) also refuses dates after it. */
export function dateProblem(value: string, today?: string): string | undefined {
  if (!/^([0-9]{4})-?([0-9]{2})-?([0-9]{2})$/.test(value) || value.length === 9) return 'must be a date YYYY-MM-DD or YYYYMMDD';
  const n = normalizeDate(value);
  if (n === undefined) return 'is not a calendar date';
  if (n < '18000101') return 'is before 1800';
  if (today !== undefined && n > today) return 'is in the future';
  return undefined;
}

/** YYYYMMDD plus n years; 29 February becomes 28 February in a year that has none. */
export function addYears(yyyymmdd: string, years: number): string {
  const n = normalizeDate(yyyymmdd);
  if (n === undefined) throw new RangeError('addYears: not a date YYYYMMDD');
  if (!Number.isInteger(years)) throw new RangeError('addYears: years must be an integer');
  const y = Number(n.slice(0, 4)) + years;
  if (y < 0 || y > 9999) throw new RangeError('addYears: year out of range');
  const m = Number(n.slice(4, 6));
  const d = Math.min(Number(n.slice(6, 8)), daysIn(y, m));
  return `${String(y).padStart(4, '0')}${n.slice(4, 6)}${String(d).padStart(2, '0')}`;
}
