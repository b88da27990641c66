/**
 * `RedisBus`: named signals and named queues across processes and
 * machines, through a Redis server.
 *
 * - A `Signal` with a string name is published on one channel; every other
 *   process on the bus wakes its waiters of that name and answers, on a
 *   channel of the sender's own, how many it woke. `PUBLISH` says how many
 *   processes received the signal: the sender waits for that many answers,
 *   at most `replyWait` ms (1 s by default), and counts what came.
 * - A named `PublishSubscribeQueue` is a Redis Stream (`XADD … MAXLEN ~`);
 *   an append also publishes the queue's name on a channel, so that readers
 *   waiting in any process read again. Offsets are `EPOCH:STREAM-ID`. The
 *   epoch lives in Redis (`cogen:epoch`, made when missing): a Redis without
 *   persistence that restarted has a new one, and an offset of the old one
 *   is answered with everything kept and `reset: true`; so is an offset
 *   older than what the stream still holds (Redis 7's
 *   `max-deleted-entry-id`).
 * - Faults: commands are not queued while Redis is away (a publish or a
 *   signal fails at once with `BusUnavailable`, and one under way fails
 *   after `timeout` ms, 5 s by default); the client reconnects by itself,
 *   with pauses growing to 2 s, and restores the subscriptions; waiting
 *   readers then read again.
 *
 * The client is node-redis (`npm:@redis/client`, pinned in deno.json):
 * maintained, it restores its subscriptions after a reconnect by itself,
 * bounds each command's time (`commandOptions.timeout`), can refuse to queue
 * commands while offline (`disableOfflineQueue`), and runs under Deno as
 * is. (`ioredis` is in maintenance mode.)
 *
 * @module
 */
import { createClient } from "@redis/client";
import { type BusHost, BusUnavailable, type QueueRead } from "../core/bus.ts";
import { checkRedisUrl } from "./url.ts";

export { checkRedisUrl };
import type { Bus } from "../core/mod.ts";

/** Options of {@linkcode RedisBus.connect}. */
export interface RedisBusOptions {
  /** Ms a command may take (a publish, a read) before it fails with `BusUnavailable`. Default 5000. */
  timeout?: number;
  /** Ms a signal waits for the other processes to say how many they woke. Default 1000. */
  replyWait?: number;
  /** What every key and channel of the bus begins with. Default `cogen`. */
  prefix?: string;
}

/** A signal's answers being counted. */
interface Counting {
  /** Answers expected (the processes that received it, but this one); -1 until PUBLISH said. */
  expected: number;
  answers: number;
  woken: number;
  done: (woken: number) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** The queue's append: the epoch (made when missing), the entry, and the news on the channel. */
const APPEND = `
local epoch = redis.call('GET', KEYS[2])
if not epoch then epoch = ARGV[3]; redis.call('SET', KEYS[2], epoch) end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {epoch, id}`;

/**
 * The queue's read after `ARGV[2]` (empty: everything), of epoch `ARGV[3]`:
 * {epoch, reset, id, message, id, message…}. Reset when the epoch is not
 * the current one, or when the stream has dropped entries after that id.
 */
const READ = `
local epoch = redis.call('GET', KEYS[2])
if not epoch then epoch = ARGV[1]; redis.call('SET', KEYS[2], epoch) end
local after = ARGV[2]
local reset = 0
if after ~= '' then
  if ARGV[3] ~= epoch then reset = 1
  elseif redis.call('EXISTS', KEYS[1]) == 1 then
    local info = redis.call('XINFO', 'STREAM', KEYS[1])
    for i = 1, #info, 2 do
      if info[i] == 'max-deleted-entry-id' then
        local dms, dseq = string.match(info[i + 1], '^(%d+)-(%d+)$')
        local ams, aseq = string.match(after, '^(%d+)-(%d+)$')
        if ams == nil then reset = 1
        elseif tonumber(dms) > tonumber(ams) or (dms == ams and tonumber(dseq) > tonumber(aseq)) then reset = 1 end
      end
    end
  end
end
local range
if after == '' or reset == 1 then range = redis.call('XRANGE', KEYS[1], '-', '+')
else range = redis.call('XRANGE', KEYS[1], '(' .. after, '+') end
local out = {epoch, reset}
for _, entry in ipairs(range) do
  out[#out + 1] = entry[1]
  out[#out + 1] = entry[2][2]
end
return out`;

/**
 * Named signals and named queues across processes, through Redis (see the
 * module doc). Make it with {@linkcode RedisBus.connect}, and give it to a
 * scheduler (`new Scheduler({ bus })`) or to `serve` (`{ bus }`).
 *
 * @example
 * ```ts ignore
 * import { RedisBus } from "@cogen/cogen/bus/redis";
 * import { serve } from "@cogen/cogen";
 * const bus = await RedisBus.connect("redis://127.0.0.1:6379");
 * serve(app, { bus, port: 8000 });
 * ```
 */
export class RedisBus implements Bus {
  /** Every process on this Redis shares it. */
  readonly shared = true;
  /** The URL, without its password. */
  readonly url: string;
  // deno-lint-ignore no-explicit-any -- node-redis's client type carries its modules' command maps
  readonly #command: any;
  // deno-lint-ignore no-explicit-any -- as above
  readonly #subscriber: any;
  readonly #prefix: string;
  readonly #replyWait: number;
  /** This process on the bus: where answers to its signals come. */
  readonly #id = crypto.randomUUID();
  readonly #hosts = new Set<BusHost>();
  readonly #counting = new Map<string, Counting>();
  #sequence = 0;
  #closed = false;

  // deno-lint-ignore no-explicit-any -- node-redis clients, see above
  private constructor(shown: string, command: any, subscriber: any, options: Required<RedisBusOptions>) {
    this.url = shown;
    this.#command = command;
    this.#subscriber = subscriber;
    this.#prefix = options.prefix;
    this.#replyWait = options.replyWait;
  }

  /**
   * Connects to the Redis at `url` (`redis://[user:pass@]host:port[/db]`):
   * resolves once it can carry signals and queues.
   *
   * @throws {TypeError} for a malformed URL, saying the form it must have.
   * @throws {BusUnavailable} when Redis cannot be reached, or refuses the credentials: the message says what to fix.
   */
  static async connect(url: string, options: RedisBusOptions = {}): Promise<RedisBus> {
    const shown = checkRedisUrl(url);
    const settings: Required<RedisBusOptions> = {
      timeout: options.timeout ?? 5000,
      replyWait: options.replyWait ?? 1000,
      prefix: options.prefix ?? "cogen",
    };
    let connected = false;
    const client = createClient({
      url,
      disableOfflineQueue: true,
      commandOptions: { timeout: settings.timeout },
      socket: {
        connectTimeout: settings.timeout,
        // The first connection fails at once, saying why; later ones retry, with pauses growing to 2 s.
        reconnectStrategy: (retries: number) => connected ? Math.min(100 * 2 ** retries, 2000) : false,
      },
    });
    const subscriber = client.duplicate();
    // Errors while reconnecting are the client's to handle (it retries); a command under way fails on its own.
    client.on("error", () => {});
    subscriber.on("error", () => {});
    try {
      await client.connect();
      await subscriber.connect();
    } catch (error) {
      await Promise.allSettled([client.destroy?.(), subscriber.destroy?.()]);
      const why = error instanceof Error ? error.message : String(error);
      const fix = /WRONGPASS|NOAUTH|invalid password|AUTH/i.test(why)
        ? "check the user and password in the URL"
        : /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|timeout/i.test(why)
        ? "is redis-server running there?"
        : "check the URL";
      throw new BusUnavailable(`cannot use the bus at ${shown}: ${why} (${fix})`, { cause: error });
    }
    connected = true;
    const bus = new RedisBus(shown, client, subscriber, settings);
    await bus.#listen();
    return bus;
  }

  /** Starts telling `host` what arrives. */
  attach(host: BusHost): void {
    this.#hosts.add(host);
  }

  /** Stops telling `host`. */
  detach(host: BusHost): void {
    this.#hosts.delete(host);
  }

  /** Wakes the waiters of `name` in every other process; resolves with how many they woke. */
  async signal(name: string, value: unknown): Promise<number> {
    const id = `${++this.#sequence}`;
    let payload: string;
    try {
      payload = JSON.stringify({ id, from: this.#id, name, value });
    } catch (error) {
      throw new TypeError(`a signal's value must survive JSON to reach other processes: ${error}`, {
        cause: error,
      });
    }
    const counted = new Promise<number>((done) => {
      const timer = setTimeout(() => this.#settle(id), this.#replyWait);
      this.#counting.set(id, { expected: -1, answers: 0, woken: 0, done, timer });
    });
    let receivers: number;
    try {
      receivers = await this.#command.publish(this.#channel("signal"), payload);
    } catch (error) {
      this.#settle(id);
      throw this.#unavailable(error);
    }
    const counting = this.#counting.get(id);
    if (counting !== undefined) {
      counting.expected = receivers - 1; // this process receives its own signal too, and ignores it
      if (counting.answers >= counting.expected) this.#settle(id);
    }
    return counted;
  }

  /** Appends `message` to the stream of `name`; resolves with its offset once Redis has stored it. */
  async append(name: string, message: unknown, maxLength: number): Promise<string> {
    const json = JSON.stringify(message);
    if (json === undefined) throw new TypeError(`a queued message must survive JSON, got ${typeof message}`);
    let reply: [string, string];
    try {
      reply = await this.#command.eval(APPEND, {
        keys: [this.#key(`q:${name}`), this.#key("epoch")],
        arguments: [String(maxLength), json, newEpoch(), this.#channel("appended"), name],
      });
    } catch (error) {
      throw this.#unavailable(error);
    }
    return `${reply[0]}:${reply[1]}`;
  }

  /** What the stream of `name` holds after `after` (everything when undefined). */
  async read(name: string, after: string | undefined): Promise<QueueRead> {
    const colon = after === undefined ? -1 : after.lastIndexOf(":");
    const afterEpoch = after === undefined ? "" : after.slice(0, colon);
    const afterId = after === undefined ? "" : after.slice(colon + 1);
    let reply: unknown[];
    try {
      reply = await this.#command.eval(READ, {
        keys: [this.#key(`q:${name}`), this.#key("epoch")],
        arguments: [newEpoch(), afterId, afterEpoch],
      });
    } catch (error) {
      throw this.#unavailable(error);
    }
    const epoch = String(reply[0]);
    const entries: QueueRead["entries"] = [];
    for (let i = 2; i < reply.length; i += 2) {
      entries.push({ offset: `${epoch}:${reply[i]}`, message: JSON.parse(String(reply[i + 1])) });
    }
    return { epoch, entries, reset: Number(reply[1]) === 1 };
  }

  /** Closes both connections; signals still being counted settle with what came. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#counting.keys()]) this.#settle(id);
    await Promise.allSettled([
      this.#subscriber.close?.() ?? this.#subscriber.quit(),
      this.#command.close?.() ?? this.#command.quit(),
    ]);
  }

  /** Subscribes to the signals, the answers to this process's signals, and the queues' news. */
  async #listen(): Promise<void> {
    const subscriber = this.#subscriber;
    await subscriber.subscribe(this.#channel("signal"), (text: string) => this.#signalled(text));
    await subscriber.subscribe(this.#channel(`answer:${this.#id}`), (text: string) => this.#answered(text));
    await subscriber.subscribe(this.#channel("appended"), (name: string) => {
      for (const host of this.#hosts) host.appended(name);
    });
    // After an outage node-redis subscribes again by itself; what was published meanwhile is read again.
    subscriber.on("ready", () => {
      for (const host of this.#hosts) host.resync();
    });
  }

  /** A signal from another process: this process's waiters wake, and the sender hears how many. */
  #signalled(text: string): void {
    let signal: { id: string; from: string; name: string; value: unknown };
    try {
      signal = JSON.parse(text);
    } catch {
      return; // not ours: someone else's message on the channel
    }
    if (signal.from === this.#id) return;
    let woken = 0;
    for (const host of this.#hosts) woken += host.signalled(signal.name, signal.value);
    const answer = JSON.stringify({ id: signal.id, woken });
    // A lost answer only makes the sender's count smaller, after its wait: nothing to do about it here.
    this.#command.publish(this.#channel(`answer:${signal.from}`), answer).catch(() => {});
  }

  /** Another process's count of the waiters one of this process's signals woke. */
  #answered(text: string): void {
    let answer: { id: string; woken: number };
    try {
      answer = JSON.parse(text);
    } catch {
      return;
    }
    const counting = this.#counting.get(answer.id);
    if (counting === undefined) return;
    counting.answers++;
    counting.woken += Number(answer.woken) || 0;
    if (counting.expected >= 0 && counting.answers >= counting.expected) this.#settle(answer.id);
  }

  #settle(id: string): void {
    const counting = this.#counting.get(id);
    if (counting === undefined) return;
    this.#counting.delete(id);
    clearTimeout(counting.timer);
    counting.done(counting.woken);
  }

  #key(name: string): string {
    return `${this.#prefix}:${name}`;
  }

  #channel(name: string): string {
    return `${this.#prefix}:${name}`;
  }

  /** What a failed command becomes: Redis's own refusal as it is, anything else (gone, too slow) `BusUnavailable`. */
  #unavailable(error: unknown): Error {
    if (error instanceof TypeError) return error;
    const why = error instanceof Error ? error.message : String(error);
    if (error instanceof Error && error.constructor.name === "ErrorReply") {
      return new Error(`the bus at ${this.url} refused: ${why}`, { cause: error });
    }
    return new BusUnavailable(`the bus at ${this.url} did not answer: ${why}`, { cause: error });
  }
}

/** A candidate epoch, used when Redis has none (it keeps the first one set). */
function newEpoch(): string {
  return crypto.randomUUID().slice(0, 8);
}
