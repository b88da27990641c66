/**
 * A real Chromium for the browser tests: Debian's `chromium` (found with
 * `command -v chromium`, never a downloaded one), driven by
 * `npm:playwright-core`, headless, and pages that record every console
 * error and uncaught exception.
 *
 * @module
 */
import { type Browser, chromium, type Page } from "playwright-core";

/** The flags every run uses: headless, and nothing that reaches beyond loopback. */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The path of Debian's chromium, or a clear error saying how to get it. */
export function chromiumPath(): string {
  const found = new Deno.Command("sh", {
    args: ["-c", "command -v chromium"],
    stdout: "piped",
    stderr: "null",
  })
    .outputSync();
  const path = new TextDecoder().decode(found.stdout).trim();
  if (!found.success || path === "") {
    throw new Error("the browser tests need Debian's chromium: apt-get install chromium (.ci/run does it)");
  }
  return path;
}

/** Starts Chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: FLAGS, timeout: 30_000 });
}

/** A page in a context of its own (its own connections and storage), with its console errors collected. */
export async function newPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  return { page, errors };
}
