// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * FindCoordinator for one key, the lookup the group membership, the admin client and the
 * transaction manager share.
 *
 * @module
 */

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from "../protocol/messages/find_coordinator.ts";
import type { Client } from "./client.ts";

/** FindCoordinator's key types. */
export const COORDINATOR_KEY_TYPE = { group: 0, transaction: 1 } as const;

/**
 * Looks up the coordinator of a group or transactional id on any broker (FindCoordinator v4+
 * with `coordinatorKeys`, older versions with `key`), and again after the client's backoff
 * while the answer is a retriable error, `retries` times at most.
 *
 * @param client The cluster client.
 * @param keyType {@linkcode COORDINATOR_KEY_TYPE}: group (0) or transaction (1).
 * @param key The group id or transactional id.
 * @param retries How many more lookups a retriable error allows.
 * @param what What failed, for the error (e.g. `find coordinator of group g`).
 * @returns The coordinator's node id.
 * @throws {KafkaError} The broker's error (its message in parentheses), once it is not
 *   retriable or the retries are spent.
 */
export async function findCoordinator(
  client: Client,
  keyType: number,
  key: string,
  retries: number,
  what: string,
): Promise<number> {
  for (let attempt = 0;; attempt++) {
    const conn = await client.anyConnection();
    const version = conn.versionFor(FindCoordinatorRequest);
    const res = await conn.send(
      { request: FindCoordinatorRequest, response: FindCoordinatorResponse },
      FindCoordinatorRequest.create(
        version >= 4 ? { keyType, coordinatorKeys: [key] } : { key, keyType },
      ),
      { version },
    );
    const c = version >= 4
      ? res.coordinators[0]
      : { errorCode: res.errorCode, nodeId: res.nodeId, errorMessage: res.errorMessage };
    const code = c?.errorCode ?? ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (code === 0) return c.nodeId;
    if (!new KafkaError(code).retriable || attempt >= retries) {
      throw new KafkaError(code, c?.errorMessage ? `${what} (${c.errorMessage})` : what);
    }
    await client.backoff(attempt);
  }
}
