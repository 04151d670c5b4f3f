// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `sluice users`: SCRAM credentials of users, what `kafka-configs.sh --entity-type users`
 * does with `--alter --add-config 'SCRAM-SHA-256=[iterations=8192,password=...]'`,
 * `--delete-config SCRAM-SHA-256` and `--describe`. The salted password is computed here; the
 * password never reaches the broker.
 *
 * @module
 */

import { Admin, Client } from "../client/mod.ts";
import { errorName } from "../protocol/errors.ts";
import { SCRAM_MECHANISMS, type ScramMechanism } from "../protocol/scram.ts";
import { scramUpsertion } from "../client/sasl.ts";
import { parseFlags, parseIntFlag, UsageError } from "./args.ts";
import type { CommandIo } from "./io.ts";
import { COMMAND_CONFIG_HELP, COMMAND_CONFIG_OPTION, commandConfig } from "./command_config.ts";

/** Help text of `sluice users`. */
export const USERS_HELP: string =
  `Usage: sluice users [--bootstrap-server HOST:PORT] [--command-config FILE] ACTION [OPTIONS]

Actions (exactly one):
  --add --user U [--password P] [--mechanism M]... [--iterations N]
                           Set U's SCRAM credential (the password is read from the first line
                           of standard input when --password is not given)
  --describe [--user U]... List users' SCRAM mechanisms and iterations (all users by default)
  --delete --user U [--mechanism M]...
                           Delete U's SCRAM credentials (all of them by default)

Options:
  --bootstrap-server LIST  Brokers to connect to (default localhost:9092)
  --mechanism M            SCRAM-SHA-256 (default for --add) or SCRAM-SHA-512; repeatable
  --iterations N           PBKDF2 iterations, 4096-16384 (default 4096)
${COMMAND_CONFIG_HELP}  -h, --help               Show this help
`;

/**
 * Runs `sluice users`.
 *
 * @param args Arguments after `users`.
 * @param io Where to read and write.
 * @returns The exit code: 0, or 1 when the broker refused a user's change.
 * @throws {UsageError} On bad flags.
 * @throws {KafkaError} When the broker cannot be reached or refuses the request.
 */
export async function runUsers(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, {
    ...COMMAND_CONFIG_OPTION,
    "bootstrap-server": { type: "string", default: "localhost:9092" },
    add: { type: "boolean" },
    describe: { type: "boolean" },
    delete: { type: "boolean" },
    user: { type: "string", multiple: true },
    password: { type: "string" },
    mechanism: { type: "string", multiple: true },
    iterations: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(USERS_HELP);
    return 0;
  }
  const actions = ["add", "describe", "delete"].filter((a) => values[a]);
  if (actions.length !== 1) {
    throw new UsageError("exactly one of --add, --describe or --delete is required");
  }
  const action = actions[0];
  const users = (values.user as string[] | undefined) ?? [];
  if (action !== "describe" && users.length !== 1) {
    throw new UsageError(`--${action} needs exactly one --user`);
  }
  const mechanisms = ((values.mechanism as string[] | undefined) ?? []).map((m) => {
    const name = m.toUpperCase() as ScramMechanism;
    if (!SCRAM_MECHANISMS.has(name)) {
      throw new UsageError(`invalid --mechanism "${m}": expected SCRAM-SHA-256 or SCRAM-SHA-512`);
    }
    return name;
  });
  const iterations = parseIntFlag(values.iterations, "--iterations", 1) ?? 4096;
  let password = values.password as string | undefined;
  if (action === "add" && password === undefined) password = await firstLine(io.stdin);
  if (action === "add" && (password === undefined || password === "")) {
    throw new UsageError("--add needs a password (--password, or a line on standard input)");
  }
  const client = new Client({
    ...(await commandConfig(values["command-config"])),
    bootstrapServers: values["bootstrap-server"] as string,
    clientId: "sluice-users",
  });
  try {
    const admin = new Admin(client);
    if (action === "describe") {
      let failed = false;
      for (const r of await admin.describeUserScramCredentials(users)) {
        if (r.errorCode !== 0) {
          io.stderr(`User ${r.user}: ${errorName(r.errorCode)} (${r.errorMessage ?? ""})\n`);
          failed = true;
          continue;
        }
        io.stdout(
          `SCRAM credential configs for user-principal '${r.user}' are ` +
            r.credentials.map((c) => `${c.mechanism}=iterations=${c.iterations}`).join(", ") +
            "\n",
        );
      }
      return failed ? 1 : 0;
    }
    const user = users[0];
    let results;
    if (action === "add") {
      const upserts = await Promise.all(
        (mechanisms.length === 0 ? ["SCRAM-SHA-256" as const] : mechanisms).map((m) =>
          scramUpsertion(user, m, password!, iterations)
        ),
      );
      results = await admin.alterUserScramCredentials(upserts);
    } else {
      let toDelete = mechanisms;
      if (toDelete.length === 0) {
        const [d] = await admin.describeUserScramCredentials([user]);
        toDelete = d.credentials.map((c) => c.mechanism as ScramMechanism);
        if (d.errorCode !== 0) {
          io.stderr(`User ${user}: ${errorName(d.errorCode)} (${d.errorMessage ?? ""})\n`);
          return 1;
        }
      }
      results = await admin.alterUserScramCredentials(
        [],
        toDelete.map((mechanism) => ({ user, mechanism })),
      );
    }
    const r = results.find((x) => x.user === user);
    if (r === undefined || r.errorCode !== 0) {
      const code = r?.errorCode ?? -1;
      io.stderr(`User ${user}: ${errorName(code)} (${r?.errorMessage ?? "no result"})\n`);
      return 1;
    }
    io.stdout(`Completed updating config for user ${user}.\n`);
    return 0;
  } finally {
    client.close();
  }
}

async function firstLine(stdin: ReadableStream<Uint8Array>): Promise<string | undefined> {
  const reader = stdin.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  const line = text.split(/\r?\n/)[0];
  return line === "" && text === "" ? undefined : line;
}
