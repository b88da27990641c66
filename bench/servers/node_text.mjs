// @ts-check
/**
 * What the Node servers of the bench share: a plain-text answer with its
 * length, as every contract's small answers are.
 *
 * @module
 */

/**
 * Answers `text` as `text/plain; charset=utf-8` with a Content-Length.
 *
 * @param {import("node:http").ServerResponse} response
 * @param {string} text
 * @param {number} [status]
 */
export function sendText(response, text, status = 200) {
  const body = Buffer.from(text);
  response.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": String(body.length),
  });
  response.end(body);
}
