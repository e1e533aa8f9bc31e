// A key fault: the card refused a batch key, or the host could not use one (a StepError of kind
// 'key'). Every card of the batch would fail the same way, so the runner stops all stations at the
// first one (docs/runner.md, "Key faults") and names the key — label, version, KCV — instead of
// blaming the station.
import type { BatchManifest } from '../script.js';
import type { StepError } from './executor.js';

export interface NamedKey {
  label?: string;
  version?: number;
  kcv?: string;
  /** "LABEL vN kcv=XXXXXX", or what is known of it. */
  text: string;
}

/** Completes what the script says of the key from the manifest (the KCV finds a sealed key's label). */
export function nameKey(e: StepError, m: BatchManifest): NamedKey {
  const f = e.keyFault ?? { side: 'card' as const };
  const listed = f.seal
    ? m.transportKey
    : f.label !== undefined
      ? (m.keys ?? []).find((k) => k.label === f.label && (f.version === undefined || k.version === f.version))
      : f.kcv !== undefined
        ? (m.keys ?? []).find((k) => k.kcv.toUpperCase() === f.kcv!.toUpperCase())
        : undefined;
  const label = f.label ?? listed?.label;
  const version = f.version ?? listed?.version;
  const kcv = (f.side === 'host' && f.kcv === undefined ? listed?.kcv : f.kcv ?? listed?.kcv)?.toUpperCase();
  const text = `${label ?? 'the key'}${version !== undefined ? ` v${version}` : ''}${kcv ? ` kcv=${kcv}` : ''}${label === undefined ? ' (not in the manifest)' : ''}`;
  return { ...(label !== undefined ? { label } : {}), ...(version !== undefined ? { version } : {}), ...(kcv ? { kcv } : {}), text };
}

/** The one line that pauses every station: which key, what went wrong, what to do. */
export function keyFaultMessage(e: StepError, key: NamedKey): string {
  const f = e.keyFault;
  if (f?.side === 'host') {
    return `key fault: the key store cannot use ${key.text} (${e.op} step of ${e.recordId}): use the key store the batch was prepared with, then run again; all stations paused, the cards tried are in the reject box`;
  }
  const said = e.sw ? `the card answered ${e.sw}` : 'the card cryptogram did not match';
  return `key fault: the blank cards refuse ${key.text} (${said}); not a station fault: load cards whose transport key is ${key.text}, or prepare the batch with the cards' key, then run again; all stations paused, the cards tried are in the reject box (still blank when the script authenticates before it writes)`;
}
