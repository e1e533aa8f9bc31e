import { readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { verifyAuditLog } from '../../../keys/audit.js';
import type { Ctx } from '../../context.js';
import { UsageError } from '../../errors.js';
import { emit } from '../../io.js';
import { storeOptions, withStore, type StoreArgs } from './common.js';

export function auditCommand(ctx: Ctx): CommandModule {
  return {
    command: 'audit',
    describe: "show the audit log, or --verify its hash chain against the store's anchor",
    builder: (y) =>
      y
        .options({
          ...storeOptions,
          verify: { type: 'boolean', default: false, describe: 'check every entry and the chain; exit 1 on any edit, deletion or reordering' },
          'chain-only': { type: 'boolean', default: false, describe: 'with --verify: check the chain without opening the store (no passphrase; cannot see a cut-off tail)' },
        })
        .example('$0 keys audit --keystore issuer.keys --verify', 'full check (needs the passphrase: the anchor is inside the store)')
        .example('$0 keys audit --keystore issuer.keys --verify --chain-only --audit-log issuer.keys.audit', 'chain only, no passphrase'),
    handler: async (argv) => {
      const a = argv as unknown as StoreArgs & { verify: boolean; chainOnly: boolean };
      if (a.chainOnly) {
        if (!a.verify) throw new UsageError('--chain-only goes with --verify');
        const path = a.auditLog ?? (a.keystore.startsWith('pkcs11:') ? ctx.io.env.CARDSMITH_AUDIT_LOG : `${a.keystore}.audit`);
        if (!path) throw new UsageError('give --audit-log FILE');
        const r = verifyAuditLog(path);
        emit(ctx.io, a.json, { ok: true, auditLog: path, entries: r.entries, hash: r.hashAlg, head: r.head, anchorChecked: false }, `audit log ${path}: chain OK, ${r.entries} entries (${r.hashAlg}); the store's anchor was not checked`);
        return;
      }
      // Opening the store verifies the chain, the anchor and the MACs (AuditLog.open), so a broken log fails here.
      const r = await withStore(ctx, a, false, async (s) => ({ path: s.auditPath, anchor: s.auditAnchor(), v: s.verifyAudit() }));
      const v = r.v;
      if (a.verify) {
        const notes = [
          v.unconfirmed > 0 ? `${v.unconfirmed} entr${v.unconfirmed === 1 ? 'y' : 'ies'} after the anchor belong to an operation that did not complete` : 'every operation completed',
          v.authenticatedFrom === undefined
            ? 'the entries carry no MAC yet (a store written by an older cardsmith; its next change adds them)'
            : v.authenticatedFrom > 1
              ? `entries ${v.authenticatedFrom}–${v.entries} carry a valid MAC (the ones before predate it)`
              : 'every entry carries a valid MAC',
        ];
        emit(
          ctx.io,
          a.json,
          { ok: true, auditLog: r.path, entries: v.entries, hash: v.hashAlg, head: v.head, anchor: r.anchor, unconfirmed: v.unconfirmed, authenticatedFrom: v.authenticatedFrom ?? null },
          `audit log ${r.path}: OK, ${v.entries} entries (${v.hashAlg}), matches the store's anchor (entry ${r.anchor.seq}); ${notes.join('; ')}`,
        );
        return;
      }
      const lines = readFileSync(r.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      const text = lines
        .map((e) => `${String(e.seq).padStart(4)}  ${e.time}  ${String(e.op).padEnd(17)} ${e.label ? `${e.label} v${e.version}` : ''}${e.kcv ? `  KCV ${e.kcv}` : ''}${e.detail ? `  ${JSON.stringify(e.detail)}` : ''}`)
        .join('\n');
      emit(ctx.io, a.json, { entries: lines }, text);
    },
  };
}
