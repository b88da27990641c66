/// <reference lib="dom" />
/**
 * The demo (`deno task start`) in a real Chromium: the chat page over each
 * transport, every pair of transports chatting both ways, a page away and
 * back, the live panel, the seed's wait_app; then the same chat across two
 * workers on one Redis. It also saves docs/demo.png, the screenshot the
 * README shows.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { RedisServer } from "../bus/redis_server.ts";
import { freePort, RunningCli } from "../cli/run_cli.ts";
import { launchChromium, newPage } from "../browser.ts";

const DEMO = new URL("../../examples/demo.ts", import.meta.url).pathname;
const SCREENSHOT = new URL("../../docs/demo.png", import.meta.url).pathname;
const TRANSPORTS = ["websocket", "sse", "longpoll"] as const;
type Transport = typeof TRANSPORTS[number];
const LABELS: Record<Transport, string> = {
  websocket: "WebSocket",
  sse: "Server-Sent Events",
  longpoll: "long poll",
};
/** Browser and servers are shared by the steps of a test and stopped at its end. */
const BROWSER_TEST = { sanitizeOps: false, sanitizeResources: false };

/** The demo through the CLI, as `deno task start` runs it (more CLI arguments in `extra`). */
async function startDemo(
  extra: string[] = [],
  port = freePort(),
): Promise<{ cli: RunningCli; base: string }> {
  const cli = new RunningCli([DEMO, "--bind", `127.0.0.1:${port}`, ...extra]);
  const workers = extra.includes("--workers") ? Number(extra[extra.indexOf("--workers") + 1]) : 1;
  await cli.until(() => cli.announcedPids.length === workers, `${workers} worker(s) listening`, 30_000);
  return { cli, base: `http://127.0.0.1:${port}` };
}

/** Opens the chat page on `transport` and waits until it says it is connected. */
async function openChat(browser: Browser, base: string, transport?: Transport) {
  const opened = await newPage(browser);
  opened.page.setDefaultTimeout(10_000);
  await opened.page.goto(transport === undefined ? `${base}/` : `${base}/?transport=${transport}`);
  await waitForState(opened.page, "connected");
  return opened;
}

async function waitForState(page: Page, state: string): Promise<void> {
  await page.locator(`#state.${state}`).waitFor();
}

/** Waits until the text of `selector` satisfies `check` (checked every 50 ms, for up to 10 s). */
async function untilText(page: Page, selector: string, check: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = (await page.textContent(selector)) ?? "";
    if (check(text)) return text;
    if (Date.now() > deadline) throw new Error(`${selector} still says ${JSON.stringify(text)}`);
    await page.waitForTimeout(50);
  }
}

/** Types `text` into the page's message box and presses Enter. */
async function say(page: Page, text: string): Promise<void> {
  await page.fill('input[name="message"]', text);
  await page.press('input[name="message"]', "Enter");
}

/** The texts of the messages the page shows, in order. */
function shown(page: Page): Promise<string[]> {
  return page.locator("#messages li .text").allTextContents();
}

/** Waits until the page shows `text` as a message. */
async function waitToSee(page: Page, text: string): Promise<void> {
  const exactly = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  await page.locator("#messages li .text").filter({ hasText: exactly }).first().waitFor();
}

function unique(label: string): string {
  return `${label} ${crypto.randomUUID().slice(0, 8)}`;
}

Deno.test({
  name:
    "demo in Chromium: the chat over every transport and every pair, away and back, the live panel, wait_app",
  ...BROWSER_TEST,
  fn: async (t) => {
    let { cli, base } = await startDemo();
    const browser = await launchChromium();
    try {
      await t.step(
        "first, while the history is empty: a screenshot of two pages chatting, for the README",
        async () => {
          const { page, errors } = await newPage(browser);
          await page.setViewportSize({ width: 1600, height: 620 });
          // The two pages side by side, in frames of a page on the demo's own origin.
          const html = `<!doctype html><title>two pages</title><link rel="icon" href="data:,"><style>
          body { margin: 0; display: flex; gap: 8px; background: #e5e7eb; }
          iframe { flex: 1; height: 612px; border: 0; background: white; }
        </style>
        <iframe id="left" src="/?transport=websocket"></iframe>
        <iframe id="right" src="/?transport=sse"></iframe>`;
          await page.route(
            `${base}/two-pages`,
            (route) => route.fulfill({ body: html, contentType: "text/html" }),
          );
          await page.goto(`${base}/two-pages`);
          const left = page.frameLocator("#left");
          const right = page.frameLocator("#right");
          for (const [frame, name] of [[left, "ann"], [right, "bob"]] as const) {
            await frame.locator("#state.connected").waitFor();
            await frame.locator('input[name="name"]').fill(name);
            await frame.locator('input[name="name"]').press("Tab");
          }
          await left.locator("#state.connected").waitFor(); // its socket opened again, under the new name
          const lines: [typeof left, string][] = [
            [left, "Hello from a WebSocket!"],
            [right, "Hi ann, I get the news as Server-Sent Events."],
            [left, "Both of us are paused generators on the server."],
          ];
          for (const [frame, text] of lines) {
            await frame.locator('input[name="message"]').fill(text);
            await frame.locator('input[name="message"]').press("Enter");
            for (const f of [left, right]) {
              await f.locator("#messages li .text", { hasText: text }).waitFor();
            }
          }
          await page.screenshot({ path: SCREENSHOT });
          assert.ok(Deno.statSync(SCREENSHOT).size > 10_000);
          await page.context().close();
          assert.deepEqual(errors, []);
        },
      );

      await t.step(
        "each transport: the page loads in under 2 s, says how it receives, no console error",
        async () => {
          for (const transport of [undefined, ...TRANSPORTS]) {
            const { page, errors } = await openChat(browser, base, transport);
            assert.equal(await page.title(), "cogen for Deno: chat");
            assert.equal(await page.textContent("#transport"), LABELS[transport ?? "websocket"]);
            assert.equal(await page.getAttribute("#transport", "data-transport"), transport ?? "websocket");
            const loaded = await page.evaluate<number>(
              'performance.getEntriesByType("navigation")[0].loadEventEnd',
            );
            assert.ok(loaded > 0 && loaded < 2000, `loaded in ${loaded} ms`);
            await page.context().close();
            assert.deepEqual(errors, []);
          }
        },
      );

      await t.step(
        "without a WebSocket the default page falls back to Server-Sent Events, and still chats",
        async () => {
          const { page, errors } = await newPage(browser);
          page.setDefaultTimeout(10_000);
          // A browser (or a proxy) where WebSockets never open: the socket closes before it opened.
          await page.addInitScript(`window.WebSocket = class {
          static OPEN = 1;
          constructor() { this.readyState = 3; setTimeout(() => this.onclose?.({ code: 1006 }), 10); }
          send() {}
          close() {}
        };`);
          await page.goto(`${base}/`);
          await waitForState(page, "connected");
          assert.equal(await page.textContent("#transport"), "Server-Sent Events");
          const text = unique("after the fallback");
          await say(page, text);
          await waitToSee(page, text);
          await page.context().close();
          assert.deepEqual(errors, []);
        },
      );

      await t.step(
        "on a phone-sized screen nothing scrolls sideways and the send button is in view",
        async () => {
          const { page, errors } = await newPage(browser);
          await page.setViewportSize({ width: 375, height: 700 });
          await page.goto(`${base}/?transport=sse`);
          await waitForState(page, "connected");
          const width = await page.evaluate<number>("document.documentElement.scrollWidth");
          assert.ok(width <= 375, `the page is ${width} px wide`);
          const button = (await page.locator("#say button").boundingBox())!;
          assert.ok(button.x >= 0 && button.x + button.width <= 375, JSON.stringify(button));
          await page.context().close();
          assert.deepEqual(errors, []);
        },
      );

      await t.step("every pair of transports chats both ways, each message shown once", async () => {
        for (let i = 0; i < TRANSPORTS.length; i++) {
          for (let j = i; j < TRANSPORTS.length; j++) {
            const a = await openChat(browser, base, TRANSPORTS[i]);
            const b = await openChat(browser, base, TRANSPORTS[j]);
            const there = unique(`${TRANSPORTS[i]} to ${TRANSPORTS[j]}`);
            await say(a.page, there);
            await waitToSee(b.page, there);
            await waitToSee(a.page, there);
            const back = unique(`${TRANSPORTS[j]} to ${TRANSPORTS[i]}`);
            await say(b.page, back);
            await waitToSee(a.page, back);
            await waitToSee(b.page, back);
            for (const page of [a.page, b.page]) {
              const texts = await shown(page);
              assert.equal(texts.filter((x) => x === there).length, 1);
              assert.ok(texts.indexOf(there) < texts.indexOf(back), texts.join(" | "));
            }
            await a.page.context().close();
            await b.page.context().close();
            assert.deepEqual([...a.errors, ...b.errors], []);
          }
        }
      });

      await t.step("a page that was away sees, once back, what it missed, in order and once", async () => {
        for (const transport of TRANSPORTS) {
          const away = await openChat(browser, base, transport);
          const other = await openChat(browser, base, "websocket");
          const before = unique("before");
          await say(other.page, before);
          await waitToSee(away.page, before);
          await away.page.click("#away");
          await waitForState(away.page, "away");
          const missed = [unique("missed one"), unique("missed two")];
          for (const text of missed) await say(other.page, text);
          for (const text of missed) await waitToSee(other.page, text);
          assert.ok(!(await shown(away.page)).includes(missed[0]), `${transport}: heard while away`);
          await away.page.click("#away");
          await waitForState(away.page, "connected");
          for (const text of missed) await waitToSee(away.page, text);
          const texts = await shown(away.page);
          assert.deepEqual(texts.slice(texts.indexOf(before)), [before, ...missed], transport);
          await away.page.context().close();
          await other.page.context().close();
          assert.deepEqual([...away.errors, ...other.errors], []);
        }
      });

      await t.step("a page that loads shows the recent history", async () => {
        const { page, errors } = await openChat(browser, base, "sse");
        const text = unique("history");
        await say(page, text);
        await waitToSee(page, text);
        await page.context().close();
        const later = await openChat(browser, base, "longpoll");
        await waitToSee(later.page, text);
        await later.page.context().close();
        assert.deepEqual([...errors, ...later.errors], []);
      });

      await t.step(
        "the live panel: the worker, the requests held, chat.js gzipped; wait_app woken by a signal",
        async () => {
          const { page, errors } = await openChat(browser, base, "websocket");
          const pid = cli.announcedPids[0];
          await untilText(page, "#live-worker", (text) => text === `1 (pid ${pid})`);
          // The page's own socket is held.
          await untilText(page, "#live-held", (text) => Number(text) >= 1);
          await untilText(page, "#live-gzip", (text) => /^[\d.]+ KB of [\d.]+ KB \(gzip\)$/.test(text));
          await page.click("#wait-start");
          await untilText(page, "#wait-output", (text) => text.includes("I'm waiting for some signal"));
          await page.fill("#signal-value", "from the test");
          await page.click("#signal-send");
          await untilText(
            page,
            "#wait-output",
            (text) => text.includes("Someone signaled me: from the test"),
          );
          await page.context().close();
          assert.deepEqual(errors, []);
        },
      );
      await t.step(
        "a server restart: the page reconnects on its own transport, and starts over from the new history",
        async () => {
          const { page, errors } = await openChat(browser, base);
          assert.equal(await page.textContent("#transport"), "WebSocket");
          assert.equal((await cli.stop()).code, 0, cli.output());
          await waitForState(page, "reconnecting");
          await page.waitForTimeout(1000); // a few attempts fail while nothing listens
          ({ cli, base } = await startDemo([], Number(new URL(base).port)));
          await waitForState(page, "connected");
          assert.equal(
            await page.textContent("#transport"),
            "WebSocket",
            "no fallback for a transport that worked",
          );
          const text = unique("after the restart");
          await say(page, text);
          await waitToSee(page, text);
          // The new server's history (in memory) is not the old one: the page was told, and shows the new.
          assert.deepEqual(await shown(page), [text]);
          assert.match((await page.textContent("#messages li.notice"))!, /the history was reset/);
          await page.context().close();
          // The browser reported only refused connections while nothing listened (the socket, the live panel).
          const refused = /WebSocket connection to .* failed|net::ERR_CONNECTION_REFUSED/;
          assert.deepEqual(errors.filter((e) => !refused.test(e)), []);
        },
      );
    } finally {
      await browser.close();
      const status = await cli.stop();
      assert.equal(status.code, 0, cli.output());
    }
  },
});

Deno.test({
  name: "demo in Chromium, --workers 2 --bus redis://: pages on different workers chat both ways",
  ...BROWSER_TEST,
  fn: async () => {
    const redis = await RedisServer.start();
    const { cli, base } = await startDemo(["--workers", "2", "--bus", redis.url]);
    const browser = await launchChromium();
    try {
      // Open pages until one's event stream is on worker 1 and another's on worker 2 (the kernel spreads
      // connections over the workers): each chat response names its worker.
      const byWorker = new Map<string, Awaited<ReturnType<typeof openChat>>>();
      for (let tries = 0; byWorker.size < 2 && tries < 20; tries++) {
        const opened = await newPage(browser);
        opened.page.setDefaultTimeout(10_000);
        const answered = opened.page.waitForResponse((r) => r.url().includes("/chat/events"));
        await opened.page.goto(`${base}/?transport=sse`);
        const worker = (await answered).headers()["x-cogen-worker"];
        await waitForState(opened.page, "connected");
        if (byWorker.has(worker)) await opened.page.context().close();
        else byWorker.set(worker, opened);
      }
      assert.deepEqual([...byWorker.keys()].sort(), ["1", "2"], "pages on both workers");
      const [a, b] = [byWorker.get("1")!, byWorker.get("2")!];
      const there = unique("worker 1 to worker 2");
      await say(a.page, there);
      await waitToSee(b.page, there);
      const back = unique("worker 2 to worker 1");
      await say(b.page, back);
      await waitToSee(a.page, back);
      // Pages that load later, on a WebSocket or a long poll, get the history kept in Redis, whichever worker
      // they land on.
      const later = [await openChat(browser, base, "websocket"), await openChat(browser, base, "longpoll")];
      for (const { page } of later) {
        await waitToSee(page, there);
        await waitToSee(page, back);
      }
      // And each of them speaks to all the others, on both workers.
      for (const speaker of later) {
        const text = unique(`from a ${await speaker.page.textContent("#transport")}`);
        await say(speaker.page, text);
        for (const { page } of [a, b, ...later]) await waitToSee(page, text);
      }
      assert.deepEqual([a, b, ...later].flatMap((opened) => opened.errors), []);
    } finally {
      await browser.close();
      const status = await cli.stop();
      await redis.stop();
      assert.equal(status.code, 0, cli.output());
    }
  },
});
