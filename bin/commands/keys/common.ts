// What every `cardsmith keys` command shares: which store (a file, or a PKCS#11 token), where its
// passphrase or PIN comes from (environment, a file, or a no-echo prompt; never argv), clear
// components for ceremonies, and the mapping of keys/ errors to the CLI's exit codes.
import { readFileSync } from 'node:fs';
import type { Options } from 'yargs';
import { fromHex, wipe } from '../../../bytes/index.js';
import { AuditError, CeremonyError } from '../../../keys/errors.js';
import { FileKeyStore } from '../../../keys/file-store.js';
import { componentKcv } from '../../../keys/material.js';
import { Pkcs11KeyStore, SOFTHSM2_MODULE } from '../../../keys/pkcs11-store.js';
import type { AuditHash } from '../../../keys/audit.js';
import type { KeyAlg, KeyStore } from '../../../keys/types.js';
import type { Ctx } from '../../context.js';
import { OperationFailed, UsageError } from '../../errors.js';
import type { Io } from '../../io.js';

export const storeOptions = {
  keystore: {
    type: 'string',
    demandOption: true,
    requiresArg: true,
    describe: 'the key store: a FILE, or pkcs11:token=LABEL for a PKCS#11 token',
  },
  'pass-file': { type: 'string', requiresArg: true, describe: 'file store: read the passphrase from this file (else CARDSMITH_KEYSTORE_PASS, else a prompt)' },
  'pkcs11-module': { type: 'string', requiresArg: true, describe: `PKCS#11 module (else CARDSMITH_PKCS11_MODULE, else ${SOFTHSM2_MODULE})` },
  'pin-file': { type: 'string', requiresArg: true, describe: 'PKCS#11: read the user PIN from this file (else CARDSMITH_PKCS11_PIN, else a prompt)' },
  'audit-log': { type: 'string', requiresArg: true, describe: 'audit log file (default: KEYSTORE.audit; required for pkcs11: stores, or CARDSMITH_AUDIT_LOG)' },
  json: { type: 'boolean', default: false, describe: 'machine-readable output (one JSON object)' },
} satisfies Record<string, Options>;

export interface StoreArgs {
  keystore: string;
  passFile?: string;
  pkcs11Module?: string;
  pinFile?: string;
  auditLog?: string;
  json: boolean;
}

export const componentOptions = {
  component: {
    type: 'string',
    array: true,
    requiresArg: true,
    describe: 'a clear component: env:NAME, file:PATH or prompt (no echo); give it 2 or 3 times, one per custodian',
  },
  'component-kcv': {
    type: 'string',
    array: true,
    requiresArg: true,
    describe: "each component's KCV from its custodian's sheet, in the same order (needed when not on a terminal)",
  },
  kcv: { type: 'string', requiresArg: true, describe: "the expected KCV of the combined key (checked before it is stored)" },
} satisfies Record<string, Options>;

export interface ComponentArgs {
  component?: string[];
  componentKcv?: string[];
  kcv?: string;
}

function stdinIsTty(io: Io): boolean {
  return Boolean((io.stdin as { isTTY?: boolean }).isTTY);
}

/** Reads one line from a terminal without echo. */
export async function promptHidden(io: Io, question: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  if (!stdinIsTty(io) || typeof stdin.setRawMode !== 'function') {
    throw new UsageError(`cannot prompt for ${question.replace(/:\s*$/, '')}: standard input is not a terminal`);
  }
  // Echo off before the question appears, so that nothing typed right after it is echoed.
  stdin.setRawMode(true);
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let text = '';
    stdin.resume();
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new UsageError('cancelled'));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function promptLine(io: Io, question: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  if (!stdinIsTty(io)) throw new UsageError('cannot ask for a confirmation: standard input is not a terminal');
  process.stderr.write(question);
  return new Promise((resolve) => {
    stdin.resume();
    stdin.once('data', (d: Buffer | string) => {
      stdin.pause();
      resolve(d.toString().trim());
    });
  });
}

function readTextFile(option: string, path: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new UsageError(`--${option}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The file store's passphrase: --pass-file, CARDSMITH_KEYSTORE_PASS, or a no-echo prompt (twice when creating). */
export async function passphrase(io: Io, a: StoreArgs, creating: boolean): Promise<Uint8Array> {
  let text: string;
  if (a.passFile !== undefined) text = readTextFile('pass-file', a.passFile);
  else if (io.env.CARDSMITH_KEYSTORE_PASS) text = io.env.CARDSMITH_KEYSTORE_PASS;
  else if (stdinIsTty(io)) {
    text = await promptHidden(io, `passphrase for ${a.keystore}: `);
    if (creating && (await promptHidden(io, 'the same passphrase again: ')) !== text) throw new UsageError('the two passphrases differ; nothing was created');
  } else throw new UsageError('give the key store passphrase in CARDSMITH_KEYSTORE_PASS or --pass-file FILE, or run on a terminal to be asked');
  if (text.length === 0) throw new UsageError('the key store passphrase is empty');
  return new TextEncoder().encode(text);
}

async function pin(io: Io, a: StoreArgs, token: string): Promise<string> {
  if (a.pinFile !== undefined) return readTextFile('pin-file', a.pinFile).trim();
  if (io.env.CARDSMITH_PKCS11_PIN) return io.env.CARDSMITH_PKCS11_PIN;
  if (stdinIsTty(io)) return promptHidden(io, `user PIN of token ${token}: `);
  throw new UsageError('give the token PIN in CARDSMITH_PKCS11_PIN or --pin-file FILE, or run on a terminal to be asked');
}

function pkcs11Token(keystore: string): string | undefined {
  if (!keystore.startsWith('pkcs11:')) return undefined;
  const m = /(?:^pkcs11:|;)token=([^;]+)/.exec(keystore);
  if (!m) throw new UsageError(`--keystore ${keystore}: a PKCS#11 store is written pkcs11:token=LABEL`);
  return decodeURIComponent(m[1]!);
}

async function pkcs11Options(io: Io, a: StoreArgs, token: string) {
  const auditPath = a.auditLog ?? io.env.CARDSMITH_AUDIT_LOG;
  if (!auditPath) throw new UsageError('a PKCS#11 store needs --audit-log FILE (or CARDSMITH_AUDIT_LOG): the token keeps the anchor, the file keeps the entries');
  return { module: a.pkcs11Module ?? io.env.CARDSMITH_PKCS11_MODULE ?? SOFTHSM2_MODULE, token, pin: await pin(io, a, token), auditPath };
}

/** Creates a store (keys init). */
export async function createStore(io: Io, a: StoreArgs & { auditHash: AuditHash }): Promise<KeyStore> {
  const token = pkcs11Token(a.keystore);
  if (token !== undefined) return Pkcs11KeyStore.init({ ...(await pkcs11Options(io, a, token)), auditHash: a.auditHash, write: true });
  const pass = await passphrase(io, a, true);
  try {
    return await FileKeyStore.create(a.keystore, pass, { auditHash: a.auditHash, ...(a.auditLog ? { auditPath: a.auditLog } : {}) });
  } finally {
    wipe(pass);
  }
}

export async function openStore(io: Io, a: StoreArgs, write: boolean): Promise<KeyStore> {
  const token = pkcs11Token(a.keystore);
  if (token !== undefined) return Pkcs11KeyStore.open({ ...(await pkcs11Options(io, a, token)), write });
  const pass = await passphrase(io, a, false);
  try {
    return await FileKeyStore.open(a.keystore, pass, { write, ...(a.auditLog ? { auditPath: a.auditLog } : {}) });
  } finally {
    wipe(pass);
  }
}

/** Runs `fn` with an open store and closes it whatever happens. */
export async function withStore<T>(ctx: Ctx, a: StoreArgs, write: boolean, fn: (store: KeyStore) => Promise<T>): Promise<T> {
  let store: KeyStore | undefined;
  try {
    store = await openStore(ctx.io, a, write);
    return await fn(store);
  } finally {
    await store?.close();
  }
}

const KCV_RE = /^[0-9A-Fa-f]{6}$/;

function checkKcvArg(option: string, value: string): string {
  if (!KCV_RE.test(value)) throw new UsageError(`--${option}: a KCV is 6 hex digits (3 bytes), got '${value}'`);
  return value.toUpperCase();
}

/**
 * Reads the clear components one by one, shows each one's KCV and has it confirmed — against
 * --component-kcv (non-interactive) or by the officer at the terminal — before the next is read.
 */
export async function readComponents(ctx: Ctx, a: ComponentArgs, alg: KeyAlg): Promise<Uint8Array[]> {
  const sources = a.component ?? [];
  if (sources.length < 2 || sources.length > 3) throw new UsageError('give --component 2 or 3 times (env:NAME, file:PATH or prompt), one per custodian');
  const expected = (a.componentKcv ?? []).map((k) => checkKcvArg('component-kcv', String(k)));
  if (expected.length > 0 && expected.length !== sources.length) {
    throw new UsageError(`give one --component-kcv per component (${sources.length}), in the same order; got ${expected.length}`);
  }
  const out: Uint8Array[] = [];
  try {
    for (let i = 0; i < sources.length; i++) {
      const src = String(sources[i]);
      const n = i + 1;
      let text: string;
      if (src.startsWith('env:')) {
        const v = ctx.io.env[src.slice(4)];
        if (!v) throw new UsageError(`--component ${n}: environment variable ${src.slice(4)} is not set`);
        text = v;
      } else if (src.startsWith('file:')) text = readTextFile('component', src.slice(5));
      else if (src === 'prompt') text = await promptHidden(ctx.io, `component ${n} of ${sources.length} (hex, not shown): `);
      else throw new UsageError(`--component ${n}: give env:NAME, file:PATH or prompt; a component is never typed on the command line`);
      let c: Uint8Array;
      try {
        c = fromHex(text.trim());
      } catch {
        throw new UsageError(`--component ${n}: the value is not valid hex (it is not shown)`);
      }
      out.push(c);
      const kcv = componentKcv(alg, c);
      if (expected.length > 0) {
        if (expected[i] !== kcv) {
          throw new CeremonyError(`component ${n}: its KCV is ${kcv} but the custodian's sheet (--component-kcv) says ${expected[i]}; nothing was stored — re-enter that component`);
        }
        ctx.io.err(`component ${n}: KCV ${kcv} confirmed`);
      } else if (stdinIsTty(ctx.io)) {
        const answer = await promptLine(ctx.io, `component ${n}: KCV ${kcv} — does it match the custodian's sheet? [y/N] `);
        if (!/^y(es)?$/i.test(answer)) throw new CeremonyError(`component ${n}: KCV ${kcv} not confirmed; nothing was stored`);
      } else {
        throw new UsageError('not on a terminal: give --component-kcv for every component (the KCV from its custodian\'s sheet)');
      }
    }
  } catch (e) {
    wipe(...out);
    throw e;
  }
  return out;
}

export function checkFinalKcv(a: ComponentArgs, kcv: string): void {
  if (a.kcv !== undefined && checkKcvArg('kcv', a.kcv) !== kcv) {
    throw new OperationFailed(`the combined key's KCV is ${kcv} but --kcv says ${a.kcv.toUpperCase()}; the key was not stored`);
  }
}

export { AuditError };
