// The chat page. Three transports carry the room's news, and all three speak
// the same JSON, the server's `PublishSubscribeQueue.read` as it is:
// { epoch, entries: [{ offset, message: { from, text, at } }], reset }.
// The page remembers the last offset it saw and asks for what came `after` it,
// so a drop, a move to another worker or a while away loses nothing.
"use strict";

const TRANSPORTS = ["websocket", "sse", "longpoll"];
const LABELS = { websocket: "WebSocket", sse: "Server-Sent Events", longpoll: "long poll" };
const asked = new URLSearchParams(location.search).get("transport");
/** Chosen in the URL, or WebSocket, falling back to SSE, then long poll, when a transport never opens. */
let transport = TRANSPORTS.includes(asked) ? asked : "websocket";
const mayFallBack = !TRANSPORTS.includes(asked);

const $ = (id) => document.getElementById(id);
const list = $("messages");
const form = $("say");
/** The name this browser chats under, kept across visits (where storage is allowed). */
const storedName = {
  get: () => {
    try {
      return localStorage.getItem("chat-name");
    } catch {
      return null; // storage refused (a cross-site frame, say)
    }
  },
  set: (name) => {
    try {
      localStorage.setItem("chat-name", name);
    } catch {
      // Kept for this visit only.
    }
  },
};
form.elements.name.value = storedName.get() || `guest-${Math.floor(Math.random() * 900 + 100)}`;

let after = null; // the last offset shown
const shown = new Set(); // offsets shown (a reconnect may repeat the last one)
let away = false;
let current = null; // the open transport: { close(), send(text) → boolean }
let retryDelay = 250;
let retryTimer = 0;

function setState(state) {
  $("state").textContent = state;
  $("state").className = `state ${state}`;
}

/** Shows what a read answered. */
function show(news) {
  if (news.reset) {
    // The history this page knew is gone (the server's store restarted): start again from what is kept.
    after = null;
    list.replaceChildren();
    shown.clear();
    notice("the history was reset");
  }
  for (const { offset, message } of news.entries) {
    after = offset;
    if (shown.has(offset)) continue;
    shown.add(offset);
    const item = document.createElement("li");
    const from = document.createElement("span");
    from.className = "from";
    from.textContent = message.from;
    const at = document.createElement("time");
    at.className = "at";
    at.textContent = new Date(message.at).toLocaleTimeString();
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = message.text;
    item.append(from, text, at);
    item.dataset.offset = offset;
    list.append(item);
  }
  if (news.entries.length > 0) list.lastElementChild.scrollIntoView({ block: "nearest" });
}

function notice(text) {
  const item = document.createElement("li");
  item.className = "notice";
  item.textContent = text;
  list.append(item);
}

function query(extra = {}) {
  const params = new URLSearchParams(extra);
  if (after !== null) params.set("after", after);
  return params.toString();
}

/** Texts sent over the socket and not yet acknowledged (the server answers in order). */
let unacked = [];

/** Opens the transport; `opened()` and `dropped()` report what happens to it. */
const open = {
  websocket(opened, dropped) {
    const url = new URL(`/chat/socket?${query({ name: form.elements.name.value })}`, location.href);
    url.protocol = url.protocol.replace("http", "ws");
    const socket = new WebSocket(url);
    socket.onopen = opened;
    socket.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if ("said" in data) unacked.shift();
      else if ("error" in data) notice(`not sent: ${unacked.shift()} (${data.error})`);
      else show(data);
    };
    // What was sent but not acknowledged goes again by POST: at least once, rather than lost.
    const resend = () => {
      const texts = unacked;
      unacked = [];
      for (const text of texts) post(text);
    };
    socket.onclose = () => {
      resend();
      dropped();
    };
    return {
      close: () => {
        socket.onclose = null;
        socket.close(1000);
        resend();
      },
      send: (text) => {
        if (socket.readyState !== WebSocket.OPEN) return false;
        unacked.push(text);
        socket.send(text);
        return true;
      },
    };
  },

  sse(opened, dropped) {
    // EventSource reconnects by itself and sends the last event's id as Last-Event-ID: the offset.
    const events = new EventSource(`/chat/events?${query()}`);
    events.onopen = opened;
    events.onmessage = (event) => show(JSON.parse(event.data));
    events.onerror = () => {
      if (events.readyState === EventSource.CLOSED) dropped();
      else setState("reconnecting");
    };
    return { close: () => events.close(), send: () => false };
  },

  longpoll(opened, dropped) {
    const stop = new AbortController();
    (async () => {
      for (let first = true;; first = false) {
        // One request at a time, held by the server until there is news (or 25 s pass).
        const response = await fetch(`/chat/poll?${query()}`, { signal: stop.signal }).catch(() => null);
        const news = response?.ok ? await response.json().catch(() => null) : null;
        if (stop.signal.aborted) return; // closed meanwhile ("go away"): not a drop
        if (news === null) return dropped();
        if (first) opened();
        show(news);
      }
    })();
    // A long poll is "connected" while its request is out: say so once the first one is sent.
    setTimeout(() => !stop.signal.aborted && $("state").textContent === "connecting" && opened(), 300);
    return { close: () => stop.abort(), send: () => false };
  },
};

/** The transports that opened at least once on this page: a drop of one of them is not a reason to fall back. */
const worked = new Set();
/** Ms a transport that never worked may take to open before the page falls back to the next. */
const FALLBACK_AFTER = 5000;

function connect() {
  clearTimeout(retryTimer);
  $("transport").textContent = LABELS[transport];
  $("transport").dataset.transport = transport; // the name ?transport= takes: websocket, sse or longpoll
  setState("connecting");
  const mine = transport;
  let done = false;
  let fallbackTimer = 0;
  let handle = null;
  const finish = () => {
    done = true;
    clearTimeout(fallbackTimer);
    handle?.close();
    if (current === connection) current = null;
  };
  const dropped = () => {
    if (done) return;
    finish();
    if (!worked.has(mine) && mayFallBack && mine !== "longpoll") {
      transport = TRANSPORTS[TRANSPORTS.indexOf(mine) + 1];
      return connect();
    }
    setState("reconnecting");
    retryTimer = setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 5000);
  };
  handle = open[mine](() => {
    if (done) return;
    clearTimeout(fallbackTimer);
    worked.add(mine);
    retryDelay = 250;
    setState("connected");
  }, dropped);
  const connection = { send: (text) => !done && handle.send(text), close: () => done || finish() };
  current = connection;
  // A transport stuck opening (a proxy that buffers, say) counts as one that failed.
  if (mayFallBack && !worked.has(mine) && mine !== "longpoll") {
    fallbackTimer = setTimeout(dropped, FALLBACK_AFTER);
  }
}

/** Says `text` with a POST; a refusal shows as a notice. */
async function post(text) {
  const name = encodeURIComponent(form.elements.name.value);
  const response = await fetch(`/chat/say?name=${name}`, { method: "POST", body: text }).catch(() => null);
  if (response === null) return notice(`not sent: ${text} (offline)`);
  if (!response.ok) {
    const why = (await response.json().catch(() => null))?.error ??
      `${response.status} ${response.statusText}`;
    notice(`not sent: ${text} (${why})`);
  }
}

/** Says `text`: over the socket when there is one, else with a POST. */
function say(text) {
  if (!current?.send(text)) post(text);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = form.elements.message.value;
  if (text.trim() === "") return;
  form.elements.message.value = "";
  say(text);
});

form.elements.name.addEventListener("change", () => {
  storedName.set(form.elements.name.value);
  // The socket says who speaks when it opens: open it again under the new name.
  if (transport === "websocket" && current !== null) {
    current.close();
    connect();
  }
});

$("away").addEventListener("click", () => {
  away = !away;
  $("away").textContent = away ? "come back" : "go away";
  form.elements.message.disabled = away;
  if (away) {
    clearTimeout(retryTimer);
    current?.close();
    setState("away");
  } else {
    connect(); // from the last offset seen: what was said meanwhile arrives at once
  }
});

// The live panel: the figures of the worker that answers, once a second.
async function refreshLive() {
  const live = await fetch("/stats").then((r) => r.json()).catch(() => null);
  if (live !== null) {
    $("live-worker").textContent = `${live.worker} (pid ${live.pid})`;
    $("live-held").textContent = live.held;
    $("live-rate").textContent = live.perSecond;
  }
  // What compression saved on this script, as the browser measured it.
  const script = performance.getEntriesByType("resource").find((entry) => entry.name.endsWith("/chat.js"));
  if (script && script.decodedBodySize > 0 && script.encodedBodySize > 0) {
    const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
    const gzipped = script.encodedBodySize < script.decodedBodySize;
    $("live-gzip").textContent = `${kb(script.encodedBodySize)} of ${kb(script.decodedBodySize)}${
      gzipped ? " (gzip)" : ""
    }`;
  }
}
setInterval(refreshLive, 1000);
refreshLive();

// The seed's wait_app, streamed as it answers: a line, then the wait, then who signalled.
$("wait-start").addEventListener("click", async () => {
  const output = $("wait-output");
  output.textContent = "";
  const response = await fetch("/wait").catch(() => null);
  if (response === null) return void (output.textContent = "offline");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    output.textContent += `${part.value}\n`;
  }
});

$("signal-send").addEventListener("click", async () => {
  const value = encodeURIComponent($("signal-value").value);
  const answer = await fetch(`/signal?value=${value}`).then((r) => r.text()).catch(() => "offline");
  $("wait-output").textContent += `(/signal: ${answer.trim()})\n`;
});

connect();
