/**
 * Topic name rules, as Kafka's `Topic.validate`: 1-249 characters from `[a-zA-Z0-9._-]`, not
 * `.` or `..`; and names that differ only by `.` versus `_` collide (metrics names).
 *
 * @module
 */

import { EngineError, ErrorCode } from "./errors.ts";

/** Longest legal topic name. */
export const MAX_TOPIC_NAME_LENGTH = 249;

/**
 * Checks a topic name.
 *
 * @param name Candidate topic name.
 * @throws {EngineError} INVALID_TOPIC_EXCEPTION with the reason.
 *
 * @example
 * ```ts
 * import { validateTopicName } from "./topic_name.ts";
 * validateTopicName("orders.v1");
 * try {
 *   validateTopicName("bad name");
 * } catch (e) {
 *   console.assert((e as { code: number }).code === 17);
 * }
 * ```
 */
export function validateTopicName(name: string): void {
  const fail = (why: string) =>
    new EngineError(ErrorCode.INVALID_TOPIC_EXCEPTION, `invalid topic name "${name}": ${why}`);
  if (typeof name !== "string" || name.length === 0) throw fail("it can't be empty");
  if (name === "." || name === "..") throw fail(`it can't be "." or ".."`);
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    throw fail(`it is ${name.length} characters long, the maximum is ${MAX_TOPIC_NAME_LENGTH}`);
  }
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    throw fail("it contains a character other than ASCII alphanumerics, '.', '_' and '-'");
  }
}

/**
 * The form under which two topic names collide (`.` replaced by `_`).
 *
 * @param name Topic name.
 * @returns The collision key.
 *
 * @example
 * ```ts
 * import { topicCollisionKey } from "./topic_name.ts";
 * console.assert(topicCollisionKey("a.b") === topicCollisionKey("a_b"));
 * ```
 */
export function topicCollisionKey(name: string): string {
  return name.replaceAll(".", "_");
}

/**
 * A new random topic id: 16 random bytes as unpadded base64url (22 characters), never starting
 * with `-` and never all zeros, like Kafka's `Uuid.randomUuid()`.
 *
 * @returns The id.
 *
 * @example
 * ```ts
 * import { newTopicId } from "./topic_name.ts";
 * console.assert(newTopicId().length === 22);
 * ```
 */
export function newTopicId(): string {
  while (true) {
    const b = crypto.getRandomValues(new Uint8Array(16));
    if (b.every((x) => x === 0)) continue;
    let s = "";
    for (const x of b) s += String.fromCharCode(x);
    const id = btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    if (!id.startsWith("-")) return id;
  }
}
