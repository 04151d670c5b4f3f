// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Standard input and output: `stdin` reads lines into `topic`, `stdout` prints record values,
 * one per line. They are the file connectors without `file` (as Kafka's are), under names of
 * their own.
 *
 * @module
 */

import type { ConfigDef } from "../config.ts";
import { FileStreamSinkConnector, FileStreamSourceConnector } from "./file.ts";

/** Lines of standard input into `topic` (no offsets: input is not replayable). */
export class StdinSourceConnector extends FileStreamSourceConnector {
  /** `topic`, `batch.size`. */
  override config(): ConfigDef {
    const { file: _file, ...rest } = super.config();
    return rest;
  }
  /** Never reads a file. */
  override start(props: Record<string, string>): void {
    const { file: _file, ...rest } = props;
    super.start(rest);
  }
}

/** Record values to standard output, one per line. */
export class StdoutSinkConnector extends FileStreamSinkConnector {
  /** No settings. */
  override config(): ConfigDef {
    return {};
  }
  /** Never writes a file. */
  override start(_props: Record<string, string>): void {
    super.start({});
  }
}
