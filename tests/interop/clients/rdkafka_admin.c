/* Copyright 2026 the Sluice authors. Apache-2.0 license.
 *
 * librdkafka's consumer-group Admin API as a small JSON CLI, driven by
 * tests/interop/modern_librdkafka_test.ts (confluent-kafka 1.7.0 has none of these calls). The
 * test compiles it with cc against each librdkafka it checks (Debian's 2.0.2 and 2.15.1 built by
 * tools/librdkafka.ts).
 *
 * Usage: rdkafka_admin BOOTSTRAP COMMAND [ARGS]
 *   version                             {"version": "2.15.1"}
 *   list_groups                         {"groups": [{"group", "state", "simple"}], "errors": [str]}
 *   describe_groups GROUP...            {"groups": {GROUP: {"error", "state", "simple", "assignor",
 *                                        "coordinator", "members": [{"client_id", "consumer_id",
 *                                        "host", "assignment": [[topic, partition]]}]}}}
 *   list_offsets GROUP [TOPIC:PART...]  {"error", "offsets": [{"topic", "partition", "offset",
 *                                        "metadata", "error"}]}; no partitions: all the group has
 *   alter_offsets GROUP TOPIC:PART:OFFSET...   {"error", "offsets": [...]} (as list_offsets)
 *   delete_offsets GROUP TOPIC:PART...  {"error", "offsets": [...]}
 *   delete_group GROUP                  {"error"}
 *   describe_cluster                    {"cluster_id", "controller", "nodes": [{"id", "host",
 *                                        "port"}]} (librdkafka >= 2.3)
 * Errors are librdkafka's error names (e.g. "GROUP_ID_NOT_FOUND") or null. A failed call prints
 * {"error": "<what failed>: <detail>"} and exits 1. RDKAFKA_DEBUG=<contexts> sets `debug`.
 */

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rd_kafka_t *rk;
static rd_kafka_queue_t *queue;

static void json_str(const char *s) {
  if (s == NULL) {
    fputs("null", stdout);
    return;
  }
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') printf("\\%c", *p);
    else if (*p < 0x20) printf("\\u%04x", *p);
    else putchar(*p);
  }
  putchar('"');
}

static void fail(const char *what, const char *detail) {
  printf("{\"error\": ");
  char buf[1024];
  snprintf(buf, sizeof(buf), "%s: %s", what, detail);
  json_str(buf);
  printf("}\n");
  exit(1);
}

static const char *err_name(rd_kafka_resp_err_t err) {
  return err ? rd_kafka_err2name(err) : NULL;
}

static const char *error_name(const rd_kafka_error_t *err) {
  return err ? rd_kafka_error_name(err) : NULL;
}

/* Parses TOPIC:PART[:OFFSET] arguments into a partition list. */
static rd_kafka_topic_partition_list_t *parse_partitions(int argc, char **argv, int with_offset) {
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(argc);
  for (int i = 0; i < argc; i++) {
    char *arg = strdup(argv[i]);
    char *colon = strchr(arg, ':');
    if (colon == NULL) fail("partition argument", argv[i]);
    *colon = '\0';
    char *rest = colon + 1;
    char *colon2 = strchr(rest, ':');
    if (with_offset != (colon2 != NULL)) fail("partition argument", argv[i]);
    if (colon2) *colon2 = '\0';
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(list, arg, atoi(rest));
    if (colon2) tp->offset = strtoll(colon2 + 1, NULL, 10);
    free(arg);
  }
  return list;
}

static void print_partitions(const rd_kafka_topic_partition_list_t *list) {
  printf("[");
  for (int i = 0; list && i < list->cnt; i++) {
    const rd_kafka_topic_partition_t *tp = &list->elems[i];
    printf("%s{\"topic\": ", i ? ", " : "");
    json_str(tp->topic);
    printf(", \"partition\": %d, \"offset\": %lld, \"metadata\": ", tp->partition,
           (long long)tp->offset);
    if (tp->metadata) {
      char *md = strndup(tp->metadata, tp->metadata_size);
      json_str(md);
      free(md);
    } else {
      fputs("null", stdout);
    }
    printf(", \"error\": ");
    json_str(err_name(tp->err));
    printf("}");
  }
  printf("]");
}

static rd_kafka_AdminOptions_t *options(rd_kafka_admin_op_t op) {
  char errstr[512];
  rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
  if (rd_kafka_AdminOptions_set_request_timeout(o, 10000, errstr, sizeof(errstr)))
    fail("admin options", errstr);
  return o;
}

/* Waits for the admin result event of type `type`. */
static rd_kafka_event_t *wait_result(rd_kafka_event_type_t type, const char *what) {
  rd_kafka_event_t *ev = rd_kafka_queue_poll(queue, 20000);
  if (ev == NULL) fail(what, "no result within 20 s");
  if (rd_kafka_event_type(ev) != type) fail(what, rd_kafka_event_name(ev));
  if (rd_kafka_event_error(ev)) fail(what, rd_kafka_event_error_string(ev));
  return ev;
}

/* Prints the one group result of a ListConsumerGroupOffsets, AlterConsumerGroupOffsets or
 * DeleteConsumerGroupOffsets call. */
static void print_group_result(const rd_kafka_group_result_t **groups, size_t n) {
  if (n != 1) fail("group result", "expected exactly one group");
  printf("{\"error\": ");
  json_str(error_name(rd_kafka_group_result_error(groups[0])));
  printf(", \"offsets\": ");
  print_partitions(rd_kafka_group_result_partitions(groups[0]));
  printf("}\n");
}

static void list_groups(void) {
  rd_kafka_ListConsumerGroups(rk, options(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS), queue);
  rd_kafka_event_t *ev = wait_result(RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT,
                                     "ListConsumerGroups");
  const rd_kafka_ListConsumerGroups_result_t *res = rd_kafka_event_ListConsumerGroups_result(ev);
  size_t n, nerr;
  const rd_kafka_ConsumerGroupListing_t **valid =
      rd_kafka_ListConsumerGroups_result_valid(res, &n);
  const rd_kafka_error_t **errors = rd_kafka_ListConsumerGroups_result_errors(res, &nerr);
  printf("{\"groups\": [");
  for (size_t i = 0; i < n; i++) {
    printf("%s{\"group\": ", i ? ", " : "");
    json_str(rd_kafka_ConsumerGroupListing_group_id(valid[i]));
    printf(", \"state\": ");
    json_str(rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(valid[i])));
    printf(", \"simple\": %s}",
           rd_kafka_ConsumerGroupListing_is_simple_consumer_group(valid[i]) ? "true" : "false");
  }
  printf("], \"errors\": [");
  for (size_t i = 0; i < nerr; i++) {
    printf("%s", i ? ", " : "");
    json_str(rd_kafka_error_string(errors[i]));
  }
  printf("]}\n");
  rd_kafka_event_destroy(ev);
}

static void describe_groups(int argc, char **argv) {
  rd_kafka_DescribeConsumerGroups(rk, (const char **)argv, argc,
                                  options(RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS), queue);
  rd_kafka_event_t *ev = wait_result(RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT,
                                     "DescribeConsumerGroups");
  size_t n;
  const rd_kafka_ConsumerGroupDescription_t **groups =
      rd_kafka_DescribeConsumerGroups_result_groups(
          rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
  printf("{\"groups\": {");
  for (size_t i = 0; i < n; i++) {
    const rd_kafka_ConsumerGroupDescription_t *g = groups[i];
    printf("%s", i ? ", " : "");
    json_str(rd_kafka_ConsumerGroupDescription_group_id(g));
    printf(": {\"error\": ");
    json_str(error_name(rd_kafka_ConsumerGroupDescription_error(g)));
    printf(", \"state\": ");
    json_str(rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(g)));
    printf(", \"simple\": %s, \"assignor\": ",
           rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(g) ? "true" : "false");
    json_str(rd_kafka_ConsumerGroupDescription_partition_assignor(g));
    const rd_kafka_Node_t *coord = rd_kafka_ConsumerGroupDescription_coordinator(g);
    printf(", \"coordinator\": %d, \"members\": [", coord ? rd_kafka_Node_id(coord) : -1);
    size_t members = rd_kafka_ConsumerGroupDescription_member_count(g);
    for (size_t m = 0; m < members; m++) {
      const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(g, m);
      printf("%s{\"client_id\": ", m ? ", " : "");
      json_str(rd_kafka_MemberDescription_client_id(md));
      printf(", \"consumer_id\": ");
      json_str(rd_kafka_MemberDescription_consumer_id(md));
      printf(", \"host\": ");
      json_str(rd_kafka_MemberDescription_host(md));
      printf(", \"assignment\": [");
      const rd_kafka_topic_partition_list_t *parts =
          rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(md));
      for (int p = 0; parts && p < parts->cnt; p++) {
        printf("%s[", p ? ", " : "");
        json_str(parts->elems[p].topic);
        printf(", %d]", parts->elems[p].partition);
      }
      printf("]}");
    }
    printf("]}");
  }
  printf("}}\n");
  rd_kafka_event_destroy(ev);
}

static void list_offsets(const char *group, int argc, char **argv) {
  rd_kafka_topic_partition_list_t *parts = argc ? parse_partitions(argc, argv, 0) : NULL;
  rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, parts);
  rd_kafka_ListConsumerGroupOffsets(rk, &req, 1,
                                    options(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS), queue);
  rd_kafka_event_t *ev = wait_result(RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT,
                                     "ListConsumerGroupOffsets");
  size_t n;
  const rd_kafka_group_result_t **groups = rd_kafka_ListConsumerGroupOffsets_result_groups(
      rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
  print_group_result(groups, n);
  rd_kafka_event_destroy(ev);
  rd_kafka_ListConsumerGroupOffsets_destroy(req);
  if (parts) rd_kafka_topic_partition_list_destroy(parts);
}

static void alter_offsets(const char *group, int argc, char **argv) {
  rd_kafka_topic_partition_list_t *parts = parse_partitions(argc, argv, 1);
  rd_kafka_AlterConsumerGroupOffsets_t *req = rd_kafka_AlterConsumerGroupOffsets_new(group, parts);
  rd_kafka_AlterConsumerGroupOffsets(rk, &req, 1,
                                     options(RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS), queue);
  rd_kafka_event_t *ev = wait_result(RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT,
                                     "AlterConsumerGroupOffsets");
  size_t n;
  const rd_kafka_group_result_t **groups = rd_kafka_AlterConsumerGroupOffsets_result_groups(
      rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n);
  print_group_result(groups, n);
  rd_kafka_event_destroy(ev);
  rd_kafka_AlterConsumerGroupOffsets_destroy(req);
  rd_kafka_topic_partition_list_destroy(parts);
}

static void delete_offsets(const char *group, int argc, char **argv) {
  rd_kafka_topic_partition_list_t *parts = parse_partitions(argc, argv, 0);
  rd_kafka_DeleteConsumerGroupOffsets_t *req =
      rd_kafka_DeleteConsumerGroupOffsets_new(group, parts);
  rd_kafka_DeleteConsumerGroupOffsets(
      rk, &req, 1, options(RD_KAFKA_ADMIN_OP_DELETECONSUMERGROUPOFFSETS), queue);
  rd_kafka_event_t *ev = wait_result(RD_KAFKA_EVENT_DELETECONSUMERGROUPOFFSETS_RESULT,
                                     "DeleteConsumerGroupOffsets");
  size_t n;
  const rd_kafka_group_result_t **groups = rd_kafka_DeleteConsumerGroupOffsets_result_groups(
      rd_kafka_event_DeleteConsumerGroupOffsets_result(ev), &n);
  print_group_result(groups, n);
  rd_kafka_event_destroy(ev);
  rd_kafka_DeleteConsumerGroupOffsets_destroy(req);
  rd_kafka_topic_partition_list_destroy(parts);
}

static void delete_group(const char *group) {
  rd_kafka_DeleteGroup_t *req = rd_kafka_DeleteGroup_new(group);
  rd_kafka_DeleteGroups(rk, &req, 1, options(RD_KAFKA_ADMIN_OP_DELETEGROUPS), queue);
  rd_kafka_event_t *ev = wait_result(RD_KAFKA_EVENT_DELETEGROUPS_RESULT, "DeleteGroups");
  size_t n;
  const rd_kafka_group_result_t **groups =
      rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
  if (n != 1) fail("DeleteGroups", "expected exactly one group");
  printf("{\"error\": ");
  json_str(error_name(rd_kafka_group_result_error(groups[0])));
  printf("}\n");
  rd_kafka_event_destroy(ev);
  rd_kafka_DeleteGroup_destroy(req);
}

static void describe_cluster(void) {
#if RD_KAFKA_VERSION >= 0x020300ff
  rd_kafka_DescribeCluster(rk, options(RD_KAFKA_ADMIN_OP_DESCRIBECLUSTER), queue);
  rd_kafka_event_t *ev = wait_result(RD_KAFKA_EVENT_DESCRIBECLUSTER_RESULT, "DescribeCluster");
  const rd_kafka_DescribeCluster_result_t *res = rd_kafka_event_DescribeCluster_result(ev);
  size_t n;
  const rd_kafka_Node_t **nodes = rd_kafka_DescribeCluster_result_nodes(res, &n);
  const rd_kafka_Node_t *controller = rd_kafka_DescribeCluster_result_controller(res);
  printf("{\"cluster_id\": ");
  json_str(rd_kafka_DescribeCluster_result_cluster_id(res));
  printf(", \"controller\": %d, \"nodes\": [", controller ? rd_kafka_Node_id(controller) : -1);
  for (size_t i = 0; i < n; i++) {
    printf("%s{\"id\": %d, \"host\": ", i ? ", " : "", rd_kafka_Node_id(nodes[i]));
    json_str(rd_kafka_Node_host(nodes[i]));
    printf(", \"port\": %u}", (unsigned)rd_kafka_Node_port(nodes[i]));
  }
  printf("]}\n");
  rd_kafka_event_destroy(ev);
#else
  fail("describe_cluster", "needs librdkafka >= 2.3");
#endif
}

int main(int argc, char **argv) {
  if (argc < 3) fail("usage", "rdkafka_admin BOOTSTRAP COMMAND [ARGS]");
  const char *cmd = argv[2];
  if (strcmp(cmd, "version") == 0) {
    printf("{\"version\": ");
    json_str(rd_kafka_version_str());
    printf("}\n");
    return 0;
  }
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], errstr, sizeof(errstr)))
    fail("config", errstr);
  const char *debug = getenv("RDKAFKA_DEBUG");
  if (debug && rd_kafka_conf_set(conf, "debug", debug, errstr, sizeof(errstr)))
    fail("config", errstr);
  rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == NULL) fail("rd_kafka_new", errstr);
  queue = rd_kafka_queue_new(rk);
  int nargs = argc - 3;
  char **args = argv + 3;
  if (strcmp(cmd, "list_groups") == 0) {
    list_groups();
  } else if (strcmp(cmd, "describe_groups") == 0 && nargs > 0) {
    describe_groups(nargs, args);
  } else if (strcmp(cmd, "list_offsets") == 0 && nargs > 0) {
    list_offsets(args[0], nargs - 1, args + 1);
  } else if (strcmp(cmd, "alter_offsets") == 0 && nargs > 1) {
    alter_offsets(args[0], nargs - 1, args + 1);
  } else if (strcmp(cmd, "delete_offsets") == 0 && nargs > 1) {
    delete_offsets(args[0], nargs - 1, args + 1);
  } else if (strcmp(cmd, "delete_group") == 0 && nargs == 1) {
    delete_group(args[0]);
  } else if (strcmp(cmd, "describe_cluster") == 0) {
    describe_cluster();
  } else {
    fail("usage", "unknown command or wrong arguments");
  }
  fflush(stdout);
  rd_kafka_queue_destroy(queue);
  rd_kafka_destroy(rk);
  return 0;
}
