// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The `authorizer.class.name` values, apart from the ACL authorizer (`./authorizer.ts`) so that
 * the configuration can check them without loading it (issue #17).
 *
 * @module
 */

/**
 * The `authorizer.class.name` values that enable the ACL authorizer: Kafka's own class names (so
 * a Kafka `server.properties` works unchanged) and the short `sluice.acl`.
 */
export const AUTHORIZER_CLASS_NAMES: readonly string[] = [
  "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
  "kafka.security.authorizer.AclAuthorizer",
  "kafka.security.auth.SimpleAclAuthorizer",
  "sluice.acl",
];
