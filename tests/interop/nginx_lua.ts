/**
 * An nginx with the Lua module (Debian's `nginx` + `libnginx-mod-http-lua`) for the
 * lua-resty-kafka interop tests: started in the foreground with a temporary prefix, one worker,
 * listening on 127.0.0.1 only, its `/kafka` location running `clients/lua/sluice_resty_kafka.lua`
 * (query arguments in, plain text lines out; see that file).
 *
 * @module
 */

import { NGINX } from "../harness.ts";

const HANDLER = new URL("./clients/lua/sluice_resty_kafka.lua", import.meta.url).pathname;

/** A running nginx. */
export interface Nginx {
  /** `http://127.0.0.1:PORT/kafka`. */
  url: string;
  /** Everything nginx logged so far (its error log, at level info). */
  log(): Promise<string>;
  /** Stop nginx (SIGQUIT, then SIGKILL after 5 s) and remove its prefix. Safe to call twice. */
  close(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Start nginx with the lua-resty-kafka handler. Requires the `lua-resty-kafka` client
 * (`requireClient`).
 *
 * @returns The running nginx; call `close()` when done.
 * @throws {Error} When nginx does not answer within 10 s (with its log).
 */
export async function startNginx(): Promise<Nginx> {
  const prefix = await Deno.makeTempDir({ prefix: "sluice_nginx_" });
  const port = freePort();
  const conf = `${NGINX.modules.map((m) => `load_module ${m};`).join("\n")}
daemon off;
master_process off;
worker_processes 1;
error_log ${prefix}/error.log info;
pid ${prefix}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  lua_package_path "/usr/share/lua/5.1/?.lua;;";
  server {
    listen 127.0.0.1:${port};
    location /kafka { content_by_lua_file ${HANDLER}; }
  }
}
`;
  await Deno.writeTextFile(`${prefix}/nginx.conf`, conf);
  const child = new Deno.Command(NGINX.binary, {
    // -e: the startup error log, before the configuration's is opened (else /var/log/nginx)
    args: ["-p", prefix, "-c", `${prefix}/nginx.conf`, "-e", `${prefix}/error.log`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const log = () => Deno.readTextFile(`${prefix}/error.log`).catch(() => "");
  let closed: Promise<void> | undefined;
  const nginx: Nginx = {
    url: `http://127.0.0.1:${port}/kafka`,
    log,
    close() {
      closed ??= (async () => {
        try {
          child.kill("SIGQUIT");
        } catch {
          // already gone
        }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // already gone
          }
        }, 5000);
        await child.status;
        clearTimeout(timer);
        await Deno.remove(prefix, { recursive: true }).catch(() => {});
      })();
      return closed;
    },
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const r = await fetch(`${nginx.url}?op=none`);
      await r.body?.cancel();
      return nginx;
    } catch {
      if (Date.now() > deadline) {
        const text = await log();
        await nginx.close();
        throw new Error(`nginx did not start on 127.0.0.1:${port}:\n${text}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * One request to the handler.
 *
 * @param nginx The running nginx.
 * @param args The query arguments (`op`, `port`, `topic`, ...).
 * @param timeoutMs Abort after this long (default 30 s).
 * @returns The answer's lines.
 * @throws {Error} When the answer is not 200 (a Lua error in the client), with nginx's log tail.
 */
export async function restyKafka(
  nginx: Nginx,
  args: Record<string, string | number>,
  timeoutMs = 30_000,
): Promise<string[]> {
  const query = new URLSearchParams(
    Object.entries(args).map(([k, v]) => [k, String(v)]),
  );
  const r = await fetch(`${nginx.url}?${query}`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await r.text();
  if (r.status !== 200) {
    const tail = (await nginx.log()).split("\n").slice(-8).join("\n");
    throw new Error(`lua-resty-kafka ${args.op}: HTTP ${r.status}\n${text}\n${tail}`);
  }
  return text.split("\n").filter((l) => l !== "");
}
