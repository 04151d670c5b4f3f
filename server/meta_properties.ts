// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `meta.properties` in the data directory: the cluster id and node id the directory belongs to,
 * as Kafka keeps them. A directory written by one node/cluster is refused by another.
 *
 * @module
 */

import { uuidFromBytes } from "../protocol/primitives.ts";
import { writeFileAtomic } from "../engine/mod.ts";
import { parsePropertiesFile } from "./config.ts";

/** File name of the directory's identity, as in Kafka. */
export const META_PROPERTIES_FILE = "meta.properties";

/** The identity stored in `meta.properties`. */
export interface MetaProperties {
  /** Cluster id (22-character base64url uuid unless configured otherwise). */
  clusterId: string;
  /** Node id. */
  nodeId: number;
}

/**
 * Read `meta.properties` from `dir`, or create it. The configured cluster id wins when the file
 * does not exist yet; an empty one means "generate".
 *
 * @example
 * ```ts
 * import { loadOrCreateMetaProperties } from "./meta_properties.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const first = await loadOrCreateMetaProperties(dir, { nodeId: 1, clusterId: "" });
 * const again = await loadOrCreateMetaProperties(dir, { nodeId: 1, clusterId: "" });
 * strictEqual(again.clusterId, first.clusterId);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param dir The data directory (must exist; needs `--allow-read --allow-write`).
 * @param configured Node id and cluster id from the broker config.
 * @returns The directory's identity.
 * @throws {Error} If the stored node id or cluster id differs from the configured one.
 */
export async function loadOrCreateMetaProperties(
  dir: string,
  configured: MetaProperties,
): Promise<MetaProperties> {
  const file = `${dir}/${META_PROPERTIES_FILE}`;
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (text !== undefined) {
    const props = parsePropertiesFile(text);
    const clusterId = props["cluster.id"] ?? "";
    const nodeId = Number(props["node.id"] ?? props["broker.id"]);
    if (clusterId === "" || !Number.isInteger(nodeId)) {
      throw new Error(`Cannot use data directory ${dir}: ${file} lacks cluster.id or node.id`);
    }
    if (nodeId !== configured.nodeId) {
      throw new Error(
        `Cannot use data directory ${dir}: it belongs to node ${nodeId}, not ${configured.nodeId}`,
      );
    }
    if (configured.clusterId !== "" && configured.clusterId !== clusterId) {
      throw new Error(
        `Cannot use data directory ${dir}: it belongs to cluster ${clusterId}, ` +
          `not ${configured.clusterId}`,
      );
    }
    return { clusterId, nodeId };
  }
  const clusterId = configured.clusterId !== ""
    ? configured.clusterId
    : uuidFromBytes(crypto.getRandomValues(new Uint8Array(16)));
  const body =
    `#Written by Sluice\nversion=1\ncluster.id=${clusterId}\nnode.id=${configured.nodeId}\n`;
  // fsynced, renamed and the directory fsynced: a power loss leaves no empty meta.properties
  await writeFileAtomic(file, new TextEncoder().encode(body));
  return { clusterId, nodeId: configured.nodeId };
}
