/**
 * `APP` on the command line: `path/to/app.ts[:export]`, imported and turned
 * into what `serve` runs.
 *
 * @module
 */
import { type FetchHandler, fromFetchHandler } from "../middleware/from_fetch_handler.ts";
import type { App, Route } from "../wsgi/mod.ts";

/** Why the app could not be loaded: the message says what was asked for, and what there is. */
export class AppLoadError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AppLoadError";
  }
}

/**
 * Splits `APP` into the module's path and the export's name (`""` when
 * none was given). A `:` is the export's only when what follows is a name,
 * so that `C:\app.ts` and `./a:b/app.ts` still name files.
 *
 * @example
 * ```ts
 * import { splitAppSpec } from "./load_app.ts";
 * splitAppSpec("examples/demo.ts:app"); // ["examples/demo.ts", "app"]
 * splitAppSpec("examples/demo.ts"); // ["examples/demo.ts", ""]
 * ```
 */
export function splitAppSpec(spec: string): [path: string, name: string] {
  const colon = spec.lastIndexOf(":");
  if (colon > 0 && /^[A-Za-z_$][\w$]*$/.test(spec.slice(colon + 1))) {
    return [spec.slice(0, colon), spec.slice(colon + 1)];
  }
  return [spec, ""];
}

/**
 * Imports the module of `spec` (relative to `cwd`) and returns its app: the
 * export named after `:`, else `app`, else the default export — an `App`
 * (a function of two arguments), a list of `[prefix, app]` routes, or a
 * fetch handler (a function of one argument, or an object with a `fetch`
 * method, such as a Hono app), which runs through `fromFetchHandler`.
 *
 * @throws {AppLoadError} naming the file or export asked for, and the exports the module has.
 * @example
 * ```ts ignore
 * const app = await loadApp("examples/hello.ts:hello", Deno.cwd());
 * ```
 */
export async function loadApp(spec: string, cwd: string): Promise<App | Route[]> {
  const [path, name] = splitAppSpec(spec);
  const url = new URL(path, `file://${cwd.endsWith("/") ? cwd : cwd + "/"}`);
  try {
    const stat = await Deno.stat(url);
    if (!stat.isFile) throw new AppLoadError(`${path} is not a file; APP is path/to/app.ts[:export]`);
  } catch (error) {
    if (error instanceof AppLoadError) throw error;
    throw new AppLoadError(`${path}: no such file (APP is path/to/app.ts[:export], relative to ${cwd})`, {
      cause: error,
    });
  }
  let module: Record<string, unknown>;
  try {
    module = await import(url.href);
  } catch (error) {
    throw new AppLoadError(
      `${path} could not be imported: ${error instanceof Error ? error.message : error}`,
      {
        cause: error,
      },
    );
  }
  const exports = Object.keys(module).sort();
  const listed = exports.length === 0 ? "it exports nothing" : `it exports: ${exports.join(", ")}`;
  let chosen: string;
  if (name !== "") {
    if (!(name in module)) throw new AppLoadError(`${path} has no export named "${name}"; ${listed}`);
    chosen = name;
  } else if ("app" in module) chosen = "app";
  else if ("default" in module) chosen = "default";
  else {throw new AppLoadError(
      `${path} has no export named "app" and no default export; ${listed} (name one: ${path}:NAME)`,
    );}
  return asApp(module[chosen], `${path}:${chosen}`);
}

/** What an export is, as something `serve` runs. */
function asApp(value: unknown, where: string): App | Route[] {
  if (Array.isArray(value)) return value as Route[];
  if (typeof value === "function") {
    return value.length <= 1 ? fromFetchHandler(value as FetchHandler) : value as App;
  }
  if (
    value !== null && typeof value === "object" && typeof (value as { fetch?: unknown }).fetch === "function"
  ) {
    const handler = value as { fetch: FetchHandler };
    return fromFetchHandler((request, info) => handler.fetch(request, info));
  }
  throw new AppLoadError(
    `${where} is ${value === null ? "null" : typeof value}; export an App ((environ, startResponse) => …), ` +
      "a list of [prefix, app] routes, or a fetch handler ((request) => Response, or an object with fetch)",
  );
}
