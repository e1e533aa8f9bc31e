// The JSON Schema of profiles (draft-07: the draft YAML editors — yaml-language-server, IntelliJ —
// support best, so completion and checking work while typing). This object is the source;
// profiles/profile.schema.json is the published copy (`cardsmith profile schema` prints it, a
// test keeps the two equal). The schema checks the *shape* of a merged profile; what needs the
// whole profile (duplicate FIDs, references, lengths, expressions) is checked in validate.ts.
// Descriptions double as the hints of validation messages, so they say what to write.

const NAME = '^[A-Za-z_][A-Za-z0-9_-]*$';
const HEX = '^([0-9A-Fa-f]{2})+$';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const hex = (description: string, bytes?: [number, number]): Json => ({
  type: 'string',
  pattern: bytes ? `^([0-9A-Fa-f]{2}){${bytes[0]},${bytes[1]}}$` : HEX,
  description,
});

const expression = (description: string): Json => ({ type: 'string', description: `${description} — an expression: text with \${…} (docs/profiles.md "Expressions")` });

const access = (description: string): Json => ({
  type: 'string',
  pattern: '^(always|never|(pin|auth|mac)\\([A-Za-z_][A-Za-z0-9_-]*\\))$',
  description: `${description}: always, never, pin(PIN), auth(KEY) (external authentication) or mac(KEY) (command MAC under a line-protection key)`,
});

const keyAlgorithm: Json = { type: 'string', enum: ['3des', 'des3', 'sm4', 'aes'], description: 'key algorithm: 3des, sm4 or aes' };

const keyDef: Json = {
  type: 'object',
  description: 'a card key: which it is, and how it is derived from a master key in the key store',
  additionalProperties: false,
  required: ['type', 'id', 'derive'],
  properties: {
    type: {
      type: 'string',
      enum: ['master', 'external-auth', 'internal-auth', 'pin-unblock', 'pin-reload', 'line-protection', 'app-block', 'card-block', 'enc', 'mac', 'dek', 'app'],
      description:
        'sscard key types: master, external-auth, internal-auth, pin-unblock, pin-reload, line-protection, app-block, card-block; GP secure-channel keys: enc, mac, dek; applet keys: app',
    },
    id: hex('key id, 2 hex digits (e.g. 0D); for GP key sets 01 ENC, 02 MAC, 03 DEK', [1, 1]),
    version: { type: 'integer', minimum: 0, maximum: 255, description: 'key version, 0-255 (GP issuer key sets 1-127)' },
    algorithm: keyAlgorithm,
    tries: { type: 'integer', minimum: 1, maximum: 15, description: 'error counter limit, 1-15 (sscard)' },
    description: { type: 'string' },
    derive: {
      type: 'object',
      description: 'how the card key is derived: method, master (a keyStore alias) and the diversification data',
      additionalProperties: false,
      required: ['method', 'master'],
      properties: {
        method: { type: 'string', enum: ['pboc', 'emv', 'visa2', 'kdf3', 'cps11', 'emv-option-a'], description: 'pboc, emv, visa2, kdf3, cps11 or emv-option-a (crypto/diversify.ts)' },
        master: { type: 'string', pattern: NAME, description: 'alias of the master key under keyStore:' },
        data: expression('diversification data (bytes)'),
        levels: { type: 'array', minItems: 1, maxItems: 3, items: expression('one level of PBOC diversification data (8 bytes)'), description: 'pboc: 1-3 levels of 8 bytes each' },
        keyType: { type: 'string', enum: ['enc', 'mac', 'dek'], description: 'emv, visa2, kdf3, cps11: which key of the set (default: from the key type)' },
      },
    },
  },
};

const pinDef: Json = {
  type: 'object',
  description: 'a PIN in this DF',
  additionalProperties: false,
  required: ['id', 'tries', 'initial'],
  properties: {
    id: hex('PIN id, 2 hex digits', [1, 1]),
    length: { type: 'integer', minimum: 2, maximum: 16, description: 'PIN length in digits' },
    minLength: { type: 'integer', minimum: 2, maximum: 16 },
    maxLength: { type: 'integer', minimum: 2, maximum: 16 },
    tries: { type: 'integer', minimum: 1, maximum: 15, description: 'tries before the PIN blocks, 1-15' },
    unblock: { type: 'string', pattern: NAME, description: 'name of the pin-unblock key (PUK)' },
    reload: { type: 'string', pattern: NAME, description: 'name of the pin-reload key' },
    initial: {
      type: 'object',
      description: 'where the first PIN comes from: source random, record (with field) or fixed (with value; test profiles only)',
      additionalProperties: false,
      required: ['source'],
      properties: {
        source: { type: 'string', enum: ['random', 'record', 'fixed'], description: 'random, record or fixed' },
        field: { type: 'string', pattern: NAME, description: 'the record field that holds the PIN (source: record)' },
        value: { type: 'string', pattern: '^[0-9]{2,16}$', description: 'the PIN digits (source: fixed, test profiles only)' },
      },
    },
  },
};

const elementCommon: Record<string, Json> = {
  length: { type: 'integer', minimum: 1, maximum: 32767, description: 'bytes the element always takes (padded)' },
  maxLength: { type: 'integer', minimum: 1, maximum: 32767, description: 'bytes the element may take at most (not padded); give length or maxLength' },
  encoding: { type: 'string', enum: ['an', 'cn', 'bcd', 'gbk', 'binary', 'date'], description: 'an, cn, bcd, gbk, binary or date' },
  pad: hex('padding byte: an 00/20/FF, gbk 00/FF, binary any byte', [1, 1]),
  value: expression('the value'),
  description: { type: 'string' },
};

const partDef: Json = {
  type: 'object',
  additionalProperties: false,
  required: ['length', 'encoding', 'value'],
  properties: { ...elementCommon },
};

const elementDef: Json = {
  type: 'object',
  description: 'a data element: where it goes in the file, its length and encoding, and the expression that computes it',
  additionalProperties: false,
  required: ['encoding'],
  properties: {
    tag: hex('SIMPLE-TLV tag of the record, 2 hex digits (01-FE)', [1, 1]),
    record: { type: 'integer', minimum: 1, maximum: 254, description: 'record number (record files without tlv)' },
    offset: { type: 'integer', minimum: 0, maximum: 32766, description: 'byte offset (transparent files)' },
    ...elementCommon,
    parts: { type: 'object', description: 'a composite value: named parts side by side, each with length, encoding and value', additionalProperties: partDef, propertyNames: { pattern: NAME } },
    skipEmpty: { type: 'boolean', description: 'write nothing when the value is empty' },
  },
};

const efDef: Json = {
  type: 'object',
  description: 'an elementary file',
  additionalProperties: false,
  required: ['fid', 'structure'],
  properties: {
    type: { const: 'ef', description: 'ef (may be left out: a file with a structure is an EF)' },
    fid: hex('file identifier, 4 hex digits (e.g. EF05)', [2, 2]),
    sfi: { type: 'integer', minimum: 1, maximum: 30, description: 'short file identifier, 1-30' },
    structure: { type: 'string', enum: ['transparent', 'linear-fixed', 'linear-variable', 'cyclic'], description: 'transparent, linear-fixed, linear-variable or cyclic' },
    tlv: { type: 'boolean', description: 'records are SIMPLE-TLV (tag ‖ length ‖ value), addressed by tag' },
    internal: { type: 'boolean', description: 'an internal EF (private key): never readable' },
    size: { type: 'integer', minimum: 1, maximum: 32767, description: 'size in bytes (transparent)' },
    recordLength: { type: 'integer', minimum: 1, maximum: 255, description: 'record length (maximum length for linear-variable)' },
    records: { type: 'integer', minimum: 1, maximum: 254, description: 'number of records' },
    access: {
      type: 'object',
      additionalProperties: false,
      description: 'access conditions per operation (missing ones are never)',
      properties: { read: access('read'), update: access('update'), append: access('append') },
    },
    data: { type: 'object', description: 'the data elements personalization writes, by name', additionalProperties: elementDef, propertyNames: { pattern: NAME } },
    description: { type: 'string' },
  },
};

const dfDef: Json = {
  type: 'object',
  description: 'a dedicated file (the MF, an application DF, a PSE/PPSE)',
  additionalProperties: false,
  properties: {
    type: { const: 'df', description: 'df (may be left out: a file without a structure is a DF)' },
    fid: hex('file identifier, 4 hex digits', [2, 2]),
    aid: hex('DF name (AID), 1-16 bytes in hex', [1, 16]),
    aidText: { type: 'string', minLength: 1, description: 'DF name as text (GBK), instead of aid, e.g. 2PAY.SYS.DDF01' },
    access: {
      type: 'object',
      additionalProperties: false,
      description: 'access conditions: create (CREATE FILE in this DF) and keyWrite (WRITE KEY), missing ones are never',
      properties: { create: access('create'), keyWrite: access('keyWrite') },
    },
    directory: {
      type: 'array',
      description: 'PSE/PPSE directory entries (the FCI lists them)',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['aid'],
        properties: {
          aid: hex('application AID, 5-16 bytes', [5, 16]),
          label: { type: 'string', maxLength: 16, description: 'application label (tag 50), ASCII' },
          priority: { type: 'integer', minimum: 1, maximum: 15, description: 'application priority indicator (tag 87)' },
        },
      },
    },
    keys: { type: 'object', description: 'keys in this DF, by name', additionalProperties: { $ref: '#/definitions/key' }, propertyNames: { pattern: NAME } },
    pins: { type: 'object', description: 'PINs in this DF, by name', additionalProperties: { $ref: '#/definitions/pin' }, propertyNames: { pattern: NAME } },
    files: {
      type: 'object',
      description: 'the files in this DF, by name, in creation order',
      additionalProperties: { $ref: '#/definitions/file' },
      propertyNames: { pattern: NAME },
    },
    description: { type: 'string' },
  },
};

const fieldDef: Json = {
  type: 'object',
  description: 'a field of the batch record',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: {
      type: 'string',
      enum: ['citizen-id', 'card-number', 'text', 'digits', 'region', 'date', 'enum', 'file', 'pan', 'pin'],
      description: 'citizen-id, card-number, text, digits, region, date, enum, file, pan or pin',
    },
    required: { type: 'boolean', description: 'the field must have a value (default true)' },
    description: { type: 'string' },
    charset: { type: 'string', enum: ['gbk', 'ascii'], description: 'text: gbk or ascii' },
    length: { type: 'integer', minimum: 1, maximum: 4096, description: 'exact length in characters' },
    minLength: { type: 'integer', minimum: 0, maximum: 4096 },
    maxLength: { type: 'integer', minimum: 1, maximum: 4096 },
    maxBytes: { type: 'integer', minimum: 1, maximum: 16777216, description: 'text: GBK bytes at most; file: file size at most' },
    min: { type: 'integer' },
    max: { type: 'integer' },
    values: { type: 'array', minItems: 1, items: { type: 'string' }, description: 'enum: the allowed values' },
    pattern: { type: 'string', description: 'a regular expression the whole value must match' },
    format: { type: 'string', enum: ['jpeg', 'png', 'any'], description: 'file: jpeg, png or any' },
    past: { type: 'boolean', description: 'date: not after the prep date' },
  },
};

const dgiDef: Json = {
  type: 'object',
  additionalProperties: false,
  required: ['dgi'],
  description: 'one DGI of the STORE DATA personalization: elements (BER-TLV), value, keys or kcvs',
  properties: {
    dgi: hex('DGI, 4 hex digits (0101-1EFF records, 8000-8FFF secret, 9xxx data)', [2, 2]),
    template: hex('BER-TLV template to wrap the elements in (e.g. 70)', [1, 2]),
    elements: {
      type: 'object',
      description: 'BER-TLV data objects by name',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['tag', 'encoding', 'value'],
        properties: { tag: hex('BER-TLV tag (1-3 bytes)', [1, 3]), ...elementCommon },
      },
      propertyNames: { pattern: NAME },
    },
    value: expression('the whole DGI (bytes)'),
    keys: { type: 'array', items: { type: 'string', pattern: NAME }, description: 'card keys written side by side (secret DGIs 8000-8FFF)' },
    kcvs: { type: 'array', items: { type: 'string', pattern: NAME }, description: 'KCVs of card keys, 3 bytes each' },
    description: { type: 'string' },
  },
};

const facePlacement: Json = {
  type: 'object',
  additionalProperties: false,
  required: ['x', 'y'],
  properties: {
    text: expression('the printed text'),
    photo: { type: 'string', pattern: NAME, description: 'the record field (type file) with the photo' },
    x: { type: 'number', minimum: 0, description: 'mm from the left edge' },
    y: { type: 'number', minimum: 0, description: 'mm from the top edge' },
    width: { type: 'number', exclusiveMinimum: 0, description: 'photo box width, mm' },
    height: { type: 'number', exclusiveMinimum: 0, description: 'photo box height, mm' },
    fontSize: { type: 'number', exclusiveMinimum: 0, maximum: 72, description: 'font size, pt' },
    font: { type: 'string' },
  },
};

export const PROFILE_SCHEMA_ID = 'https://cardsmith.invalid/schemas/profile.schema.json';

export const PROFILE_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: PROFILE_SCHEMA_ID,
  title: 'cardsmith card profile',
  description: 'A card product: file system, keys, PINs, applications, data elements, PKI and card face (docs/profiles.md).',
  type: 'object',
  additionalProperties: false,
  required: ['profile', 'card', 'keyStore', 'transport', 'record'],
  properties: {
    $schema: { type: 'string' },
    profile: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$', description: 'profile name, lower case (e.g. sscard-gen3)' },
    title: { type: 'string' },
    revision: { type: 'string', description: 'revision of this profile, recorded in every batch manifest' },
    test: { type: 'boolean', description: 'a test profile: fixed PINs allowed' },
    extends: { type: 'string', description: 'the profile this one is based on (path, or builtin:NAME)' },
    include: { type: 'array', items: { type: 'string' }, description: 'fragments merged in before this file' },
    card: {
      type: 'object',
      additionalProperties: false,
      required: ['cos', 'interfaces'],
      properties: {
        cos: { type: 'string', enum: ['sscard', 'globalplatform'], description: 'sscard (native social-security COS) or globalplatform' },
        interfaces: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: ['contact', 'contactless'] }, description: 'contact and/or contactless' },
        memory: { type: 'integer', minimum: 1024, maximum: 16777216, description: 'EEPROM bytes for files (sscard); the file tree must fit' },
        scp: { type: 'string', enum: ['scp02', 'scp03'], description: 'globalplatform: scp02 or scp03' },
        protocols: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { type: 'string', enum: ['t0', 't1'] },
          description: 'contact transmission protocols the card offers in its ATR (ISO/IEC 7816-3): t0 and/or t1; T=0 carries only short APDUs',
        },
        maxCommandData: {
          type: 'integer',
          minimum: 1,
          maximum: 65535,
          description: 'most command data bytes (Nc) the card takes in one APDU; default 255 (short APDUs); 256-65535 = extended length (ISO/IEC 7816-4), e.g. the I/O buffer',
        },
        maxResponseLength: {
          type: 'integer',
          minimum: 1,
          maximum: 65536,
          description: 'most response data bytes (Ne) the card returns to one APDU; default 256 (short APDUs); 257-65536 = extended length (ISO/IEC 7816-4)',
        },
      },
    },
    keyAlgorithm: { ...(keyAlgorithm as object), description: 'algorithm of card keys that do not state their own: 3des, sm4 or aes' },
    parameters: {
      type: 'object',
      description: 'named constants for expressions (param.NAME)',
      additionalProperties: { type: ['string', 'integer'] },
      propertyNames: { pattern: NAME },
    },
    keyStore: {
      type: 'object',
      description: 'keys in the key store the profile uses, by alias: label, version, algorithm',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['label', 'algorithm'],
        properties: {
          label: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: 'key store label (cardsmith keys list)' },
          version: { type: 'integer', minimum: 1, description: 'key version (default: the newest active one at prep time)' },
          algorithm: { type: 'string', enum: ['3des', 'des3', 'sm4', 'aes', 'sm2'], description: '3des, sm4, aes or sm2' },
          description: { type: 'string' },
        },
      },
      propertyNames: { pattern: NAME },
    },
    transport: {
      type: 'object',
      additionalProperties: false,
      required: ['key'],
      description: 'the key blank cards arrive with',
      properties: {
        key: { type: 'string', pattern: NAME, description: 'keyStore alias of the transport key' },
        version: { type: 'integer', minimum: 0, maximum: 255, description: 'its key version on the card (sscard default 0, GP default 255 = FF)' },
      },
    },
    record: {
      type: 'object',
      additionalProperties: false,
      required: ['fields'],
      description: 'the batch record: its fields, the key field, and rules across fields',
      properties: {
        key: { type: 'string', pattern: NAME, description: 'the field that must be unique in a batch' },
        fields: { type: 'object', additionalProperties: fieldDef, propertyNames: { pattern: NAME } },
        rules: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['equal', 'message'],
            properties: {
              equal: { type: 'array', minItems: 2, maxItems: 2, items: expression('one side') },
              message: { type: 'string' },
            },
          },
        },
      },
    },
    values: { type: 'object', description: 'named values computed per card (value.NAME)', additionalProperties: expression('a named value'), propertyNames: { pattern: NAME } },
    serials: {
      type: 'object',
      description: "serial counters besides the default 'card', by name",
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: { start: { type: 'integer', minimum: 0, description: 'first value of the counter' }, description: { type: 'string' } },
      },
      propertyNames: { pattern: NAME },
    },
    mf: { $ref: '#/definitions/df' },
    isd: {
      type: 'object',
      additionalProperties: false,
      required: ['keys'],
      description: 'globalplatform: the Issuer Security Domain and the issuer key set that replaces the transport keys',
      properties: {
        aid: hex('ISD AID (default A000000151000000)', [5, 16]),
        keys: { type: 'object', additionalProperties: { $ref: '#/definitions/key' }, propertyNames: { pattern: NAME } },
        replaceTransportKeys: { type: 'boolean', description: 'PUT KEY replaces the transport key set (default true)' },
      },
    },
    loadFiles: {
      type: 'object',
      description: 'globalplatform: packages to load, by name',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['aid', 'cap'],
        properties: { aid: hex('package AID, 5-16 bytes', [5, 16]), cap: { type: 'string', description: 'CAP file, relative to the profile' }, description: { type: 'string' } },
      },
      propertyNames: { pattern: NAME },
    },
    applets: {
      type: 'object',
      description: 'globalplatform: applet instances to install and personalize, by name',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['loadFile', 'module', 'aid'],
        properties: {
          loadFile: { type: 'string', pattern: NAME, description: 'name under loadFiles:' },
          module: hex('applet class (module) AID in the package', [5, 16]),
          aid: hex('instance AID', [5, 16]),
          privileges: {
            type: 'array',
            uniqueItems: true,
            items: {
              type: 'string',
              enum: [
                'security-domain', 'dap-verification', 'delegated-management', 'card-lock', 'card-terminate', 'card-reset', 'cvm-management', 'mandated-dap',
                'trusted-path', 'authorized-management', 'token-verification', 'global-delete', 'global-lock', 'global-registry', 'final-application', 'global-service',
                'receipt-generation', 'ciphered-load-file-data-block', 'contactless-activation', 'contactless-self-activation',
              ],
            },
            description: 'GP privileges by name',
          },
          installParameters: hex('install parameters field, with the C9 application-specific parameters (e.g. C900)'),
          keys: { type: 'object', additionalProperties: { $ref: '#/definitions/key' }, propertyNames: { pattern: NAME } },
          dgis: { type: 'array', items: dgiDef, description: 'the STORE DATA personalization, DGI by DGI' },
          description: { type: 'string' },
        },
      },
      propertyNames: { pattern: NAME },
    },
    pki: {
      type: 'object',
      additionalProperties: false,
      required: ['ca', 'keyPairs', 'subject'],
      description: 'on-card SM2 key generation and certificates',
      properties: {
        ca: { type: 'string', pattern: NAME, description: 'keyStore alias of the CA key (sm2)' },
        pin: { type: 'string', pattern: NAME, description: 'the PIN verified before key generation' },
        validityYears: { type: 'integer', minimum: 1, maximum: 50, description: 'certificate validity in years (default 10)' },
        subject: {
          type: 'object',
          description: 'certificate subject attributes in order: C, ST, L, O, OU, CN, serialNumber, title, surname, givenName, emailAddress',
          additionalProperties: expression('an attribute value'),
        },
        keyPairs: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            required: ['publicKey', 'privateKey', 'certificate'],
            properties: {
              publicKey: { type: 'string', description: 'path of the public-key EF, e.g. PKI/ADF1/EF0012' },
              privateKey: { type: 'string', description: 'path of the (internal) private-key EF' },
              certificate: { type: 'string', description: 'path of the certificate EF' },
              keyUsage: {
                type: 'array',
                uniqueItems: true,
                items: { type: 'string', enum: ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement'] },
              },
            },
          },
          propertyNames: { pattern: NAME },
        },
      },
    },
    face: {
      type: 'object',
      additionalProperties: false,
      description: 'the printed card face: text fields and the photo box, in mm from the top-left corner',
      properties: {
        width: { type: 'number', exclusiveMinimum: 0, description: 'card width, mm (ID-1: 85.6)' },
        height: { type: 'number', exclusiveMinimum: 0, description: 'card height, mm (ID-1: 54)' },
        fonts: {
          type: 'array',
          items: { type: 'string', minLength: 1 },
          description: 'TrueType/OpenType font files for the face text, searched first, per character (relative to this profile file; a collection member as file.ttc#PostScriptName); then CARDSMITH_FONTS, then the system fonts',
        },
        front: { type: 'object', additionalProperties: facePlacement, propertyNames: { pattern: NAME } },
        back: { type: 'object', additionalProperties: facePlacement, propertyNames: { pattern: NAME } },
      },
    },
  },
  definitions: {
    key: keyDef,
    pin: pinDef,
    df: dfDef,
    ef: efDef,
    file: {
      type: 'object',
      description: 'a file: an EF when it has a structure or another EF-only key (or type: ef), else a DF',
      properties: { type: { type: 'string', enum: ['df', 'ef'], description: 'df or ef' } },
      // Any EF-only key makes it an EF, so a misspelt `structure` is reported as such and not as a DF's unknown keys.
      if: {
        anyOf: [
          ...['structure', 'sfi', 'size', 'recordLength', 'records', 'tlv', 'internal', 'data'].map((k) => ({ required: [k] })),
          { required: ['type'], properties: { type: { const: 'ef' } } },
        ],
      },
      then: { $ref: '#/definitions/ef' },
      else: { $ref: '#/definitions/df' },
    },
  },
} as const satisfies Json;
