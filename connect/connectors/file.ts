// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Kafka's quickstart file connectors (`connect-file`): `FileStreamSource` reads the lines of a
 * file (or standard input when `file` is not set) into `topic`, with source partition
 * `{"filename":…}` and offset `{"position":BYTES}`, so a restarted worker resumes after the last
 * stored line; `FileStreamSink` writes each record's value as a line to a file (or standard
 * output).
 *
 * @module
 */

import { SinkConnector, SinkTask, SourceConnector, SourceTask } from "../api.ts";
import type { ConfigDef } from "../config.ts";
import { isObjectValue, type SinkRecord, type SourceRecord, STRING_SCHEMA } from "../data.ts";
import { sleep } from "../sleep.ts";

/** The version of the connectors in the box. */
export const VERSION = "0.1.0";

const SOURCE_CONFIG: ConfigDef = {
  file: { type: "string", default: null, documentation: "Source file; standard input if unset" },
  topic: { type: "string", documentation: "The topic to publish data to" },
  "batch.size": {
    type: "int",
    default: "2000",
    min: 1,
    documentation:
      "The maximum number of records the source task can read from the file each time it is polled",
  },
};

/** Kafka's `FileStreamSourceConnector`: one task reading a file or standard input. */
export class FileStreamSourceConnector extends SourceConnector {
  #props: Record<string, string> = {};
  /** The version. */
  version(): string {
    return VERSION;
  }
  /** `file`, `topic`, `batch.size`. */
  config(): ConfigDef {
    return SOURCE_CONFIG;
  }
  /** Keeps the configuration. */
  start(props: Record<string, string>): void {
    this.#props = props;
  }
  /** {@linkcode FileStreamSourceTask}. */
  taskClass(): typeof FileStreamSourceTask {
    return FileStreamSourceTask;
  }
  /** One task, whatever `tasks.max`. */
  taskConfigs(_maxTasks: number): Record<string, string>[] {
    const c: Record<string, string> = {
      topic: this.#props.topic,
      "batch.size": this.#props["batch.size"] ?? "2000",
    };
    if (this.#props.file) c.file = this.#props.file;
    return [c];
  }
  /** Nothing to stop. */
  stop(): void {}
}

const LF = 0x0a;
const CR = 0x0d;

/** Reads lines of a file from a stored byte position. */
export class FileStreamSourceTask extends SourceTask {
  #file: string | null = null;
  #topic = "";
  #batchSize = 2000;
  #position = 0;
  #reader: Deno.FsFile | ReadableStreamDefaultReader<Uint8Array> | null = null;
  #buffer = new Uint8Array(64 * 1024);
  #length = 0;
  #stopped = false;
  #wake: (() => void) | null = null;
  #decoder = new TextDecoder();
  #eof = false;

  /** The version. */
  version(): string {
    return VERSION;
  }

  /** Reads the stored position of the file. */
  start(props: Record<string, string>): void {
    this.#file = props.file || null;
    this.#topic = props.topic;
    this.#batchSize = Number(props["batch.size"] ?? 2000);
    if (this.#file) {
      const stored = this.context.offsetStorageReader.offset({ filename: this.#file });
      const pos = stored?.position;
      if (typeof pos === "number" && pos >= 0) this.#position = pos;
    }
  }

  async #open(): Promise<boolean> {
    if (this.#reader) return true;
    if (!this.#file) {
      this.#reader = Deno.stdin.readable.getReader();
      return true;
    }
    try {
      const f = await Deno.open(this.#file, { read: true });
      await f.seek(this.#position, Deno.SeekMode.Start);
      this.#reader = f;
      return true;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw new Error(`FileStreamSource: cannot open ${this.#file}: ${(e as Error).message}`);
    }
  }

  async #fill(): Promise<boolean> {
    if (this.#length === this.#buffer.length) {
      const bigger = new Uint8Array(this.#buffer.length * 2);
      bigger.set(this.#buffer);
      this.#buffer = bigger;
    }
    const r = this.#reader!;
    if ("seek" in r) {
      const n = await r.read(this.#buffer.subarray(this.#length));
      if (n === null || n === 0) return false;
      this.#length += n;
      return true;
    }
    const { value, done } = await r.read();
    if (done) {
      this.#eof = true;
      return false;
    }
    while (this.#length + value.length > this.#buffer.length) {
      const bigger = new Uint8Array(this.#buffer.length * 2);
      bigger.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = bigger;
    }
    this.#buffer.set(value, this.#length);
    this.#length += value.length;
    return true;
  }

  /** Extracts the complete lines in the buffer. */
  #lines(out: SourceRecord[]): void {
    let start = 0;
    const b = this.#buffer;
    let i = 0;
    while (i < this.#length && out.length < this.#batchSize) {
      const c = b[i];
      if (c !== LF && c !== CR) {
        i++;
        continue;
      }
      let end = i + 1;
      if (c === CR) {
        if (i + 1 >= this.#length && !this.#eof) break; // a CR LF may be split across reads
        if (b[i + 1] === LF) end++;
      }
      const line = this.#decoder.decode(b.subarray(start, i));
      this.#position += end - start;
      out.push({
        topic: this.#topic,
        kafkaPartition: null,
        key: null,
        keySchema: null,
        valueSchema: STRING_SCHEMA,
        value: line,
        sourcePartition: this.#file ? { filename: this.#file } : {},
        sourceOffset: this.#file ? { position: this.#position } : {},
      });
      start = end;
      i = end;
    }
    b.copyWithin(0, start, this.#length);
    this.#length -= start;
  }

  #sleep(ms: number): Promise<void> {
    return sleep(ms, (wake) => (this.#wake = wake));
  }

  /** Up to `batch.size` complete lines; waits a little at the end of the file. */
  async poll(): Promise<SourceRecord[] | null> {
    if (this.#stopped) return null;
    if (!await this.#open()) {
      await this.#sleep(1000);
      return null;
    }
    const out: SourceRecord[] = [];
    this.#lines(out);
    while (out.length < this.#batchSize && !this.#stopped) {
      if (!await this.#fill()) break;
      this.#lines(out);
    }
    if (out.length === 0) {
      if (this.#eof) this.#stopped = true;
      else await this.#sleep(200);
      return null;
    }
    return out;
  }

  /** Closes the file. */
  stop(): void {
    this.#stopped = true;
    this.#wake?.();
    const r = this.#reader;
    this.#reader = null;
    if (r && "seek" in r) {
      try {
        r.close();
      } catch {
        // already closed
      }
    } else if (r) r.releaseLock();
  }
}

const SINK_CONFIG: ConfigDef = {
  file: {
    type: "string",
    default: null,
    documentation: "Destination file; standard output if unset",
  },
};

/** Kafka's `FileStreamSinkConnector`: one line per record value. */
export class FileStreamSinkConnector extends SinkConnector {
  #props: Record<string, string> = {};
  /** The version. */
  version(): string {
    return VERSION;
  }
  /** `file`. */
  config(): ConfigDef {
    return SINK_CONFIG;
  }
  /** Keeps the configuration. */
  start(props: Record<string, string>): void {
    this.#props = props;
  }
  /** {@linkcode FileStreamSinkTask}. */
  taskClass(): typeof FileStreamSinkTask {
    return FileStreamSinkTask;
  }
  /** `tasks.max` identical tasks (all appending to the same file). */
  taskConfigs(maxTasks: number): Record<string, string>[] {
    return Array.from(
      { length: maxTasks },
      (): Record<string, string> => (this.#props.file ? { file: this.#props.file } : {}),
    );
  }
  /** Nothing to stop. */
  stop(): void {}
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function lineOf(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof Uint8Array) return decoder.decode(value);
  if (isObjectValue(value) || Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}

/** Appends record values as lines. */
export class FileStreamSinkTask extends SinkTask {
  #file: Deno.FsFile | null = null;
  /** The version. */
  version(): string {
    return VERSION;
  }
  /** Opens the file for appending. */
  async start(props: Record<string, string>): Promise<void> {
    if (props.file) {
      this.#file = await Deno.open(props.file, { append: true, create: true });
    }
  }
  /** Writes the values, one line each. */
  async put(records: SinkRecord[]): Promise<void> {
    if (records.length === 0) return;
    let text = "";
    for (const r of records) text += lineOf(r.value) + "\n";
    const bytes = encoder.encode(text);
    const out = this.#file ?? Deno.stdout;
    let off = 0;
    while (off < bytes.length) off += await out.write(bytes.subarray(off));
  }
  /** Syncs the file to disk. */
  override async flush(_offsets: Map<string, number>): Promise<void> {
    await this.#file?.syncData();
  }
  /** Closes the file. */
  stop(): void {
    this.#file?.close();
    this.#file = null;
  }
}
