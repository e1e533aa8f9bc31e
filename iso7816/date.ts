// LD/T 32 social security card dates (EF05 issue/expiry, EF06 birth date): YYYYMMDD as 4 bytes
// of packed BCD ('cn' with no padding), checked against the Gregorian calendar.
import { abytes } from '../bytes/index.js';
import { bcdDigits, encodeBcd } from './bcd.js';
import { Iso7816Error } from './errors.js';

const DASHED = 'dddd-dd-dd';
const COMPACT = 'dddddddd';

/**
 * 'YYYY-MM-DD', 'YYYYMMDD' or a Date → 4 BCD bytes. A Date is read in UTC, so the bytes do not
 * depend on the machine's time zone; pass a string when you mean a calendar date.
 */
export function encodeDateCn(date: string | Date): Uint8Array {
  const { year, month, day } = date instanceof Date ? fromDateObject(date) : parseDateText(date);
  return encodeBcd(pad(year, 4) + pad(month, 2) + pad(day, 2));
}

/** 4 BCD bytes → 'YYYY-MM-DD'; a nibble above 9 or an impossible date names its byte offset. */
export function decodeDateCn(bytes: Uint8Array): string {
  abytes(bytes, 'decodeDateCn', 4);
  const digits = bcdDigits(bytes, 'date');
  const year = Number(digits.slice(0, 4));
  const month = Number(digits.slice(4, 6));
  const day = Number(digits.slice(6, 8));
  const text = `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}`;
  const problem = calendarProblem(year, month, day);
  if (problem) {
    const offset = problem.field === 'month' ? 2 : 3;
    throw new Iso7816Error(`date: ${text} (${problem.text}) — the ${problem.field} at offset ${offset}`, offset);
  }
  return text;
}

/** Days in a month of the proleptic Gregorian calendar. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function parseDateText(text: string): { year: number; month: number; day: number } {
  if (typeof text !== 'string') throw new TypeError(`encodeDateCn: expected a string or Date, got ${typeof text}`);
  const pattern = text.includes('-') ? DASHED : COMPACT;
  checkPattern(text, pattern);
  const digits = text.replaceAll('-', '');
  const year = Number(digits.slice(0, 4));
  const month = Number(digits.slice(4, 6));
  const day = Number(digits.slice(6, 8));
  const problem = calendarProblem(year, month, day);
  if (problem) {
    const dashed = pattern === DASHED;
    const position = problem.field === 'month' ? (dashed ? 5 : 4) : dashed ? 8 : 6;
    throw new Iso7816Error(`date: '${text}' is not a calendar date (${problem.text}); see the ${problem.field} at position ${position}`, position);
  }
  return { year, month, day };
}

/** Compares the text to 'dddd-dd-dd' / 'dddddddd' and reports the first position that differs. */
function checkPattern(text: string, pattern: string): void {
  const chars = Array.from(text);
  const shape = pattern === DASHED ? 'YYYY-MM-DD' : 'YYYYMMDD';
  for (let k = 0; k < Math.max(chars.length, pattern.length); k++) {
    const ch = chars[k];
    const want = pattern[k];
    if (ch === undefined) throw new Iso7816Error(`date: '${text}' is too short for ${shape} (a character is missing at position ${k})`, k);
    if (want === undefined) throw new Iso7816Error(`date: '${text}' is too long for ${shape} (unexpected '${ch}' at position ${k})`, k);
    if (want === '-' && ch !== '-') throw new Iso7816Error(`date: expected '-' at position ${k} of '${text}', found '${ch}'`, k);
    if (want === 'd' && !(ch >= '0' && ch <= '9' && ch.length === 1)) {
      throw new Iso7816Error(`date: '${ch}' at position ${k} of '${text}' is not a digit`, k);
    }
  }
}

function fromDateObject(date: Date): { year: number; month: number; day: number } {
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime())) throw new RangeError('encodeDateCn: invalid Date');
  if (year < 0 || year > 9999) throw new RangeError(`encodeDateCn: year ${year} does not fit in 4 digits`);
  return { year, month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

function calendarProblem(year: number, month: number, day: number): { field: 'month' | 'day'; text: string } | undefined {
  if (month < 1 || month > 12) return { field: 'month', text: `month ${pad(month, 2)} is not 01-12` };
  const last = daysInMonth(year, month);
  if (day < 1 || day > last) return { field: 'day', text: `${pad(year, 4)}-${pad(month, 2)} has days 01-${last}` };
  return undefined;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
