/* Copyright 2026 the Sluice authors. Apache-2.0 license.
 *
 * mock_cluster: librdkafka's in-memory mock cluster (rd_kafka_mock_cluster_new) as a peer broker
 * for Sluice's load tool (bench/e2e/main.ts --peer mock). A C broker that keeps produced batches
 * in memory without parsing their records: the floor for "a Kafka broker on this machine".
 *
 *   mock_cluster [BROKERS]
 *
 * Prints {"bootstrap":"host:port"} on stdout, then reads commands from stdin, one a line:
 *
 *   topic NAME PARTITIONS   create a topic (the mock has no CreateTopics API); prints {"ok":true}
 *                           or {"error":"..."}
 *
 * and exits when stdin ends. Built by the load tool with: cc -O2 -o mock_cluster mock_cluster.c
 * -lrdkafka
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  char err[512];
  int brokers = argc > 1 ? atoi(argv[1]) : 1;
  if (brokers < 1) brokers = 1;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err); /* no "no bootstrap.servers" */
  /* The handle only hosts the cluster's thread; it connects nowhere. */
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    printf("{\"error\":\"mock cluster: %s\"}\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    printf("{\"error\":\"mock cluster: rd_kafka_mock_cluster_new failed\"}\n");
    return 1;
  }
  printf("{\"bootstrap\":\"%s\",\"librdkafka\":\"%s\"}\n", rd_kafka_mock_cluster_bootstraps(mc),
         rd_kafka_version_str());
  fflush(stdout);
  char line[1024];
  while (fgets(line, sizeof line, stdin)) {
    char name[512];
    int partitions;
    if (sscanf(line, "topic %511s %d", name, &partitions) == 2 && partitions > 0) {
      rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, partitions, 1);
      if (e) printf("{\"error\":\"topic %s: %s\"}\n", name, rd_kafka_err2str(e));
      else printf("{\"ok\":true}\n");
    } else {
      printf("{\"error\":\"unknown command: expected topic NAME PARTITIONS\"}\n");
    }
    fflush(stdout);
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
