// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The REST API of Kafka Connect for the calls people script: `GET /`, `GET|POST /connectors`,
 * `GET|PUT /connectors/{name}/config`, `GET|DELETE /connectors/{name}`, `/status`,
 * `PUT /pause`, `PUT /resume`, `POST /restart`, `GET /tasks`, task status and restart, and
 * `GET /connector-plugins`. Errors are Kafka Connect's `{"error_code":…,"message":…}`.
 *
 * @module
 */

import { ConnectRestError, type Herder } from "./herder.ts";
import { listPlugins } from "./plugins.ts";
import { ConfigError, parseConfig } from "./config.ts";
import { CONNECTOR_CONFIG } from "./worker.ts";
import { SINK_CONNECTOR_CONFIG } from "./errors.ts";

/** The version `GET /` reports. */
export const CONNECT_VERSION = "3.9.0-sluice";

function json(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: body === undefined ? {} : { "content-type": "application/json" },
  });
}

function error(status: number, message: string): Response {
  return json(status, { error_code: status, message });
}

async function bodyOf(req: Request): Promise<unknown> {
  const text = await req.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConnectRestError(
      400,
      `Request body is not valid JSON: ${e instanceof Error ? e.message : e}`,
    );
  }
}

function stringMap(value: unknown, what: string): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConnectRestError(400, `${what} must be a JSON object`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || typeof v === "object") {
      throw new ConnectRestError(400, `${what}: value of ${k} must be a string`);
    }
    out[k] = String(v);
  }
  return out;
}

function flag(url: URL, name: string): boolean {
  return (url.searchParams.get(name) ?? "false").toLowerCase() === "true";
}

/**
 * Answers one REST request.
 *
 * @example
 * ```ts ignore
 * import { handleRest } from "./rest.ts";
 * const res = await handleRest(herder, new Request("http://localhost:8083/connectors"));
 * console.log(await res.json()); // ["local-file-source"]
 * ```
 *
 * @param herder The herder.
 * @param req The request.
 * @returns The response.
 */
export async function handleRest(herder: Herder, req: Request): Promise<Response> {
  const url = new URL(req.url);
  const parts = url.pathname.split("/").filter((p) => p !== "").map(decodeURIComponent);
  const method = req.method;
  try {
    if (parts.length === 0) {
      if (method !== "GET") return error(405, "HTTP 405 Method Not Allowed");
      return json(200, {
        version: CONNECT_VERSION,
        commit: "sluice",
        kafka_cluster_id: herder.kafkaClusterId(),
      });
    }
    if (parts[0] === "connector-plugins") {
      if (parts.length === 1 && method === "GET") {
        return json(
          200,
          listPlugins().map((p) => ({ class: p.className, type: p.type, version: p.version })),
        );
      }
      if (
        parts.length === 4 && parts[2] === "config" && parts[3] === "validate" && method === "PUT"
      ) {
        return json(200, validate(parts[1], stringMap(await bodyOf(req), "configuration")));
      }
      return error(404, "HTTP 404 Not Found");
    }
    if (parts[0] !== "connectors") return error(404, "HTTP 404 Not Found");
    if (parts.length === 1) {
      if (method === "GET") {
        const names = await herder.connectors();
        const expand = url.searchParams.getAll("expand");
        if (expand.length === 0) return json(200, names);
        const out: Record<string, Record<string, unknown>> = {};
        for (const n of names) {
          out[n] = {};
          if (expand.includes("status")) out[n].status = await herder.connectorStatus(n);
          if (expand.includes("info")) out[n].info = await herder.connectorInfo(n);
        }
        return json(200, out);
      }
      if (method === "POST") {
        const body = await bodyOf(req) as Record<string, unknown>;
        if (typeof body !== "object" || body === null || typeof body.name !== "string") {
          throw new ConnectRestError(400, "Connector name must be a string in the request body");
        }
        if (body.config === undefined) {
          throw new ConnectRestError(400, "Connector config must be given in the request body");
        }
        const config = stringMap(body.config, "config");
        const { info } = await herder.putConnectorConfig(body.name, config, false);
        return json(201, info);
      }
      return error(405, "HTTP 405 Method Not Allowed");
    }
    const name = parts[1];
    const rest = parts.slice(2);
    const sub = rest.join("/");
    if (sub === "") {
      if (method === "GET") return json(200, await herder.connectorInfo(name));
      if (method === "DELETE") {
        await herder.deleteConnector(name);
        return json(204, undefined);
      }
    } else if (sub === "config") {
      if (method === "GET") return json(200, (await herder.connectorInfo(name)).config);
      if (method === "PUT") {
        const config = stringMap(await bodyOf(req), "config");
        const { created, info } = await herder.putConnectorConfig(name, config, true);
        return json(created ? 201 : 200, info);
      }
    } else if (sub === "status" && method === "GET") {
      return json(200, await herder.connectorStatus(name));
    } else if (sub === "pause" && method === "PUT") {
      await herder.pauseConnector(name);
      return json(202, undefined);
    } else if (sub === "resume" && method === "PUT") {
      await herder.resumeConnector(name);
      return json(202, undefined);
    } else if (sub === "restart" && method === "POST") {
      const status = await herder.restartConnector(name, {
        includeTasks: flag(url, "includeTasks"),
        onlyFailed: flag(url, "onlyFailed"),
      });
      return status === null ? json(204, undefined) : json(202, status);
    } else if (sub === "tasks" && method === "GET") {
      return json(200, await herder.taskConfigs(name));
    } else if (rest[0] === "tasks" && rest.length === 3) {
      const task = Number(rest[1]);
      if (!/^\d+$/.test(rest[1])) {
        throw new ConnectRestError(404, `Task ${name}-${rest[1]} not found`);
      }
      if (rest[2] === "status" && method === "GET") {
        const s = await herder.connectorStatus(name);
        const t = s.tasks.find((x) => x.id === task);
        if (!t) throw new ConnectRestError(404, `No status found for task ${name}-${task}`);
        return json(200, t);
      }
      if (rest[2] === "restart" && method === "POST") {
        await herder.restartTask(name, task);
        return json(204, undefined);
      }
    } else {
      return error(404, "HTTP 404 Not Found");
    }
    return error(405, "HTTP 405 Method Not Allowed");
  } catch (e) {
    if (e instanceof ConnectRestError) return error(e.status, e.message);
    return error(500, e instanceof Error ? e.message : String(e));
  }
}

/** `PUT /connector-plugins/{plugin}/config/validate`, in Kafka Connect's answer shape. */
function validate(plugin: string, config: Record<string, string>): unknown {
  const p = listPlugins().find((x) => x.className === plugin || x.aliases.includes(plugin));
  if (!p) {
    throw new ConnectRestError(
      404,
      `Failed to find any class that implements Connector and which name matches ${plugin}`,
    );
  }
  const def = {
    ...CONNECTOR_CONFIG,
    ...(p.type === "sink" ? SINK_CONNECTOR_CONFIG : {}),
    ...new p.cls().config(),
  };
  const configs = Object.entries(def).map(([name, key]) => {
    let errors: string[] = [];
    try {
      parseConfig({ [name]: key }, config);
    } catch (e) {
      if (e instanceof ConfigError) errors = e.errors;
      else throw e;
    }
    return {
      definition: {
        name,
        type: key.type.toUpperCase(),
        required: key.default === undefined,
        default_value: key.default ?? null,
        importance: (key.importance ?? "medium").toUpperCase(),
        documentation: key.documentation ?? "",
      },
      value: { name, value: config[name] ?? null, recommended_values: [], errors, visible: true },
    };
  });
  return {
    name: p.className,
    error_count: configs.reduce((n, c) => n + c.value.errors.length, 0),
    groups: ["Common"],
    configs,
  };
}

/** Options of {@linkcode startRestServer}. */
export interface RestServerOptions {
  /** Address to bind. Default `0.0.0.0`. */
  hostname?: string;
  /** Port (0: any). Default 8083. */
  port?: number;
}

/** A running REST server. */
export interface RestServer {
  /** The bound port. */
  port: number;
  /** The bound address. */
  hostname: string;
  /** Stops it. */
  close(): Promise<void>;
}

/**
 * Serves the REST API.
 *
 * @param herder A function returning the herder (set once the worker is up).
 * @param options Address and port.
 * @returns The server.
 * @throws {Deno.errors.AddrInUse} When the port is taken.
 */
export function startRestServer(
  herder: () => Herder | undefined,
  options: RestServerOptions = {},
): RestServer {
  const server = Deno.serve({
    hostname: options.hostname ?? "0.0.0.0",
    port: options.port ?? 8083,
    onListen: () => {},
  }, (req) => {
    const h = herder();
    if (!h) return error(503, "Worker is starting");
    return handleRest(h, req);
  });
  const addr = server.addr as Deno.NetAddr;
  return {
    port: addr.port,
    hostname: addr.hostname,
    close: async () => {
      await server.shutdown();
    },
  };
}
