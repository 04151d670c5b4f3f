// Copyright 2026 the Sluice authors. Apache-2.0 license.
// DescribeCluster (key 60): served v0-v1 (flexible from v0).
// - One broker (us), controller = us, the cluster id from meta.properties, authorized operations
//   not computed (INT32_MIN). v1 endpoint_type: BROKERS (1) served; CONTROLLERS (2) gets
//   UNSUPPORTED_ENDPOINT_TYPE (we have no separate controller endpoint).
// - Cluster mode (docs/CLUSTER.md): the registered brokers and the elected controller (-1 while
//   none is), from the cluster view.
// - ACLs: none (every client may describe the brokers, as in Kafka);
//   include_cluster_authorized_operations answers the principal's operations on the cluster
//   (`../security/access.ts`).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  createDescribeClusterResponse,
  createDescribeClusterResponseBroker,
  DescribeClusterRequest,
  DescribeClusterResponse,
} from "../../protocol/messages/describe_cluster.ts";
import { advertisedEndpoint, type ApiHandler, defineApi, registeredEndpoint } from "../api.ts";
import { AUTHORIZED_OPERATIONS_OMITTED } from "./metadata.ts";
import { authorizedOperations } from "../security/access.ts";
import { ResourceType } from "../security/acl.ts";

/** DescribeCluster handler. */
export const describeCluster: ApiHandler = defineApi<
  DescribeClusterRequest,
  DescribeClusterResponse
>({
  minVersion: 0,
  maxVersion: 1,
  request: DescribeClusterRequest,
  response: DescribeClusterResponse,
  handle(ctx, req) {
    const broker = ctx.broker;
    if (ctx.version >= 1 && req.endpointType !== 1) {
      return createDescribeClusterResponse({
        errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: `Endpoint type ${req.endpointType} is not supported; use 1 (brokers)`,
        endpointType: req.endpointType,
        clusterId: broker.clusterId,
        controllerId: -1,
        clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      });
    }
    const cluster = broker.cluster;
    // the endpoints of the listener the request came in on, as Kafka answers
    const listener = ctx.connection.listenerName;
    const brokers = cluster !== undefined
      ? cluster.liveBrokers().map((b) => ({ ...b, ...registeredEndpoint(b, listener) }))
      : [{ id: broker.nodeId, ...advertisedEndpoint(broker, ctx.connection), rack: null }];
    return createDescribeClusterResponse({
      errorCode: 0,
      errorMessage: null,
      endpointType: req.endpointType,
      clusterId: broker.clusterId,
      controllerId: cluster !== undefined ? cluster.view.controllerId : broker.nodeId,
      brokers: brokers.map((b) =>
        createDescribeClusterResponseBroker({
          brokerId: b.id,
          host: b.host,
          port: b.port,
          rack: b.rack,
        })
      ),
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations
        ? authorizedOperations(ctx, ResourceType.CLUSTER)
        : AUTHORIZED_OPERATIONS_OMITTED,
    });
  },
  errorResponse(req, errorCode, message) {
    return createDescribeClusterResponse({
      errorCode,
      errorMessage: message,
      endpointType: req.endpointType,
    });
  },
});
