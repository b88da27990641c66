/**
 * `staticFiles`: an app that serves the files under a folder, with
 * validators (ETag, Last-Modified), conditional requests, single byte
 * ranges and HEAD, streaming each file through `wsgi.file_wrapper`.
 *
 * @module
 */
import type { App, Chunk, Environ, StartResponse } from "../wsgi/mod.ts";
import { contentTypeFor } from "./content_types.ts";

/** Options of {@linkcode staticFiles}. */
export interface StaticFilesOptions {
  /**
   * The file served for a directory requested with a trailing slash
   * (`/docs/` → `docs/index.html`). Default `"index.html"`; `""` serves no
   * index (such directories are not found).
   */
  index?: string;
  /** Seconds a cache may reuse a response without asking again: `Cache-Control: public, max-age=N`. Default 0. */
  maxAge?: number;
  /**
   * Serve files and folders whose name starts with `.` (`.env`, `.git/`).
   * Default `false`: they are not found, so a folder's secrets are not
   * published by accident. `/.well-known/` needs `true`.
   */
  dotfiles?: boolean;
  /**
   * The app that answers what is not a file here: a path with no file (or a
   * directory without index), a hidden dotfile, a method other than GET and
   * HEAD. Default: none (404, or 405 for the method). Paths refused for
   * safety (traversal, encoded separators, symlinks out of `root`) are
   * always 404, never passed on.
   */
  fallthrough?: App;
}

/** Bytes per read when the server streams a file. */
const BLOCK_SIZE = 65536;

const REASONS: Readonly<Record<number, string>> = {
  301: "Moved Permanently",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  412: "Precondition Failed",
  416: "Range Not Satisfiable",
};

/**
 * `%2F` (`/`), `%5C` (`\`) or `%00` in the raw path: refused, because the
 * raw and the decoded path would not split into the same segments
 * (`a%2F..%2Fb` is one segment to a proxy's rules, three once decoded).
 */
const ENCODED_SEPARATOR = /%(?:2f|5c|00)/i;
/** What a decoded segment may not hold: a backslash (a separator on Windows), NUL, an encoded slash. */
const BAD_SEGMENT = Deno.build.os === "windows" ? /[\\\0:]|%2f/i : /[\\\0]|%2f/i;
const SEP = Deno.build.os === "windows" ? "\\" : "/";

/**
 * An app serving the files under `root`, by `PATH_INFO` (so it works
 * mounted under a prefix: `PathInfoDispatcher([["/static", staticFiles(dir)]])`).
 *
 * - **Methods**: GET and HEAD; others get 405 with `Allow: GET, HEAD` (or go
 *   to `fallthrough`). HEAD sends the headers GET would, without opening the
 *   file.
 * - **Headers**: `Content-Type` from the extension (see `contentTypeFor`),
 *   `Content-Length`, a strong `ETag` made of the size and modification time
 *   (as nginx's), `Last-Modified`, `Cache-Control: public, max-age=N`,
 *   `Accept-Ranges: bytes`.
 * - **Conditional requests** (RFC 9110 §13.2.2 order): `If-Match` or else
 *   `If-Unmodified-Since` failing → 412; `If-None-Match` (weak comparison;
 *   it takes precedence over `If-Modified-Since`) or else
 *   `If-Modified-Since` → 304. A date that is not an HTTP-date (IMF-fixdate,
 *   RFC 850 or asctime) is ignored, with its condition.
 * - **Ranges** (GET): one `bytes=a-b`, `a-` or `-n` → 206 with
 *   `Content-Range`; a first byte past the end, or `-0` → 416 with
 *   Content-Range: bytes &#42;/size. A Range header that does not parse
 *   (another unit, `5-2`, letters) is ignored, as RFC 9110 §14.2 says, and so
 *   are several ranges (no multipart responses): 200 with the whole file.
 *   `If-Range` (a strong ETag or the exact Last-Modified date) that does not
 *   match also gives the whole file.
 * - **Directories**: a directory requested without its trailing slash is
 *   redirected (301) to the slash form, so the index's relative links
 *   resolve; with the slash, its `index` file is served; without one, 404.
 * - **Safety**: a path with a `.` or `..` segment (also when encoded as
 *   `%2e`), an empty segment (`//`), a backslash or NUL, or `%2F`, `%5C` or
 *   `%00` in the raw request target is answered 404 without touching the
 *   file system. A path whose real location (symlinks resolved) is outside
 *   `root` is answered 404 without being opened or stat'ed.
 *
 * The body goes out through `environ["wsgi.file_wrapper"]`, block by block;
 * the server closes the file at the end, when the client leaves, or on error.
 *
 * @param root the folder to serve; it must exist (it is resolved once, now).
 * @throws {Error} when `root` does not exist or is not a directory.
 * @throws {RangeError} when `maxAge` is not an integer >= 0.
 * @throws {TypeError} when `index` is not a plain file name or `fallthrough` not an app.
 * @example
 * ```ts
 * import { staticFiles } from "@cogen/cogen/middleware";
 * import { serve } from "@cogen/cogen/wsgi";
 *
 * const root = await Deno.makeTempDir(); // your site's folder, such as "./public"
 * await Deno.writeTextFile(`${root}/index.html`, "<h1>Hello</h1>");
 * const server = serve([["/static", staticFiles(root, { maxAge: 3600 })]], { port: 0 });
 * const port = (server.addr as Deno.NetAddr).port;
 * const response = await fetch(`http://127.0.0.1:${port}/static/`);
 * await response.text(); // "<h1>Hello</h1>"
 * response.headers.get("cache-control"); // "public, max-age=3600"
 * await server.shutdown(0);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export function staticFiles(root: string, options: StaticFilesOptions = {}): App {
  const index = options.index ?? "index.html";
  const maxAge = options.maxAge ?? 0;
  const dotfiles = options.dotfiles ?? false;
  const fallthrough = options.fallthrough;
  if (typeof index !== "string" || index === "." || index === ".." || /[/\\\0]/.test(index)) {
    throw new TypeError(
      `staticFiles: index must be a file name without slashes (or "" for none), got ${JSON.stringify(index)}`,
    );
  }
  if (!Number.isInteger(maxAge) || maxAge < 0) {
    throw new RangeError(`staticFiles: maxAge must be an integer number of seconds >= 0, got ${maxAge}`);
  }
  if (fallthrough !== undefined && typeof fallthrough !== "function") {
    throw new TypeError(`staticFiles: fallthrough must be an app (a function), got ${typeof fallthrough}`);
  }
  const rootReal = resolveRoot(root);
  const rootPrefix = rootReal.endsWith(SEP) ? rootReal : rootReal + SEP;
  const cacheControl = `public, max-age=${maxAge}`;

  /** The real path of `path`; `MISSING` when it does not exist, `REFUSED` when a symlink leads out of root. */
  async function resolve(path: string): Promise<string | typeof MISSING | typeof REFUSED> {
    let real: string;
    try {
      real = await Deno.realPath(path);
    } catch (error) {
      if (isMissing(error)) return MISSING;
      throw error;
    }
    return real === rootReal || real.startsWith(rootPrefix) ? real : REFUSED;
  }

  /** The file that `segments` (checked to stay inside root) names, or why there is none. */
  async function locate(
    segments: string[],
  ): Promise<Found | typeof MISSING | typeof REFUSED | typeof REDIRECT> {
    const slash = segments.length > 0 && segments[segments.length - 1] === "";
    const names = slash ? segments.slice(0, -1) : segments;
    let real = await resolve(names.length === 0 ? rootReal : rootPrefix + names.join(SEP));
    if (typeof real !== "string") return real;
    let info = await Deno.stat(real);
    let name = names.length > 0 ? names[names.length - 1] : "";
    if (info.isDirectory) {
      if (!slash) return REDIRECT;
      if (index === "") return MISSING;
      real = await resolve(real + SEP + index);
      if (typeof real !== "string") return real;
      info = await Deno.stat(real);
      name = index;
    } else if (slash) {
      return MISSING; // a file named like a directory: `/a.txt/`
    }
    // Devices, FIFOs and sockets are not files to serve (opening a FIFO would block).
    return info.isFile ? { real, name, info } : MISSING;
  }

  return async function serveStatic(environ: Environ, startResponse: StartResponse) {
    const method = environ.REQUEST_METHOD;
    if (method !== "GET" && method !== "HEAD") {
      if (fallthrough !== undefined) return fallthrough(environ, startResponse);
      return answer(startResponse, 405, [["Allow", "GET, HEAD"]]);
    }
    const segments = requestSegments(environ, dotfiles);
    let found: Found | typeof MISSING | typeof REFUSED | typeof REDIRECT;
    if (typeof segments === "symbol") found = segments;
    else {
      try {
        found = await locate(segments);
        if (typeof found === "object") return await sendFile(environ, startResponse, found, cacheControl);
      } catch (error) {
        if (isMissing(error)) found = MISSING; // removed between two steps
        else if (error instanceof Deno.errors.PermissionDenied) return answer(startResponse, 403);
        else throw error;
      }
    }
    if (found === REDIRECT) return redirect(environ, startResponse);
    if (found === REFUSED) return answer(startResponse, 404);
    if (fallthrough !== undefined) return fallthrough(environ, startResponse);
    return answer(startResponse, 404);
  };
}

/** A regular file inside root: its real path, the name its type comes from, its stat. */
interface Found {
  real: string;
  name: string;
  info: Deno.FileInfo;
}

/** Answers for a file found, by the request's conditions and range. */
async function sendFile(
  environ: Environ,
  startResponse: StartResponse,
  { real, name, info }: Found,
  cacheControl: string,
): Promise<Iterable<Chunk> | AsyncIterable<Uint8Array>> {
  const size = info.size;
  const mtime = info.mtime === null ? null : Math.floor(info.mtime.getTime() / 1000) * 1000;
  const etag = info.mtime === null ? null : `"${info.mtime.getTime().toString(16)}-${size.toString(16)}"`;
  const lastModified = mtime === null ? null : new Date(mtime).toUTCString();
  const validators: [string, string][] = [];
  if (etag !== null) validators.push(["ETag", etag]);
  if (lastModified !== null) validators.push(["Last-Modified", lastModified]);
  validators.push(["Cache-Control", cacheControl]);

  // RFC 9110 §13.2.2: If-Match, else If-Unmodified-Since; then If-None-Match, else If-Modified-Since.
  const ifMatch = environ.HTTP_IF_MATCH;
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, etag, true)) return answer(startResponse, 412);
  } else if (mtime !== null && mtime > (parseDate(environ.HTTP_IF_UNMODIFIED_SINCE) ?? Infinity)) {
    return answer(startResponse, 412);
  }
  const ifNoneMatch = environ.HTTP_IF_NONE_MATCH;
  const notModified = ifNoneMatch !== undefined
    ? etagMatches(ifNoneMatch, etag, false)
    : mtime !== null && mtime <= (parseDate(environ.HTTP_IF_MODIFIED_SINCE) ?? -Infinity);
  if (notModified) {
    startResponse("304 Not Modified", validators);
    return [];
  }

  let start = 0;
  let length = size;
  let status = "200 OK";
  const headers: [string, string][] = [["Content-Type", contentTypeFor(name)]];
  // Range is defined for GET only (RFC 9110 §14.2): a HEAD with one gets the 200 headers.
  const range = environ.REQUEST_METHOD === "GET" ? environ.HTTP_RANGE : undefined;
  if (range !== undefined && ifRangeHolds(environ.HTTP_IF_RANGE, etag, mtime)) {
    const wanted = parseRange(range, size);
    if (wanted === UNSATISFIABLE) {
      return answer(startResponse, 416, [["Content-Range", `bytes */${size}`], ["Accept-Ranges", "bytes"]]);
    }
    if (wanted !== null) {
      [start, length] = wanted;
      status = "206 Partial Content";
      headers.push(["Content-Range", `bytes ${start}-${start + length - 1}/${size}`]);
    }
  }
  headers.push(["Content-Length", String(length)], ...validators, ["Accept-Ranges", "bytes"]);
  if (environ.REQUEST_METHOD === "HEAD") {
    startResponse(status, headers);
    return [];
  }
  const file = await Deno.open(real, { read: true });
  try {
    if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    startResponse(status, headers);
    // From here the server owns the file: it closes it when done, on error, or when the client leaves.
    return environ["wsgi.file_wrapper"](file, BLOCK_SIZE, length);
  } catch (error) {
    file.close();
    throw error;
  }
}

/** A path refused for safety, a symlink out of root included (404, never passed to `fallthrough`). */
const REFUSED = Symbol("refused");
/** No such file here, or a dotfile when they are not served (404, or `fallthrough`). */
const MISSING = Symbol("missing");
/** A directory without its trailing slash (301). */
const REDIRECT = Symbol("redirect");

/**
 * The segments of `PATH_INFO` (the last one `""` after a trailing slash), or
 * `REFUSED` when the path could name something outside root or is not in its
 * one canonical form, or `MISSING` for a dotfile. Pure string checks: nothing
 * is looked up until the path is known to stay inside root.
 */
function requestSegments(environ: Environ, dotfiles: boolean): string[] | typeof REFUSED | typeof MISSING {
  const target = environ.REQUEST_URI ?? "";
  const query = target.indexOf("?");
  if (ENCODED_SEPARATOR.test(query < 0 ? target : target.slice(0, query))) return REFUSED;
  const path = environ.PATH_INFO;
  if (path === "") return []; // the mount point itself, without its slash
  if (path.charCodeAt(0) !== 0x2f) return REFUSED;
  const segments = path.slice(1).split("/");
  let hidden = false;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (segment === "") {
      if (i === segments.length - 1) continue; // the trailing slash
      return REFUSED;
    }
    if (segment === "." || segment === ".." || BAD_SEGMENT.test(segment)) return REFUSED;
    if (!dotfiles && segment.charCodeAt(0) === 0x2e) hidden = true;
  }
  return hidden ? MISSING : segments;
}

/** Resolves root once, or says what is wrong with it. */
function resolveRoot(root: string): string {
  if (typeof root !== "string" || root === "") {
    throw new TypeError(`staticFiles: root must be the path of a directory, got ${JSON.stringify(root)}`);
  }
  let real: string;
  try {
    real = Deno.realPathSync(root);
  } catch (error) {
    throw new Error(
      `staticFiles: root ${JSON.stringify(root)} cannot be resolved (${
        error instanceof Error ? error.message : error
      }); pass an existing directory`,
    );
  }
  if (!Deno.statSync(real).isDirectory) {
    throw new Error(`staticFiles: root ${JSON.stringify(root)} is not a directory; pass a directory`);
  }
  return real;
}

/** Errors that mean "no such file here". */
function isMissing(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory ||
    error instanceof Deno.errors.FilesystemLoop ||
    (error instanceof Error && (error as { code?: string }).code === "ENAMETOOLONG");
}

/** A short plain-text answer, such as `404 Not Found`. */
function answer(startResponse: StartResponse, status: number, extra: [string, string][] = []): Chunk[] {
  const line = `${status} ${REASONS[status]}`;
  const text = `${line}\n`;
  startResponse(line, [
    ["Content-Type", "text/plain; charset=utf-8"],
    ["Content-Length", String(text.length)],
    ...extra,
  ]);
  return [text];
}

/** 301 to the same path with a trailing slash (the query kept). */
function redirect(environ: Environ, startResponse: StartResponse): Chunk[] {
  const encoded = `${environ.SCRIPT_NAME}${environ.PATH_INFO}`.split("/").map(encodeURIComponent).join("/");
  // One leading slash: `//host/...` would be a redirect to another site.
  const path = `/${encoded.replace(/^\/+/, "")}`;
  const location = `${path.endsWith("/") ? path : `${path}/`}${
    environ.QUERY_STRING ? `?${environ.QUERY_STRING}` : ""
  }`;
  return answer(startResponse, 301, [["Location", location]]);
}

/**
 * Whether the list of entity tags `field` (or `*`) matches `etag`: strong
 * comparison (If-Match, If-Range) needs both tags strong; weak comparison
 * (If-None-Match) ignores `W/`.
 */
function etagMatches(field: string, etag: string | null, strong: boolean): boolean {
  if (field.trim() === "*") return true; // the file exists
  if (etag === null) return false;
  for (const match of field.matchAll(/(W\/)?("[^"]*")/g)) {
    if (strong && match[1] !== undefined) continue;
    if (match[2] === etag) return true;
  }
  return false;
}

/** The three forms of an HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, RFC 850, asctime (always GMT). */
const IMF_FIXDATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/;
const RFC_850 =
  /^(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, \d\d-(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d\d \d\d:\d\d:\d\d GMT$/;
const ASCTIME =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d \d{4}$/;

/**
 * An HTTP-date as ms since the epoch; `null` when absent or not an HTTP-date
 * (`Date.parse` takes "0" or "2020" too), so the condition is ignored (RFC 9110 §13.1.3).
 */
function parseDate(value: string | undefined): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  let ms = NaN;
  if (IMF_FIXDATE.test(v) || RFC_850.test(v)) ms = Date.parse(v);
  else if (ASCTIME.test(v)) ms = Date.parse(`${v} GMT`); // without a zone, Date.parse would take local time
  return Number.isNaN(ms) ? null : ms;
}

/** `If-Range`: absent, or a strong ETag equal to ours, or exactly our Last-Modified date. */
function ifRangeHolds(value: string | undefined, etag: string | null, mtime: number | null): boolean {
  if (value === undefined) return true;
  const v = value.trim();
  if (v.startsWith('"') || v.startsWith("W/")) return etag !== null && v === etag;
  return mtime !== null && parseDate(v) === mtime;
}

/** Marks a range that lies past the end of the file. */
const UNSATISFIABLE = Symbol("unsatisfiable");

/**
 * A `Range` field for a file of `size` bytes: `[start, length]` for one
 * satisfiable range, `UNSATISFIABLE`, or `null` to ignore the field (it does
 * not parse, is not in bytes, or asks for several ranges).
 */
function parseRange(field: string, size: number): [number, number] | typeof UNSATISFIABLE | null {
  const equals = field.indexOf("=");
  if (equals < 0 || field.slice(0, equals).trim().toLowerCase() !== "bytes") return null;
  // Empty list elements (`bytes=0-1,`) are allowed and skipped (RFC 9110 §5.6.1).
  const specs = field.slice(equals + 1).split(",").map((spec) => spec.trim()).filter((spec) => spec !== "");
  if (specs.length !== 1) return null;
  const m = /^(\d*)-(\d*)$/.exec(specs[0]);
  if (m === null || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    // `-n`: the last n bytes. An empty file has none to give: its whole (empty) body is the answer.
    const suffix = Number(m[2]);
    if (suffix === 0) return UNSATISFIABLE;
    if (size === 0) return null;
    const start = Math.max(0, size - suffix);
    return [start, size - start];
  }
  const first = Number(m[1]);
  const last = m[2] === "" ? Infinity : Number(m[2]);
  if (last < first) return null; // invalid, hence ignored (RFC 9110 §14.1.1)
  if (first >= size) return UNSATISFIABLE;
  return [first, Math.min(last, size - 1) - first + 1];
}
