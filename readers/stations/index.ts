// Stations (DESIGN.md): a card mover (manual desk reader, Evolis printer, simulated printer) +
// an encoder (PC/SC reader or simulated card), the stations file, card faces, and the simulated
// printer with its Evolis escape-command server. See docs/runner.md.
export {
  CardUnresponsiveError,
  EncoderTimeoutError,
  MoverError,
  PrinterError,
  PrinterLinkError,
  StationPausedError,
  StationsFileError,
} from './errors.js';
export type { PrinterErrorCode, StationsFileIssue } from './errors.js';
export { atrHistoricalBytes, chipSerialFromAtr } from './mover.js';
export type { CardInterface, CardMover, Encoder, MoverKind, MoverStatus } from './mover.js';
export { classifyError, Station } from './station.js';
export type { LoadedCard, StationEvent, StationOptions, StationState, StationStats } from './station.js';
export { loadStationsFile, parseStationsFile, simulatedStations } from './file.js';
export type { MoverConfig, StationConfig, StationsFile } from './file.js';
export { openStations } from './open.js';
export type { OpenedStations, OpenStationsOptions } from './open.js';
export { EvolisDriver, EvolisMover, parseSensors } from './evolis.js';
export type { EvolisDriverOptions, EvolisMoverOptions, SendOptions } from './evolis.js';
export { openEvolisLink } from './evolis-link.js';
export type { EvolisLink, LinkOptions } from './evolis-link.js';
export { CR, downloadSize, encodeCommand, ESC, FrameParser, replyError, splitReply } from './evolis-protocol.js';
export type { EvolisFrame } from './evolis-protocol.js';
export { SimulatedMover } from './simulated.js';
export { checkFaults, FAULT_KINDS, SimulatedPrinter, SimulatedPrinterServer } from './sim-printer.js';
export type { FaultKind, FaultSpec, FedCard, PrintedFace, PrinterLatency, SimulatedPrinterOptions } from './sim-printer.js';
export { ManualMover, PcscReaderEvents, ScriptedReaderEvents } from './manual.js';
export type { ManualMoverOptions, ReaderEvents, WaitFor } from './manual.js';
export { PcscEncoder, SimCardEncoder } from './encoders.js';
export type { PcscEncoderOptions } from './encoders.js';
export { EVOLIS_PANEL, FACE_FLAG_KEYWORD, FaceError, ID1_300DPI, monoPanel, panelToRaster, PLACEHOLDER_FLAG, placeholderWarning, rasterizeFace, renderFace, scaleRaster, textWidth } from './faces.js';
export type { CardLayout, FaceField, RenderedFace, RenderOptions } from './faces.js';
export { decodePng, decodePngRgba, encodePng, MAX_PNG_PIXELS, PngError, readPngText } from './png.js';
export type { RgbaImage, RgbImage } from './png.js';
export { decodeJpeg, exifOrientation, isJpeg, JpegError, orient } from './jpeg.js';
export { decodeImage, fitCover, ImageError, imageFormat, resample } from './image.js';
export type { ImageFormat } from './image.js';
export { PathFlattener, rasterizeContours } from './raster.js';
export type { Contour, CoverageMask, Point } from './raster.js';
export { defaultFonts, envFonts, FontError, fontPackageFor, FontStack, fontStack, loadFont, SYSTEM_FONTS } from './truetype.js';
export type { OutlineCommand, OutlineFont, ShapedGlyph } from './truetype.js';
export { BASELINE, drawText, measureText } from './text.js';
export type { TextResult } from './text.js';
export { isWide, latinGlyph, placeholderGlyph } from './font.js';
export { BatchFaces } from './batch-faces.js';
export type { BatchFacesOptions, ScriptFace } from './batch-faces.js';
