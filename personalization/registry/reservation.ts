// What the registry records of a card, from the batch's manifest and the card's script: shared by
// the runner (every card) and an operator's `rework resolve --issued`.
import type { BatchManifest, CardScript } from '../script.js';
import type { CardReservation, KeyUse } from './registry.js';

/** Every key the batch used: the transport key, then the manifest's keys. */
export function keysOf(manifest: BatchManifest): KeyUse[] {
  return [manifest.transportKey, ...manifest.keys].map((k) => ({ label: k.label, version: k.version ?? 0, kcv: k.kcv }));
}

export function reservationFor(manifest: BatchManifest, batch: string, script: CardScript, chip: string, station: string, keys: KeyUse[] = keysOf(manifest)): CardReservation {
  const i = script.issuance;
  return {
    product: manifest.profile.name,
    revision: manifest.profile.revision,
    batch,
    record: script.recordId,
    ...(i?.holder ? { holder: i.holder } : {}),
    ...(i?.cardNumber ? { cardNumber: i.cardNumber } : {}),
    ...(i?.replacement ? { replacement: i.replacement } : {}),
    chip,
    keys,
    station,
  };
}
