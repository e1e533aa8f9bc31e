// The published JSON Schema: profiles/profile.schema.json is the exported schema (no drift),
// it is valid draft-07, the built-in profiles satisfy it as YAML editors would check them, and
// its descriptions are what validation messages offer as hints.
import { readFileSync } from 'node:fs';
import t from 'tap';
import AjvModule from 'ajv';
import { parse } from 'yaml';
import { BUILTIN_PROFILES, PROFILE_SCHEMA } from '../../profiles/index.js';

const Ajv = AjvModule.default;
const file = (p: string) => readFileSync(new URL(`../../profiles/${p}`, import.meta.url), 'utf8');

t.test('profile.schema.json is the exported schema', async (t) => {
  t.same(JSON.parse(file('profile.schema.json')), PROFILE_SCHEMA, 'regenerate with: cardsmith profile schema > profiles/profile.schema.json');
});

t.test('the schema is valid draft-07 and compiles', async (t) => {
  const ajv = new Ajv({ strict: false });
  t.ok(ajv.validateSchema(PROFILE_SCHEMA), JSON.stringify(ajv.errors));
  t.equal(PROFILE_SCHEMA.$schema, 'http://json-schema.org/draft-07/schema#');
  t.type(ajv.compile(PROFILE_SCHEMA), 'function');
});

t.test('the self-contained built-in profiles pass the schema as an editor sees them', async (t) => {
  const validate = new Ajv({ strict: false, allErrors: true }).compile(PROFILE_SCHEMA);
  // gp-cps and sscard-gen3 stand alone; an editor sees sscard-gen3-sm4 without its base, so it is a fragment.
  for (const name of BUILTIN_PROFILES.filter((n) => n !== 'sscard-gen3-sm4')) {
    // The built-in files quote hex that YAML would read as a number ("0012"), so a plain YAML
    // parser — what an editor uses — sees the same values as the loader.
    const ok = validate(parse(file(`${name}.yaml`)));
    t.ok(ok, `${name}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
  }
});
