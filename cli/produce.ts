/**
 * `sluice produce`: one record per standard-input line, like `kafka-console-producer.sh`.
 *
 * @module
 */

import {
  Client,
  Compression,
  type CompressionName,
  Producer,
  type ProducerMessage,
} from "../client/mod.ts";
import {
  isTrue,
  parseFlags,
  parseIntFlag,
  parseKeyValues,
  unescapeSeparator,
  UsageError,
} from "./args.ts";
import type { CommandIo } from "./io.ts";
import { COMMAND_CONFIG_OPTION, commandConfig } from "./command_config.ts";

/** Help text of `sluice produce`. */
export const PRODUCE_HELP: string =
  `Usage: sluice produce [--bootstrap-server HOST:PORT] --topic T [OPTIONS]

Reads standard input and sends one record per line (a "> " prompt is shown on a terminal).

Options:
  --bootstrap-server LIST      Brokers to connect to (default localhost:9092; alias --broker-list)
  --command-config FILE        Client properties: security.protocol, ssl.*, sasl.*
                               (alias --producer.config)
  --topic T                    Topic to produce to (required)
  --partition P                Send every record to partition P (default: key hash / sticky)
  --acks N                     0, 1 or -1/all (default -1)
  --compression-codec C        none (or uncompressed), gzip, snappy, lz4 or zstd (default none)
  --property parse.key=true    Split each line into key and value
  --property key.separator=S   Separator between key and value (default a tab)
  -h, --help                   Show this help
`;

/**
 * Runs `sluice produce`.
 *
 * @param args Arguments after `produce`.
 * @param io Where to read lines and write the prompt.
 * @returns The exit code.
 * @throws {UsageError} On bad flags.
 * @throws {UsageError} Also on a line without the key separator (the lines before it are sent
 *   first).
 * @throws {KafkaError} When the broker rejects the records.
 */
export async function runProduce(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, {
    ...COMMAND_CONFIG_OPTION,
    "bootstrap-server": { type: "string" },
    "producer.config": { type: "string" },
    "broker-list": { type: "string" },
    topic: { type: "string" },
    partition: { type: "string" },
    acks: { type: "string", default: "-1" },
    "compression-codec": { type: "string", default: "none" },
    property: { type: "string", multiple: true },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(PRODUCE_HELP);
    return 0;
  }
  const topic = values.topic as string | undefined;
  if (!topic) throw new UsageError("--topic is required");
  const acksText = String(values.acks);
  const acks = acksText === "all" ? -1 : Number(acksText);
  if (acks !== 0 && acks !== 1 && acks !== -1) {
    throw new UsageError(`invalid --acks "${acksText}": expected 0, 1, -1 or all`);
  }
  const partition = parseIntFlag(values.partition, "--partition", 0);
  // every codec the broker handles; "uncompressed" is the broker's compression.type word for none
  const codec = String(values["compression-codec"]).toLowerCase();
  const compression = codec === "uncompressed" ? "none" : codec;
  if (!Object.hasOwn(Compression, compression)) {
    throw new UsageError(
      `invalid --compression-codec "${values["compression-codec"]}": expected none ` +
        `(uncompressed), gzip, snappy, lz4 or zstd`,
    );
  }
  const props = parseKeyValues(values.property as string[] | undefined, "--property");
  const parseKey = isTrue(props["parse.key"]);
  const separator = unescapeSeparator(props["key.separator"] ?? "\t");
  if (separator === "") throw new UsageError("invalid --property key.separator: must not be empty");

  const client = new Client({
    ...(await commandConfig(
      values["command-config"] ?? values["producer.config"],
      values["command-config"] === undefined ? "--producer.config" : "--command-config",
    )),
    bootstrapServers: (values["bootstrap-server"] ?? values["broker-list"] ??
      "localhost:9092") as string,
    clientId: "sluice-producer",
  });
  const producer = new Producer(client, {
    acks,
    compression: compression as CompressionName,
    lingerMs: 5,
  });
  const pending: Promise<unknown>[] = [];
  let failure: unknown;
  try {
    // no broker: fail now (refused connections are explained by main), not after the
    // producer's delivery timeout
    await client.anyConnection();
    let lineNumber = 0;
    const prompt = io.stdinIsTerminal ? () => io.stdout(">") : () => {};
    prompt();
    for await (const line of readLines(io.stdin)) {
      lineNumber++;
      const message: ProducerMessage = { value: line };
      if (parseKey) {
        const at = line.indexOf(separator);
        if (at === -1) {
          // as Kafka's console producer: the lines before are sent, then the command fails
          await producer.flush();
          await Promise.allSettled(pending);
          if (failure) throw failure;
          throw new UsageError(`no key separator found on line number ${lineNumber}: '${line}'`);
        }
        message.key = line.slice(0, at);
        message.value = line.slice(at + separator.length);
      }
      if (partition !== undefined) message.partition = partition;
      const sent = producer.send({ topic, messages: [message] });
      sent.catch((e) => failure ??= e);
      pending.push(sent);
      if (io.stdinIsTerminal) {
        await sent;
        prompt();
      }
      if (failure) throw failure;
      if (pending.length >= 10_000) {
        // Bound memory on long inputs: wait for what is in flight before reading on.
        await producer.flush();
        await Promise.allSettled(pending);
        pending.length = 0;
        if (failure) throw failure;
      }
    }
    await producer.flush();
    await Promise.allSettled(pending);
    if (failure) throw failure;
    return 0;
  } finally {
    await producer.close().catch(() => {});
    await client.close();
  }
}

/**
 * Splits a byte stream into lines (without `\n` or `\r\n`); a last line without a newline is
 * still returned.
 *
 * @param stream The input.
 * @returns The lines.
 */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) !== -1) {
      let line = buffered.slice(0, nl);
      if (line.endsWith("\r")) line = line.slice(0, -1);
      buffered = buffered.slice(nl + 1);
      yield line;
    }
  }
  buffered += decoder.decode();
  if (buffered !== "") yield buffered.endsWith("\r") ? buffered.slice(0, -1) : buffered;
}
