// A card script compiled once per profile: the steps in order, each run of steps either fixed
// (the same on every card: file creation, SELECTs, run-time key recipes, constant data) or built
// per card (sealed secrets, data from the record). A fixed run is built once, from the first card,
// and kept as JSON text; a card gets only its own runs built and serialized. The text is what
// JSON.stringify gives for the same steps, so a template-built script is the script itself.
import type { Step } from '../script.js';

/** Builds a run of steps for one card; `C` is the per-card context of the script kind. */
export type Build<C> = (card: C) => Step[] | Promise<Step[]>;

type Slot<C> =
  | { kind: 'fixed'; build: Build<C>; text?: string }
  | { kind: 'card'; build: Build<C> }
  /** A header step that is written only when the body has steps for this card (a SELECT before checks). */
  | { kind: 'group'; header: Build<C>; body: ScriptTemplate<C>; text?: string };

export class ScriptTemplate<C> {
  readonly #slots: Slot<C>[] = [];

  /**
   * @param perCardOnly Build every slot per card (the template's reference: tests compare its
   *   output with the compiled one's).
   */
  constructor(private readonly perCardOnly = false) {}

  /** Steps that are the same on every card. */
  fixed(...steps: Step[]): void {
    if (steps.length > 0) this.fixedBy(() => steps);
  }

  /** Steps that are the same on every card but are built from a card's context (the first card's). */
  fixedBy(build: Build<C>): void {
    this.#slots.push(this.perCardOnly ? { kind: 'card', build } : { kind: 'fixed', build });
  }

  /** Steps built for each card. */
  card(build: Build<C>): void {
    this.#slots.push({ kind: 'card', build });
  }

  /** A fixed header step before `body`, left out with it on a card for which `body` is empty. */
  group(header: Step, body: ScriptTemplate<C>): void {
    this.#slots.push({ kind: 'group', header: () => [header], body });
  }

  /** A template for a group's body, of the same kind. */
  sub(): ScriptTemplate<C> {
    return new ScriptTemplate<C>(this.perCardOnly);
  }

  /** The steps of one card as the elements of a JSON array (no brackets; '' when there are none). */
  async json(card: C): Promise<string> {
    let out = '';
    const add = (text: string): void => {
      if (text !== '') out = out === '' ? text : `${out},${text}`;
    };
    for (const slot of this.#slots) {
      if (slot.kind === 'card') add(stepsJson(await slot.build(card)));
      else if (slot.kind === 'fixed') add((slot.text ??= stepsJson(await slot.build(card))));
      else {
        const body = await slot.body.json(card);
        if (body !== '') add(`${(slot.text ??= stepsJson(await slot.header(card)))},${body}`);
      }
    }
    return out;
  }
}

function stepsJson(steps: readonly Step[]): string {
  let out = '';
  for (const s of steps) out = out === '' ? JSON.stringify(s) : `${out},${JSON.stringify(s)}`;
  return out;
}
