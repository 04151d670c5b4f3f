/**
 * Output and input plumbing for the `sluice` commands, so commands can be driven in-process.
 *
 * @module
 */

/** Where a command reads and writes. */
export interface CommandIo {
  /** Writes text to standard output. */
  stdout(text: string): void;
  /** Writes text to standard error. */
  stderr(text: string): void;
  /** Standard input. */
  stdin: ReadableStream<Uint8Array>;
  /** Whether standard input is a terminal. */
  stdinIsTerminal: boolean;
}

const encoder = new TextEncoder();

/**
 * The process's real standard streams.
 *
 * @returns A {@linkcode CommandIo} over `Deno.stdout`, `Deno.stderr` and `Deno.stdin`.
 */
export function processIo(): CommandIo {
  return {
    stdout: (text) => writeAll(Deno.stdout, encoder.encode(text)),
    stderr: (text) => writeAll(Deno.stderr, encoder.encode(text)),
    // at first use: Deno loads its web streams for the first `readable` (`sluice broker` reads
    // no input and does not wait for them, issue #17)
    get stdin() {
      return Deno.stdin.readable;
    },
    get stdinIsTerminal() {
      return Deno.stdin.isTerminal();
    },
  };
}

function writeAll(w: { writeSync(p: Uint8Array): number }, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += w.writeSync(data.subarray(off));
}
