/* Copyright 2026 the Sluice authors. Apache-2.0 license.
 *
 * conns_perf: many connections, one request in flight each, for Sluice's load tool
 * (bench/e2e/main.ts, workloads conns-*). Measures how a broker shares itself among connections.
 *
 *   conns_perf HOST PORT CONNECTIONS REQUESTS REQUEST_FILE [SECONDS]
 *
 * Opens CONNECTIONS TCP connections (TCP_NODELAY) and, on each, writes the request frame read
 * from REQUEST_FILE (size prefix included; the load tool writes a Produce request there), waits
 * for its whole response, and writes it again, until REQUESTS responses arrived over all
 * connections or SECONDS passed (default 120). The first response of each connection is a warm-up
 * and not counted. Latency is from the write of a request to the last byte of its response,
 * measured on CLOCK_MONOTONIC, one epoll thread for every connection. Prints one JSON object:
 * requests, seconds, requests per second, p50/p99/p99.9/max in microseconds, this process's CPU,
 * and the stalls: the longest time between two counted responses (no connection answered at all)
 * and how many such gaps lasted 50 ms or more, and 100 ms or more.
 *
 * With CONNS_PERF_TRACE=FILE set, every counted response is also written to FILE as a line
 * "SENT_US LATENCY_US CONNECTION" (SENT_US from the first request), to tell stalls that delay
 * every connection from connections that wait while others are served.
 *
 * Built by the load tool with: cc -O2 -o conns_perf conns_perf.c
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double cpu_s(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static void fail(const char *what, const char *detail) {
  printf("{\"error\":\"%s: %s\"}\n", what, detail);
  fflush(stdout);
  exit(1);
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

typedef struct {
  int fd;
  size_t wrote;     /* bytes of the request written */
  size_t got;       /* bytes of the response read (prefix included) */
  size_t want;      /* response size with prefix, 0 until the prefix is read */
  unsigned char head[4];
  int64_t sent_us;
  long answered;
} conn_t;

static unsigned char *req;
static size_t req_len;
static unsigned char sink[1 << 16];

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: conns_perf HOST PORT CONNECTIONS REQUESTS REQUEST_FILE [SECONDS]\n");
    return 2;
  }
  int n = atoi(argv[3]);
  long total = atol(argv[4]);
  double limit_s = argc > 6 ? atof(argv[6]) : 120;
  if (n < 1 || total < 1) fail("arguments", "CONNECTIONS and REQUESTS must be >= 1");
  FILE *f = fopen(argv[5], "rb");
  if (!f) fail("request file", strerror(errno));
  fseek(f, 0, SEEK_END);
  req_len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  req = malloc(req_len);
  if (fread(req, 1, req_len, f) != req_len) fail("request file", "short read");
  fclose(f);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) fail("address", argv[1]);
  int ep = epoll_create1(0);
  conn_t *c = calloc((size_t)n, sizeof *c);
  for (int i = 0; i < n; i++) {
    c[i].fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c[i].fd < 0) fail("socket", strerror(errno));
    if (connect(c[i].fd, (struct sockaddr *)&addr, sizeof addr) != 0) fail("connect", strerror(errno));
    int one = 1;
    setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
  }
  int64_t *lat = malloc(sizeof(int64_t) * (size_t)total);
  const char *trace_path = getenv("CONNS_PERF_TRACE");
  FILE *trace = trace_path ? fopen(trace_path, "w") : NULL;
  long done = 0;
  int64_t start = mono_us(), first = 0, last = start;
  int64_t max_gap = 0;
  long gaps50 = 0, gaps100 = 0;
  int64_t deadline = start + (int64_t)(limit_s * 1e6);
  double cpu0 = cpu_s();
  for (int i = 0; i < n; i++) c[i].sent_us = mono_us();
  struct epoll_event evs[256];
  while (done < total && mono_us() < deadline) {
    int k = epoll_wait(ep, evs, 256, 100);
    for (int e = 0; e < k; e++) {
      conn_t *x = &c[evs[e].data.u32];
      if (x->wrote < req_len && (evs[e].events & EPOLLOUT)) {
        ssize_t w = write(x->fd, req + x->wrote, req_len - x->wrote);
        if (w < 0 && errno != EAGAIN) fail("write", strerror(errno));
        if (w > 0) x->wrote += (size_t)w;
        if (x->wrote == req_len) {
          struct epoll_event ev = {.events = EPOLLIN, .data.u32 = evs[e].data.u32};
          epoll_ctl(ep, EPOLL_CTL_MOD, x->fd, &ev);
        }
      }
      if (!(evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      for (;;) {
        ssize_t r;
        if (x->got < 4) {
          r = read(x->fd, x->head + x->got, 4 - x->got);
        } else {
          size_t left = x->want - x->got;
          r = read(x->fd, sink, left < sizeof sink ? left : sizeof sink);
        }
        if (r == 0) fail("read", "the broker closed a connection");
        if (r < 0) {
          if (errno == EAGAIN) break;
          fail("read", strerror(errno));
        }
        x->got += (size_t)r;
        if (x->got == 4) {
          x->want = 4 + ((size_t)x->head[0] << 24 | (size_t)x->head[1] << 16 |
                         (size_t)x->head[2] << 8 | x->head[3]);
        }
        if (x->got < 4 || x->got < x->want) continue;
        int64_t t = mono_us();
        if (x->answered++ > 0 && done < total) {
          lat[done++] = t - x->sent_us;
          if (trace) {
            fprintf(trace, "%lld %lld %d\n", (long long)(x->sent_us - start),
                    (long long)(t - x->sent_us), (int)evs[e].data.u32);
          }
          if (first == 0) first = t;
          else {
            int64_t gap = t - last;
            if (gap > max_gap) max_gap = gap;
            if (gap >= 50000) gaps50++;
            if (gap >= 100000) gaps100++;
          }
          last = t;
        }
        x->got = 0;
        x->want = 0;
        x->wrote = 0;
        x->sent_us = mono_us();
        ssize_t w = write(x->fd, req, req_len);
        if (w < 0 && errno != EAGAIN) fail("write", strerror(errno));
        if (w > 0) x->wrote = (size_t)w;
        if (x->wrote < req_len) {
          struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = evs[e].data.u32};
          epoll_ctl(ep, EPOLL_CTL_MOD, x->fd, &ev);
        }
        break;
      }
    }
  }
  double seconds = first && last > first ? (double)(last - first) / 1e6 : 0;
  qsort(lat, (size_t)done, sizeof(int64_t), cmp64);
#define PCT(q) (done ? (long long)lat[(long)((double)(done - 1) * (q))] : -1LL)
  printf("{\"mode\":\"conns\",\"connections\":%d,\"requests\":%ld,\"seconds\":%.6f,"
         "\"requestsPerSec\":%.1f,\"cpuSeconds\":%.3f,\"p50Us\":%lld,\"p99Us\":%lld,"
         "\"p999Us\":%lld,\"maxUs\":%lld,\"maxGapUs\":%lld,\"gaps50ms\":%ld,"
         "\"gaps100ms\":%ld}\n",
         n, done, seconds, seconds > 0 ? (double)done / seconds : 0, cpu_s() - cpu0, PCT(0.5),
         PCT(0.99), PCT(0.999), done ? (long long)lat[done - 1] : -1LL, (long long)max_gap,
         gaps50, gaps100);
  fflush(stdout);
  if (trace) fclose(trace);
  for (int i = 0; i < n; i++) close(c[i].fd);
  return done == total ? 0 : 1;
}
