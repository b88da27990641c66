/**
 * One field line (RFC 9112, 5): `field-name ":" OWS field-value OWS`, the
 * grammar shared by the header section and the trailer section of a chunked
 * body, with the same checks and the same messages for both.
 *
 * @module
 */
import { CR, FIELD_BYTE, hexByte, HTAB, LF, SP, TCHAR } from "./byte_classes.ts";
import { HttpError } from "./http_error.ts";

const COLON = 0x3a;

/**
 * Parses field lines in place. One instance is made per parser and reused:
 * `parse` leaves the positions of the line's parts in its fields and returns
 * where the line ends, so parsing a line allocates nothing.
 *
 * @example
 * ```ts
 * import { FieldLine } from "./field_line.ts";
 * const line = new FieldLine("header");
 * const buf = new TextEncoder().encode("Accept:  text/html \r\n");
 * line.parse(buf, 0, buf.length); // 19: the index of the CR
 * [line.nameEnd, line.valueStart, line.valueEnd]; // [6, 9, 18]
 * ```
 */
export class FieldLine {
  /** Where the name ends (the index of the colon); the name starts where the line does. */
  nameEnd = 0;
  /** Where the value starts, after the optional whitespace. */
  valueStart = 0;
  /** Where the value ends, before the optional whitespace. */
  valueEnd = 0;
  /** The section in error messages: `"header"` or `"trailer"`. */
  readonly section: "header" | "trailer";

  /** Creates a parser of the lines of `section` (named in its error messages). */
  constructor(section: "header" | "trailer") {
    this.section = section;
  }

  /**
   * Parses the field line starting at `buf[start]`, which ends at its CRLF
   * or at `limit`, whichever comes first; returns where it ends (the index of
   * the CR, or `limit`). A CR not followed by LF is a bare CR, refused like
   * any byte outside the grammar.
   *
   * @throws {HttpError} 400: obs-fold, an empty or invalid name, whitespace
   * before the colon, no colon, a byte not allowed in a value, a bare CR or LF.
   */
  parse(buf: Uint8Array, start: number, limit: number): number {
    const first = buf[start];
    if (first === SP || first === HTAB) {
      throw new HttpError(
        400,
        `obsolete line folding (a ${this.section} field line starting with whitespace) is not accepted`,
      );
    }
    let colon = start;
    while (colon < limit && TCHAR[buf[colon]] === 1) colon++;
    if (colon === limit || buf[colon] !== COLON) throw this.#nameError(buf, colon, limit);
    if (colon === start) throw new HttpError(400, `empty ${this.section} field name`);
    let valueStart = colon + 1;
    while (valueStart < limit && (buf[valueStart] === SP || buf[valueStart] === HTAB)) valueStart++;
    let lineEnd = valueStart;
    while (lineEnd < limit && FIELD_BYTE[buf[lineEnd]] === 1) lineEnd++;
    if (lineEnd < limit && !(buf[lineEnd] === CR && lineEnd + 1 < limit && buf[lineEnd + 1] === LF)) {
      throw this.#valueError(buf[lineEnd]);
    }
    let valueEnd = lineEnd;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
    this.nameEnd = colon;
    this.valueStart = valueStart;
    this.valueEnd = valueEnd;
    return lineEnd;
  }

  /** Why the name stopped at `buf[at]` without a colon. */
  #nameError(buf: Uint8Array, at: number, limit: number): HttpError {
    const b = buf[at];
    if (at === limit || (b === CR && at + 1 < limit && buf[at + 1] === LF)) {
      return new HttpError(400, `${this.section} field line without a colon (expected name: value)`);
    }
    if (b === SP || b === HTAB) {
      return new HttpError(400, `whitespace between a ${this.section} field name and its colon`);
    }
    return b === CR || b === LF
      ? this.#valueError(b)
      : new HttpError(400, `invalid byte 0x${hexByte(b)} in a ${this.section} field name`);
  }

  /** Why a value stopped at the byte `b`. */
  #valueError(b: number): HttpError {
    return new HttpError(
      400,
      b === CR
        ? `bare CR in a ${this.section} field line (a line ends with CRLF; a CR alone is not allowed)`
        : b === LF
        ? `bare LF in a ${this.section} field line (a line ends with CRLF)`
        : `invalid byte 0x${hexByte(b)} in a ${this.section} field value`,
    );
  }
}
