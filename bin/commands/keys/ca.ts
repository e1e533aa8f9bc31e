// The card CA commands: ca-init (SM2 CA key + self-signed certificate), ca-import (store a CA
// certificate issued elsewhere for the CA key), issue-cert (a card's public key → certificate).
import { readFileSync, writeFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { fromHex, toHex } from '../../../bytes/index.js';
import { sm3 } from '../../../crypto/sm3.js';
import { createCaCertificate, fromPem, issueCertificate, parseCertificate, toPem } from '../../../keys/ca.js';
import type { Ctx } from '../../context.js';
import { UsageError } from '../../errors.js';
import { emit } from '../../io.js';
import { storeOptions, withStore, type StoreArgs } from './common.js';

function writeCert(path: string, der: Uint8Array, asDer: boolean, force: boolean): void {
  try {
    writeFileSync(path, asDer ? der : toPem(der), { flag: force ? 'w' : 'wx' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'EEXIST' ? `${path} exists; add --force to overwrite it` : `cannot write ${path} (${code ?? 'error'})`);
  }
}

const outOptions = {
  out: { type: 'string', requiresArg: true, describe: 'write the certificate here (PEM unless --der)' },
  der: { type: 'boolean', default: false, describe: 'write DER instead of PEM' },
  force: { type: 'boolean', default: false, describe: 'overwrite --out' },
} as const;

export function caInitCommand(ctx: Ctx): CommandModule {
  return {
    command: 'ca-init',
    describe: 'create the SM2 card CA: its key in the store (generated when the label is new) and a self-signed CA certificate',
    builder: (y) =>
      y
        .options({
          ...storeOptions,
          label: { type: 'string', demandOption: true, requiresArg: true, describe: 'CA key label' },
          subject: { type: 'string', demandOption: true, requiresArg: true, describe: 'CA subject, e.g. "C=CN, O=Example Bureau, CN=Example Card CA"' },
          days: { type: 'number', default: 3650, describe: 'validity in days' },
          ...outOptions,
        })
        .example('$0 keys ca-init --keystore issuer.keys --label card-ca --subject "C=CN, O=Example Bureau, CN=Example SM2 Card CA" --out ca.pem', 'new CA key and certificate'),
    handler: async (argv) => {
      const a = argv as unknown as StoreArgs & { label: string; subject: string; days: number; out?: string; der: boolean; force: boolean };
      const r = await withStore(ctx, a, true, async (s) => {
        const exists = (await s.list()).some((k) => k.label === a.label);
        const key = exists ? await s.info({ label: a.label }) : await s.generate({ label: a.label, alg: 'sm2', usage: ['sign'] });
        const der = await createCaCertificate(s, { label: a.label }, a.subject, { days: a.days });
        await s.setCertificate({ label: a.label }, der);
        return { key, der };
      });
      if (a.out) writeCert(a.out, r.der, a.der, a.force);
      const c = parseCertificate(r.der);
      emit(
        ctx.io,
        a.json,
        { label: r.key.label, version: r.key.version, kcv: r.key.kcv, publicKey: r.key.publicKey, subject: c.subject, serial: c.serial, notAfter: c.notAfter, ...(a.out ? { out: a.out } : {}) },
        `CA ${r.key.label} v${r.key.version} (KCV ${r.key.kcv})\nsubject ${c.subject}\nserial ${c.serial}, valid until ${c.notAfter}${a.out ? `\ncertificate written to ${a.out}` : ''}`,
      );
    },
  };
}

export function caImportCommand(ctx: Ctx): CommandModule {
  return {
    command: 'ca-import',
    describe: 'store a CA certificate (PEM or DER, issued for the CA key by a higher CA) with the CA key',
    builder: (y) =>
      y
        .options({
          ...storeOptions,
          label: { type: 'string', demandOption: true, requiresArg: true, describe: 'CA key label' },
          cert: { type: 'string', demandOption: true, requiresArg: true, describe: 'certificate file' },
        })
        .example('$0 keys ca-import --keystore issuer.keys --label card-ca --cert issued-by-root.pem', 'use a certificate from the root CA'),
    handler: async (argv) => {
      const a = argv as unknown as StoreArgs & { label: string; cert: string };
      let der: Uint8Array;
      try {
        der = fromPem(new Uint8Array(readFileSync(a.cert)));
      } catch (e) {
        throw new UsageError(`--cert: cannot read ${a.cert} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      await withStore(ctx, a, true, (s) => s.setCertificate({ label: a.label }, der));
      const c = parseCertificate(der);
      emit(ctx.io, a.json, { label: a.label, subject: c.subject, issuer: c.issuer, serial: c.serial }, `stored the CA certificate for ${a.label}: ${c.subject} (issuer ${c.issuer})`);
    },
  };
}

export function issueCertCommand(ctx: Ctx): CommandModule {
  return {
    command: 'issue-cert',
    describe: "issue an X.509 certificate (SM3withSM2) for a card's SM2 public key",
    builder: (y) =>
      y
        .options({
          ...storeOptions,
          ca: { type: 'string', demandOption: true, requiresArg: true, describe: 'CA key label' },
          'public-key': { type: 'string', requiresArg: true, describe: "the card's public key, 04 ‖ x ‖ y (hex)" },
          'public-key-file': { type: 'string', requiresArg: true, describe: 'or: a file holding it as hex' },
          subject: { type: 'string', demandOption: true, requiresArg: true, describe: 'subject fields, e.g. "C=CN, O=…, CN=…, serialNumber=…"' },
          days: { type: 'number', default: 1825, describe: 'validity in days' },
          'key-use': { choices: ['sign', 'encrypt'] as const, default: 'sign' as const, describe: 'sign: digitalSignature+nonRepudiation; encrypt: keyEncipherment+dataEncipherment+keyAgreement' },
          ...outOptions,
        })
        .example('$0 keys issue-cert --keystore issuer.keys --ca card-ca --public-key-file card-0012.hex --subject "C=CN, CN=Zhang San, serialNumber=A02796279" --out card.pem', 'a signing certificate for one card'),
    handler: async (argv) => {
      const a = argv as unknown as StoreArgs & { ca: string; publicKey?: string; publicKeyFile?: string; subject: string; days: number; keyUse: 'sign' | 'encrypt'; out?: string; der: boolean; force: boolean };
      if ((a.publicKey === undefined) === (a.publicKeyFile === undefined)) throw new UsageError('give the public key as exactly one of --public-key HEX or --public-key-file FILE');
      let text: string;
      try {
        text = a.publicKey ?? readFileSync(a.publicKeyFile!, 'utf8');
      } catch (e) {
        throw new UsageError(`--public-key-file: cannot read ${a.publicKeyFile} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      let publicKey: Uint8Array;
      try {
        publicKey = fromHex(text.trim(), '--public-key');
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const cert = await withStore(ctx, a, true, async (s) => {
        const issued = await issueCertificate(s, { label: a.ca }, { publicKey, subject: a.subject, days: a.days, keyUse: a.keyUse });
        await s.audit('issue-cert', { label: a.ca }, { serial: issued.serial, subject: issued.subject, publicKeySm3: toHex(sm3(publicKey)).slice(0, 16) });
        return issued;
      });
      if (a.out) writeCert(a.out, cert.der, a.der, a.force);
      emit(
        ctx.io,
        a.json,
        { serial: cert.serial, subject: cert.subject, issuer: cert.issuer, ...(a.out ? { out: a.out } : { pem: toPem(cert.der) }) },
        a.out ? `issued ${cert.serial} for ${cert.subject}; written to ${a.out}` : toPem(cert.der),
      );
    },
  };
}
