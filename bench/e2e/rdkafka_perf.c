/* Copyright 2026 the Sluice authors. Apache-2.0 license.
 *
 * rdkafka_perf: the librdkafka side of Sluice's end-to-end load tool (bench/e2e/main.ts).
 *
 *   rdkafka_perf produce BOOTSTRAP TOPIC PARTITIONS RECORDS SIZE ACKS RATE
 *   rdkafka_perf consume BOOTSTRAP TOPIC PARTITIONS RECORDS IDLE_MS
 *
 * Every value is SIZE bytes (SIZE >= 16): bytes 0-7 hold the send time in microseconds since the
 * epoch (CLOCK_REALTIME, little-endian), bytes 8-15 the record's sequence number 0..RECORDS-1; the
 * rest is filler. Record i goes to partition i % PARTITIONS. RATE 0 means "as fast as possible",
 * else records are paced to RATE per second. The consumer reads every partition from offset 0
 * until it has RECORDS distinct sequence numbers (or nothing arrived for IDLE_MS), measures
 * end-to-end latency (receipt time - send time) and counts duplicates; its "seconds" run from
 * "ready" to the last record. Both modes print one JSON object on stdout, with the process's CPU
 * seconds (all threads) while producing or from "ready" on; the consumer first
 * prints {"ready":true} once every partition is being fetched.
 *
 * Built by the load tool with: cc -O2 -o rdkafka_perf rdkafka_perf.c -lrdkafka
 */
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds of this process, every thread, user + system. */
static double cpu_s(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static void fail(const char *what, const char *detail) {
  printf("{\"error\":\"%s: %s\"}\n", what, detail);
  fflush(stdout);
  exit(1);
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) fail(k, err);
}

/* Trailing "-X key=value" arguments (as kcat's), e.g. -X security.protocol=ssl: set last. */
static char **extra_conf = NULL;
static int extra_count = 0;

static void set_extra(rd_kafka_conf_t *conf) {
  for (int i = 0; i < extra_count; i++) {
    char *kv = strdup(extra_conf[i]);
    char *eq = strchr(kv, '=');
    if (!eq) fail("-X", "expected key=value");
    *eq = '\0';
    set(conf, kv, eq + 1);
    free(kv);
  }
}

static long delivered = 0, delivery_errors = 0;
static char first_error[256] = "";

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) {
    if (delivery_errors++ == 0) snprintf(first_error, sizeof first_error, "%s", rd_kafka_err2str(m->err));
  } else {
    delivered++;
  }
}

static int produce(const char *bootstrap, const char *topic, int partitions, long records, int size,
                   const char *acks, long rate) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "acks", acks);
  /* Paced (latency) runs: no linger, and at most 5 requests in flight (the Java client's default)
   * so that records arriving meanwhile share a batch instead of one request each. */
  set(conf, "linger.ms", rate > 0 ? "0" : "5");
  if (rate > 0) set(conf, "max.in.flight.requests.per.connection", "5");
  set(conf, "batch.num.messages", "10000");
  set(conf, "batch.size", "1000000");
  set(conf, "queue.buffering.max.messages", "2000000");
  set(conf, "queue.buffering.max.kbytes", "1048576");
  set(conf, "enable.idempotence", "false");
  set(conf, "compression.codec", "none");
  set(conf, "message.timeout.ms", "120000");
  set_extra(conf);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) fail("producer", err);
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  unsigned char *buf = calloc(1, (size_t)size);
  for (int i = 16; i < size; i++) buf[i] = (unsigned char)('a' + i % 26);
  double start = mono_s(), cpu0 = cpu_s();
  int64_t start_us = now_us();
  for (long i = 0; i < records; i++) {
    if (rate > 0) {
      /* Hand over what is due, then sleep about a millisecond (as client_worker.ts does): at 50k
       * rec/s a record is due every 20 us, and spinning until each one was due kept a whole core
       * busy, which on this 2-core machine was taken from the broker and the consumer. Every record
       * is still stamped when it is handed to librdkafka. */
      int64_t due = start_us + (int64_t)((double)i * 1e6 / (double)rate);
      int64_t t = now_us();
      if (t < due) {
        rd_kafka_poll(rk, 0);
        int64_t wait = due - t < 1000 ? 1000 : due - t;
        struct timespec ts = {0, wait * 1000};
        nanosleep(&ts, NULL);
      }
    }
    put64(buf, (uint64_t)now_us());
    put64(buf + 8, (uint64_t)i);
    for (;;) {
      int r = rd_kafka_produce(rkt, (int32_t)(i % partitions), RD_KAFKA_MSG_F_COPY, buf, (size_t)size,
                               NULL, 0, NULL);
      if (r == 0) break;
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        fail("produce", rd_kafka_err2str(rd_kafka_last_error()));
      }
      rd_kafka_poll(rk, 10);
    }
    rd_kafka_poll(rk, 0);
  }
  while (rd_kafka_outq_len(rk) > 0) rd_kafka_poll(rk, 50);
  double elapsed = mono_s() - start;
  printf("{\"mode\":\"produce\",\"records\":%ld,\"acked\":%ld,\"errors\":%ld,\"firstError\":\"%s\","
         "\"bytes\":%ld,\"seconds\":%.6f,\"cpuSeconds\":%.3f,\"librdkafka\":\"%s\"}\n",
         records, delivered, delivery_errors, first_error, records * (long)size, elapsed,
         cpu_s() - cpu0, rd_kafka_version_str());
  fflush(stdout);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  free(buf);
  return delivery_errors == 0 ? 0 : 1;
}

static int active_partitions = 0;

static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
  (void)rk;
  (void)len;
  (void)opaque;
  int n = 0;
  for (const char *p = json; (p = strstr(p, "\"fetch_state\":\"active\"")) != NULL; p++) n++;
  active_partitions = n;
  return 0;
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static int consume(const char *bootstrap, const char *topic, int partitions, long records, long idle_ms) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "fetch.wait.max.ms", "100");
  set(conf, "fetch.message.max.bytes", "4194304");
  set(conf, "queued.min.messages", "200000");
  set(conf, "enable.partition.eof", "false");
  set(conf, "check.crcs", "false");
  set(conf, "statistics.interval.ms", "20");
  set_extra(conf);
  rd_kafka_conf_set_stats_cb(conf, on_stats);
  if (getenv("RDKAFKA_PERF_DEBUG")) set(conf, "debug", getenv("RDKAFKA_PERF_DEBUG"));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) fail("consumer", err);
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  for (int p = 0; p < partitions; p++) {
    if (rd_kafka_consume_start_queue(rkt, p, RD_KAFKA_OFFSET_BEGINNING, q) == -1) {
      fail("consume_start", rd_kafka_err2str(rd_kafka_last_error()));
    }
  }
  /* "Ready" once every partition is being fetched (the statistics say so), so that a producer
   * started then is not measured against the consumer's own start-up. */
  double deadline = mono_s() + 30;
  while (active_partitions < partitions && mono_s() < deadline) rd_kafka_poll(rk, 10);
  if (active_partitions < partitions) fail("consumer", "partitions not fetchable within 30 s");
  printf("{\"ready\":true}\n");
  fflush(stdout);
  unsigned char *seen = calloc((size_t)records, 1);
  int64_t *lat = malloc(sizeof(int64_t) * (size_t)records);
  long consumed = 0, unique = 0, duplicates = 0, foreign = 0, errors = 0;
  rd_kafka_message_t *msgs[10000];
  double start = mono_s(), last = start, cpu0 = cpu_s();
  char first_err[256] = "";
  while (unique < records) {
    /* Wait up to 100 ms for the first message, then take whatever else is already queued:
     * consume_batch_queue alone would hold early messages back until its batch is full. */
    rd_kafka_message_t *one = rd_kafka_consume_queue(q, 100);
    ssize_t n = 0;
    if (one) {
      msgs[0] = one;
      ssize_t more = rd_kafka_consume_batch_queue(q, 0, msgs + 1, 9999);
      n = 1 + (more > 0 ? more : 0);
    }
    int64_t t = now_us();
    double m = mono_s();
    if (n > 0) last = m;
    rd_kafka_poll(rk, 0); /* serve (and drop) statistics */
    for (ssize_t i = 0; i < n; i++) {
      rd_kafka_message_t *msg = msgs[i];
      if (msg->err) {
        if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && errors++ == 0) {
          snprintf(first_err, sizeof first_err, "%s", rd_kafka_err2str(msg->err));
        }
      } else if (msg->len < 16) {
        foreign++;
      } else {
        const unsigned char *p = msg->payload;
        uint64_t seq = get64(p + 8);
        consumed++;
        if (seq >= (uint64_t)records) {
          foreign++;
        } else if (seen[seq]) {
          duplicates++;
        } else {
          seen[seq] = 1;
          lat[unique++] = t - (int64_t)get64(p);
        }
      }
      rd_kafka_message_destroy(msg);
    }
    if ((m - last) * 1000 > idle_ms) break;
  }
  double elapsed = consumed == 0 ? 0 : last - start;
  qsort(lat, (size_t)unique, sizeof(int64_t), cmp64);
#define PCT(q) (unique ? lat[(long)((double)(unique - 1) * (q))] : -1)
  printf("{\"mode\":\"consume\",\"records\":%ld,\"consumed\":%ld,\"unique\":%ld,\"duplicates\":%ld,"
         "\"foreign\":%ld,\"errors\":%ld,\"firstError\":\"%s\",\"seconds\":%.6f,"
         "\"cpuSeconds\":%.3f,\"p50Us\":%lld,\"p99Us\":%lld,\"p999Us\":%lld,\"maxUs\":%lld,"
         "\"librdkafka\":\"%s\"}\n",
         records, consumed, unique, duplicates, foreign, errors, first_err, elapsed, cpu_s() - cpu0,
         (long long)PCT(0.5), (long long)PCT(0.99), (long long)PCT(0.999),
         (long long)(unique ? lat[unique - 1] : -1), rd_kafka_version_str());
  fflush(stdout);
  for (int p = 0; p < partitions; p++) rd_kafka_consume_stop(rkt, p);
  rd_kafka_queue_destroy(q);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  free(seen);
  free(lat);
  return unique == records && duplicates == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  /* strip trailing -X key=value pairs */
  static char *extras[64];
  while (argc >= 3 && strcmp(argv[argc - 2], "-X") == 0 && extra_count < 64) {
    extras[extra_count++] = argv[argc - 1];
    argc -= 2;
  }
  extra_conf = extras;
  if (argc == 9 && strcmp(argv[1], "produce") == 0) {
    int size = atoi(argv[6]);
    if (size < 16) fail("produce", "SIZE must be at least 16");
    return produce(argv[2], argv[3], atoi(argv[4]), atol(argv[5]), size, argv[7], atol(argv[8]));
  }
  if (argc == 7 && strcmp(argv[1], "consume") == 0) {
    return consume(argv[2], argv[3], atoi(argv[4]), atol(argv[5]), atol(argv[6]));
  }
  fprintf(stderr,
          "usage: rdkafka_perf produce BOOTSTRAP TOPIC PARTITIONS RECORDS SIZE ACKS RATE [-X k=v]...\n"
          "       rdkafka_perf consume BOOTSTRAP TOPIC PARTITIONS RECORDS IDLE_MS [-X k=v]...\n");
  return 2;
}
