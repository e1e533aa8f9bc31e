// The published JSON Schemas of the batch folder (schemas/, shipped with the package; `cardsmith
// script schema` prints them): card-script.schema.json for each line of cards.jsonl and
// batch-manifest.schema.json for manifest.json. The files are the source: what validation enforces
// is exactly what is published.
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import cardScriptSchema from '../schemas/card-script.schema.json' with { type: 'json' };
import batchManifestSchema from '../schemas/batch-manifest.schema.json' with { type: 'json' };

// Typed as plain objects so that the package's declarations do not import the JSON files.
export const CARD_SCRIPT_SCHEMA: Readonly<Record<string, unknown>> = cardScriptSchema;
export const BATCH_MANIFEST_SCHEMA: Readonly<Record<string, unknown>> = batchManifestSchema;

// ajv is CommonJS: under NodeNext the default import is module.exports, whose `default` is the class.
const Ajv = AjvModule.default;

let card: ValidateFunction | undefined;
let manifest: ValidateFunction | undefined;

function compile(schema: object): ValidateFunction {
  // discriminator: a step's errors come from the schema of its own op, not from all eleven.
  return new Ajv({ allErrors: false, discriminator: true, strict: false }).compile(schema);
}

/** "steps/3/apdu: must match pattern …" — where in the object, and what is wrong (never the value itself). */
function describe(e: ErrorObject): string {
  const at = e.instancePath.replace(/^\//, '') || '(top level)';
  if (e.keyword === 'additionalProperties') return `${at}: unexpected property "${String((e.params as { additionalProperty: string }).additionalProperty).slice(0, 40)}"`;
  return `${at}: ${e.message ?? 'invalid'}`;
}

function check(v: ValidateFunction, value: unknown): string | undefined {
  if (v(value)) return undefined;
  return v.errors?.[0] ? describe(v.errors[0]) : 'does not match its schema';
}

/** Undefined when `value` is a valid card script; else what is wrong and where. */
export function cardScriptProblem(value: unknown): string | undefined {
  return check((card ??= compile(CARD_SCRIPT_SCHEMA)), value);
}

/** Undefined when `value` is a valid batch manifest; else what is wrong and where. */
export function manifestProblem(value: unknown): string | undefined {
  return check((manifest ??= compile(BATCH_MANIFEST_SCHEMA)), value);
}
