// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A deliberately broken broker, to prove the fuzzer notices: runs `cli/main.ts` with the same
 * arguments after breaking one handler, chosen by `SLUICE_FUZZ_BREAK`:
 *
 * - `crash`: a DescribeCluster request that asks for authorized operations throws an uncaught
 *   error from a timer (the process dies).
 * - `hang`: a ListGroups request with a states filter never gets an answer.
 * - `throw`: a Heartbeat with a negative generation id throws a plain `TypeError`
 *   (UNKNOWN_SERVER_ERROR, logged as ERROR).
 * - `leak-files`: every Metadata request opens ten files and never closes them.
 * - `leak-memory`: every Produce request keeps 2 MiB forever.
 *
 * Used only by `fuzz_test.ts`; nothing in the broker knows about it.
 *
 * @module
 */

import { APIS } from "../../server/apis/mod.ts";
import type { ApiHandler, RequestContext } from "../../server/api.ts";
import { main } from "../../cli/main.ts";

type Handle = (ctx: RequestContext, req: Record<string, unknown>) => unknown;

function breakHandler(key: number, wrap: (original: Handle) => Handle): void {
  const api = APIS.find((a) => a.key === key) as ApiHandler & { handle: Handle };
  const original = api.handle.bind(api) as Handle;
  api.handle = wrap(original);
}

const kept: unknown[] = [];
const mode = Deno.env.get("SLUICE_FUZZ_BREAK");
switch (mode) {
  case "crash":
    breakHandler(60, (original) => (ctx, req) => {
      if (req.includeClusterAuthorizedOperations === true) {
        setTimeout(() => {
          throw new Error("deliberate: uncaught error in a timer");
        }, 0);
      }
      return original(ctx, req);
    });
    break;
  case "hang":
    breakHandler(16, (original) => (ctx, req) => {
      if (ctx.version >= 4 && (req.statesFilter as string[]).length > 0) {
        return new Promise(() => {});
      }
      return original(ctx, req);
    });
    break;
  case "throw":
    breakHandler(12, (original) => (ctx, req) => {
      if ((req.generationId as number) < 0) throw new TypeError("deliberate: a plain bug");
      return original(ctx, req);
    });
    break;
  case "leak-files":
    breakHandler(3, (original) => (ctx, req) => {
      for (let i = 0; i < 10; i++) kept.push(Deno.openSync("/dev/null"));
      return original(ctx, req);
    });
    break;
  case "leak-memory":
    breakHandler(0, (original) => (ctx, req) => {
      kept.push(new Uint8Array(2 << 20).fill(1));
      return original(ctx, req);
    });
    break;
  default:
    throw new Error(
      `SLUICE_FUZZ_BREAK must be crash, hang, throw, leak-files or leak-memory, not ${mode}`,
    );
}

Deno.exit(await main(Deno.args));
