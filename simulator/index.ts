// The simulator's public API (docs/simulator.md): the SimulatedCard interface, the social-security
// card and its factory, card images, the power-loss hook, the example personalization, the
// GlobalPlatform card (docs/simulator-gp.md), and what bin/ injects into the host: cards by reader
// spec (simCards) and the printers' card stock. transport/ and stations/ never import the
// simulator; bin/ and tests use only what is here.
export type { CardInterface, SimulatedCard } from './card.js';
export { CardImageError, SimStateError } from './errors.js';
export { simCards } from './by-spec.js';
export type { SimCardRequest } from './by-spec.js';
export { ssCardStock } from './card-stock.js';
export type { Seed } from './core/drbg.js';
export type { PowerLossEvent, PowerLossPhase, PowerLossPlan, WriteStep } from './core/store.js';
export type { Lifecycle } from './core/cells.js';
export { buildAtr } from './core/atr.js';
export { MAX_COMMAND_DATA, NO_RESPONSE, SsCard } from './sscard/card.js';
export { IMAGE_FORMAT, IMAGE_VERSION } from './sscard/image.js';
export type { CardImage } from './sscard/image.js';
export {
  createSsCard,
  DEFAULT_MEMORY,
  DEFAULT_TRANSPORT_KEY,
  loadCardImage,
  saveCardImage,
} from './sscard/factory.js';
export type { CreateSsCardOptions, TransportKeyOptions } from './sscard/factory.js';
export { KeyType } from './sscard/keys.js';
export { PKI_ADF_AID, PKI_DDF_AID, PPSE_NAME, SS_APP_AIDS, SSSE_AID, UNIONPAY_AID } from './sscard/layout.js';
export { EXAMPLE_FIDS, exampleKey, personalizedExampleImage, personalizeExample } from './examples/personalize.js';
export type { ExampleCard, PersonalizeOptions } from './examples/personalize.js';
export { ExampleHost, ExampleHostError } from './examples/host.js';
export type { HostKey } from './examples/host.js';
// The GlobalPlatform card; its image constants and default memory carry a GP_ prefix here, beside
// the social-security card's.
export {
  APP_LIFE_CYCLE,
  AppletException,
  ATR_CONTACT,
  ATR_CONTACTLESS,
  builtInAppletModels,
  CARD_LIFE_CYCLE,
  CPS_APPLET,
  CPS_MODULE_AID,
  CPS_PACKAGE_AID,
  createGpCard,
  DEFAULT_I,
  DEFAULT_MEMORY as GP_DEFAULT_MEMORY,
  DEFAULT_TEST_KEY,
  FACTORY_KEY_VERSION,
  GP_ISD_AID,
  GpCard,
  gpCardImageJson,
  GpImageError,
  IMAGE_FORMAT as GP_IMAGE_FORMAT,
  IMAGE_VERSION as GP_IMAGE_VERSION,
  INERT_APPLET,
  ISD_PRIVILEGES,
  PRIV,
  saveGpCardImage,
  SSD_MODEL,
  SSD_MODULE_AID,
  SSD_PACKAGE_AID,
} from './gp/index.js';
export type {
  Applet,
  AppletCommand,
  AppletContext,
  AppletModel,
  AppletModelEntry,
  AppletResponse,
  AppletStorage,
  CardLifeCycleName,
  DiversificationMethod,
  GpCardImage,
  GpCardOptions,
  PersonalizationContext,
  RandomSource,
  StaticKeys,
} from './gp/index.js';
