/**
 * The `Content-Type` of a file from its extension, for `staticFiles`.
 *
 * @module
 */

const TEXT = "; charset=utf-8";

/**
 * File extensions (lower case, without the dot) and their content types.
 * Text types carry `; charset=utf-8`: a browser would otherwise guess the
 * encoding of a file without a `<meta charset>`. JSON and XML need no
 * charset (their own rules say how they are encoded).
 *
 * @example
 * ```ts
 * import { CONTENT_TYPES } from "./content_types.ts";
 * CONTENT_TYPES["css"]; // "text/css; charset=utf-8"
 * ```
 */
export const CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  // Text and documents.
  html: "text/html" + TEXT,
  htm: "text/html" + TEXT,
  css: "text/css" + TEXT,
  js: "text/javascript" + TEXT,
  mjs: "text/javascript" + TEXT,
  cjs: "text/javascript" + TEXT,
  txt: "text/plain" + TEXT,
  md: "text/markdown" + TEXT,
  csv: "text/csv" + TEXT,
  json: "application/json",
  map: "application/json",
  jsonld: "application/ld+json",
  webmanifest: "application/manifest+json",
  xml: "application/xml",
  xhtml: "application/xhtml+xml",
  rss: "application/rss+xml",
  atom: "application/atom+xml",
  pdf: "application/pdf",
  wasm: "application/wasm",
  // Images.
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  bmp: "image/bmp",
  ico: "image/x-icon",
  // Fonts.
  woff: "font/woff",
  woff2: "font/woff2",
  ttf: "font/ttf",
  otf: "font/otf",
  // Audio and video.
  mp3: "audio/mpeg",
  m4a: "audio/mp4",
  wav: "audio/wav",
  ogg: "audio/ogg",
  flac: "audio/flac",
  mp4: "video/mp4",
  webm: "video/webm",
  ogv: "video/ogg",
  // Archives.
  zip: "application/zip",
  gz: "application/gzip",
  tar: "application/x-tar",
});

/** What a file of no known extension is sent as: bytes the browser will not try to render. */
const UNKNOWN = "application/octet-stream";

/**
 * The content type of the file `name` (a name or a path) from its extension,
 * case-insensitively; `application/octet-stream` when the extension is not in
 * {@linkcode CONTENT_TYPES} or there is none (a leading dot, as in `.env`,
 * does not start an extension).
 *
 * @example
 * ```ts
 * import { contentTypeFor } from "./content_types.ts";
 * contentTypeFor("site/index.HTML"); // "text/html; charset=utf-8"
 * contentTypeFor("logo.png"); // "image/png"
 * contentTypeFor("README"); // "application/octet-stream"
 * ```
 */
export function contentTypeFor(name: string): string {
  const base = name.slice(name.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  if (dot <= 0) return UNKNOWN;
  const extension = base.slice(dot + 1).toLowerCase();
  return Object.hasOwn(CONTENT_TYPES, extension) ? CONTENT_TYPES[extension] : UNKNOWN;
}
