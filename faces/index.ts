// Card faces: the layout of a profile's face items, TrueType text, PNG/JPEG photos, the scanline
// rasteriser and the printer panels made from a rendered face. Imports nothing of the project, so
// a face renders the same wherever it is drawn.
export { EVOLIS_PANEL, FACE_FLAG_KEYWORD, FaceError, ID1_300DPI, monoPanel, panelToRaster, PLACEHOLDER_FLAG, placeholderWarning, rasterizeFace, renderFace, scaleRaster, textWidth } from './faces.js';
export type { CardLayout, FaceField, RenderedFace, RenderOptions } from './faces.js';
export { decodePng, decodePngRgba, encodePng, MAX_PNG_PIXELS, PngError, readPngText } from './png.js';
export type { RgbaImage, RgbImage } from './png.js';
export { decodeJpeg, exifOrientation, isJpeg, JpegError, orient } from './jpeg.js';
export { decodeImage, fitCover, ImageError, imageFormat, resample } from './image.js';
export type { ImageFormat } from './image.js';
export { PathFlattener, rasterizeContours } from './raster.js';
export type { Contour, CoverageMask, Point } from './raster.js';
export { defaultFonts, envFonts, FontError, fontPackageFor, FontStack, fontStack, loadFont, splitFontSpec, SYSTEM_FONTS } from './truetype.js';
export type { OutlineCommand, OutlineFont, ShapedGlyph } from './truetype.js';
export { BASELINE, drawText, measureText } from './text.js';
export type { TextResult } from './text.js';
export { isWide, latinGlyph, placeholderGlyph } from './font.js';
export { BatchFaces } from './batch-faces.js';
export type { BatchFacesOptions, ScriptFace } from './batch-faces.js';
export { checkFaceWorkers, defaultFaceWorkers, FacePool } from './face-pool.js';
export type { DrawnFace, FacePoolOptions } from './face-pool.js';
