// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Cluster mode (docs/CLUSTER.md): brokers coordinated through etcd. {@linkcode ClusterNode} is a
 * broker's part in a cluster (the broker starts one when `controller.etcd.endpoints` is set);
 * its pieces are the etcd v3 client ({@linkcode EtcdClient}), the key layout
 * ({@linkcode MetadataStore}), the broker's registration ({@linkcode Membership}), the
 * controller ({@linkcode Controller}), every broker's copy of the metadata
 * ({@linkcode ClusterView}), replica placement ({@linkcode placeReplicas}), the rules of
 * reassignments and leader elections ({@linkcode startReassignment}, {@linkcode electPreferred}) and the fast path of
 * failure detection ({@linkcode FailureDetector} on a {@linkcode LivenessProber}).
 *
 * @example Read a cluster's brokers and topics from etcd
 * ```ts ignore
 * import { ClusterView, EtcdClient, MetadataStore, silentLogger } from "../mod.ts";
 *
 * const etcd = new EtcdClient({ endpoints: ["http://127.0.0.1:2379"] });
 * const view = new ClusterView({
 *   store: new MetadataStore(etcd, "/sluice/sluice"),
 *   nodeId: -1,
 *   brokerEpoch: () => 0,
 *   logger: silentLogger,
 * });
 * await view.start();
 * console.log(view.brokers(), [...view.topics().keys()]);
 * view.close();
 * etcd.close();
 * ```
 *
 * @module
 */

export { type PlacementBroker, PlacementError, placeReplicas } from "./assignment.ts";
export {
  ClusterError,
  ClusterNode,
  type ClusterParts,
  type CoordinatorLocation,
  type CreatedTopic,
  type CreateTopicSpec,
  type OngoingReassignment,
  type PartitionCoordinator,
  type PartitionOutcome,
} from "./cluster.ts";
export {
  type AlterPartitionRequest,
  type AlterPartitionResult,
  ClusterView,
  type ClusterViewOptions,
  type ReplicaState,
  type ViewChange,
} from "./cluster_view.ts";
export {
  Controller,
  type ControllerOptions,
  imbalancedPartitions,
  nextPartitionState,
} from "./controller.ts";
export {
  type Compare,
  type CompareResult,
  EtcdClient,
  type EtcdClientOptions,
  EtcdError,
  type KeyValue,
  type RangeOptions,
  type RangeResult,
  type TxnOp,
  type TxnOpResult,
  type TxnRequest,
  type TxnResult,
  type Watch,
  type WatchEvent,
  type WatchOptions,
} from "./etcd.ts";
export { FailureDetector, type FailureDetectorOptions } from "./failure_detector.ts";
export {
  LivenessProber,
  type LivenessProberOptions,
  probeListener,
  type ProbeOutcome,
  type ProbeState,
  type ProbeTarget,
} from "./liveness_prober.ts";
export { Membership, type MembershipOptions, type MembershipState } from "./membership.ts";
export {
  type BrokerRegistration,
  type CasResult,
  MAX_TXN_OPS,
  type MetadataKey,
  type MetadataSnapshot,
  MetadataStore,
  type PartitionState,
  type RegisteredListener,
  type TopicRecord,
  type Versioned,
  type WriteFence,
} from "./metadata_store.ts";
export {
  cancelReassignment,
  checkTarget,
  completeReassignment,
  electPreferred,
  electUnclean,
  originalReplicas,
  type PartitionRefusal,
  reassignmentOf,
  type ReplicaChange,
  startReassignment,
} from "./reassignment.ts";
