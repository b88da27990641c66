/**
 * The opening handshake of a WebSocket (RFC 6455, 4.2): the client's
 * request checked, with an answer that says what was wrong (400, or 426
 * with `Sec-WebSocket-Version: 13`), the subprotocol chosen, and the
 * `Sec-WebSocket-Accept` key.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Environ } from "./environ.ts";
import { HttpError } from "./http_error.ts";

/** The GUID the accept key is made with (RFC 6455, 1.3). */
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** A key is 16 random bytes in base64: 22 characters and `==`. */
const KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** What a valid WebSocket request asks for. */
export interface WebSocketRequest {
  /** `Sec-WebSocket-Key`. */
  key: string;
  /** The subprotocols it offers (`Sec-WebSocket-Protocol`), in its order. */
  protocols: string[];
}

/** Whether a comma-separated header value holds `token` (case-insensitive). */
function hasToken(value: unknown, token: string): boolean {
  if (typeof value !== "string") return false;
  for (const part of value.split(",")) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/**
 * Checks that the request of `environ` opens a WebSocket.
 *
 * @throws {HttpError} 400 naming what is missing or wrong (the method, the
 *   HTTP version, `Upgrade`, `Connection`, `Sec-WebSocket-Key`), or 426 with
 *   `Sec-WebSocket-Version: 13` for another version.
 * @example
 * ```ts
 * import { checkWebSocketRequest } from "./websocket_handshake.ts";
 * import type { Environ } from "./environ.ts";
 * const environ = {
 *   REQUEST_METHOD: "GET",
 *   SERVER_PROTOCOL: "HTTP/1.1",
 *   HTTP_UPGRADE: "websocket",
 *   HTTP_CONNECTION: "keep-alive, Upgrade",
 *   HTTP_SEC_WEBSOCKET_KEY: "dGhlIHNhbXBsZSBub25jZQ==",
 *   HTTP_SEC_WEBSOCKET_VERSION: "13",
 * } as unknown as Environ;
 * checkWebSocketRequest(environ).key; // "dGhlIHNhbXBsZSBub25jZQ=="
 * ```
 */
export function checkWebSocketRequest(environ: Environ): WebSocketRequest {
  if (environ.REQUEST_METHOD !== "GET") {
    throw new HttpError(400, `a WebSocket opens with GET, not ${environ.REQUEST_METHOD}`);
  }
  if (environ.SERVER_PROTOCOL === "HTTP/1.0") throw new HttpError(400, "a WebSocket needs HTTP/1.1");
  if (!hasToken(environ.HTTP_UPGRADE, "websocket")) {
    throw new HttpError(400, 'the request has no "Upgrade: websocket"');
  }
  if (!hasToken(environ.HTTP_CONNECTION, "upgrade")) {
    throw new HttpError(400, 'the request has no "Connection: Upgrade"');
  }
  const version = environ.HTTP_SEC_WEBSOCKET_VERSION;
  if (typeof version !== "string" || version.trim() !== "13") {
    throw new HttpError(
      426,
      `Sec-WebSocket-Version ${
        typeof version === "string" ? JSON.stringify(version) : "is missing"
      }; this server speaks 13`,
      [["Sec-WebSocket-Version", "13"]],
    );
  }
  const key = environ.HTTP_SEC_WEBSOCKET_KEY;
  if (typeof key !== "string" || !KEY.test(key.trim())) {
    throw new HttpError(
      400,
      typeof key === "string"
        ? `Sec-WebSocket-Key ${JSON.stringify(key)} is not 16 bytes in base64`
        : "the request has no Sec-WebSocket-Key",
    );
  }
  const offered = environ.HTTP_SEC_WEBSOCKET_PROTOCOL;
  const protocols = typeof offered === "string"
    ? offered.split(",").map((p) => p.trim()).filter((p) => TOKEN.test(p))
    : [];
  return { key: key.trim(), protocols };
}

/**
 * The `Sec-WebSocket-Accept` value for a client's key.
 *
 * @example
 * ```ts
 * import { acceptKey } from "./websocket_handshake.ts";
 * acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 * ```
 */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

/**
 * The subprotocol to answer with: the first of the server's (in its order of
 * preference) that the client offered, or `null`.
 *
 * @example
 * ```ts
 * import { chooseProtocol } from "./websocket_handshake.ts";
 * chooseProtocol(["superchat", "chat"], ["chat", "superchat"]); // "chat"
 * ```
 */
export function chooseProtocol(offered: string[], supported: readonly string[]): string | null {
  for (const protocol of supported) if (offered.includes(protocol)) return protocol;
  return null;
}
