// The profile language: YAML profiles checked against a published JSON Schema and by
// whole-profile rules, loaded into typed objects for data preparation. docs/profiles.md is the
// language reference.
import { ProfileError } from './errors.js';
import { builtinDir, resolveProfilePath } from './merge.js';
import type { Profile } from './types.js';
import { validateProfile, type ValidateOptions } from './validate.js';

export { formatDiagnostic, formatLoc, ProfileError, sortDiagnostics } from './errors.js';
export type { Diagnostic, Loc, Severity } from './errors.js';
export { validateProfile, canonicalJson, SUBJECT_ATTRIBUTES } from './validate.js';
export type { ValidateOptions, ValidationResult } from './validate.js';
export { PROFILE_SCHEMA, PROFILE_SCHEMA_ID } from './schema.js';
export { builtinDir, resolveProfilePath } from './merge.js';
export { didYouMean } from './suggest.js';
export {
  CARD_FACTS,
  compileExpr,
  evaluate,
  ExprEvalError,
  functionList,
  parseTemplate,
  showValue,
} from './expr.js';
export type { Charset, EvalEnv, Expr, ExprType, Phase, Value } from './expr.js';
export { ALLOWED_PADS, decodeField, decodeParts, decodeTlvRecord, encodeField, encodeParts, encodeTlvRecord, ENCODINGS } from './codec.js';
export type { Encoding, FieldCodec, FieldValue, PartCodec } from './codec.js';
export { createCardEvaluator, elementBytes, elementRecord } from './evaluate.js';
export type { CardEvaluator, CardInputs } from './evaluate.js';
export { addYears, cardNumberCheck, cardNumberProblem, citizenIdProblem, dateProblem, gb11643Check, luhnCheck, luhnValid, normalizeDate, regionProblem } from './checkchars.js';
export type * from './types.js';

/** The names of the profiles shipped in profiles/ (`builtin:NAME`). */
export const BUILTIN_PROFILES = ['sscard-gen3', 'sscard-gen3-sm4', 'gp-cps'] as const;

/**
 * Loads a profile (a path, or `builtin:NAME`) and returns it typed and resolved; throws
 * ProfileError carrying every diagnostic when anything is wrong.
 */
export function loadProfile(file: string, options: ValidateOptions = {}): Profile {
  const path = file.startsWith('builtin:') ? resolveProfilePath(file, undefined) : file;
  const result = validateProfile(path, { display: file.startsWith('builtin:') ? `${builtinDir()}/${file.slice(8)}.yaml` : file, ...options });
  if (!result.ok || !result.profile) throw new ProfileError(result.diagnostics);
  return result.profile;
}
