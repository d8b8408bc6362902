/*
 * C receiver for the benchmarks, the floor: one pthread per SUB socket, blocking zmq_msg_recv,
 * the same per-message work as every other design (count, latency, CPU burn, relay).
 *
 *   zsub [--latency] [--warmup N] [--out DIR] SOCKET [SOCKET...]
 *   SOCKET = name|endpoint|component|burnUs|relay
 *     component  subscribes to component.data and component.end (exact topics)
 *     burnUs     busy-waits this long per data message (a CPU-bound handler)
 *     relay      1: republishes each message as relay.data / relay.end on a PUB of its own
 *                thread, bound to tcp://127.0.0.1:* (printed as {"event":"relay"})
 *
 * Prints {"event":"ready"} once every socket is connected and subscribed, and one
 * {"event":"result"} per socket when its end marker arrives. With --latency, writes the one-way
 * latencies (send time in the payload to receive, CLOCK_MONOTONIC, microseconds, float64 LE)
 * of every data message after the first N to DIR/<name>.f64. SIGTERM stops it (exit 0).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <zmq.h>

#define MAX_SOCKETS 16

typedef struct {
  char name[64];
  char endpoint[256];
  char component[64];
  uint64_t burn_ns;
  int relay;
  pthread_t thread;
} plan_t;

static void *ctx;
static int latency_mode = 0;
static uint64_t warmup = 0;
static const char *out_dir = ".";
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
static int ready_count = 0;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void mark_ready(void) {
  pthread_mutex_lock(&ready_lock);
  ready_count++;
  pthread_cond_broadcast(&ready_cond);
  pthread_mutex_unlock(&ready_lock);
}

static void *receive_loop(void *arg) {
  plan_t *p = arg;
  void *sub = zmq_socket(ctx, ZMQ_SUB);
  int zero = 0;
  zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero);
  zmq_connect(sub, p->endpoint);
  char data_topic[80], end_topic[80];
  snprintf(data_topic, sizeof data_topic, "%s.data", p->component);
  snprintf(end_topic, sizeof end_topic, "%s.end", p->component);
  zmq_setsockopt(sub, ZMQ_SUBSCRIBE, data_topic, strlen(data_topic));
  zmq_setsockopt(sub, ZMQ_SUBSCRIBE, end_topic, strlen(end_topic));
  void *pub = NULL;
  if (p->relay) {
    pub = zmq_socket(ctx, ZMQ_PUB);
    zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_bind(pub, "tcp://127.0.0.1:*");
    char resolved[256];
    size_t len = sizeof resolved;
    zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, resolved, &len);
    pthread_mutex_lock(&print_lock);
    printf("{\"event\":\"relay\",\"socket\":\"%s\",\"endpoint\":\"%s\"}\n", p->name, resolved);
    pthread_mutex_unlock(&print_lock);
  }
  mark_ready();

  size_t cap = 1 << 16, nlat = 0;
  double *lat = latency_mode ? malloc(cap * sizeof(double)) : NULL;
  uint64_t count = 0, first = 0;
  zmq_msg_t topic, payload;
  zmq_msg_init(&topic);
  zmq_msg_init(&payload);
  for (;;) {
    if (zmq_msg_recv(&topic, sub, 0) < 0) {
      if (zmq_errno() == EINTR) continue;
      break;
    }
    if (!zmq_msg_more(&topic)) continue;
    if (zmq_msg_recv(&payload, sub, 0) < 0) break;
    uint64_t now = now_ns();
    size_t tlen = zmq_msg_size(&topic);
    const char *t = zmq_msg_data(&topic);
    int is_end = tlen >= 4 && memcmp(t + tlen - 4, ".end", 4) == 0;
    if (is_end) {
      if (latency_mode) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.f64", out_dir, p->name);
        FILE *f = fopen(path, "wb");
        if (f) {
          fwrite(lat, sizeof(double), nlat, f);
          fclose(f);
        }
      }
      pthread_mutex_lock(&print_lock);
      printf("{\"event\":\"result\",\"socket\":\"%s\",\"count\":%llu,\"firstNs\":%llu,"
             "\"lastNs\":%llu}\n",
             p->name, (unsigned long long)count, (unsigned long long)first,
             (unsigned long long)now);
      pthread_mutex_unlock(&print_lock);
      if (pub) {
        zmq_send(pub, "relay.end", 9, ZMQ_SNDMORE);
        zmq_send(pub, zmq_msg_data(&payload), zmq_msg_size(&payload), 0);
      }
      continue;
    }
    if (count++ == 0) first = now;
    if (latency_mode && count > warmup && zmq_msg_size(&payload) >= 8) {
      uint64_t sent;
      memcpy(&sent, zmq_msg_data(&payload), 8);
      if (nlat == cap) lat = realloc(lat, (cap *= 2) * sizeof(double));
      lat[nlat++] = (double)(int64_t)(now - sent) / 1000.0;
    }
    if (p->burn_ns) {
      uint64_t until = now_ns() + p->burn_ns;
      while (now_ns() < until) {
      }
    }
    if (pub) {
      zmq_send(pub, "relay.data", 10, ZMQ_SNDMORE);
      zmq_send(pub, zmq_msg_data(&payload), zmq_msg_size(&payload), 0);
    }
  }
  zmq_msg_close(&topic);
  zmq_msg_close(&payload);
  zmq_close(sub);
  if (pub) zmq_close(pub);
  free(lat);
  return NULL;
}

int main(int argc, char **argv) {
  // Ends with the bench that started it, as zpub does.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  setvbuf(stdout, NULL, _IOLBF, 0);
  plan_t plans[MAX_SOCKETS];
  int n = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--latency") == 0) latency_mode = 1;
    else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc) warmup = atoll(argv[++i]);
    else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) out_dir = argv[++i];
    else if (n < MAX_SOCKETS) {
      plan_t *p = &plans[n++];
      memset(p, 0, sizeof *p);
      char *spec = strdup(argv[i]);
      char *f[5], *save = NULL;
      int k = 0;
      for (char *x = strtok_r(spec, "|", &save); x && k < 5; x = strtok_r(NULL, "|", &save))
        f[k++] = x;
      if (k != 5) {
        fprintf(stderr, "zsub: bad socket %s\n", argv[i]);
        return 64;
      }
      snprintf(p->name, sizeof p->name, "%s", f[0]);
      snprintf(p->endpoint, sizeof p->endpoint, "%s", f[1]);
      snprintf(p->component, sizeof p->component, "%s", f[2]);
      p->burn_ns = (uint64_t)atoll(f[3]) * 1000ull;
      p->relay = atoi(f[4]);
    }
  }
  /* Signals go to this thread only (sigwait below), never into a blocking receive. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  ctx = zmq_ctx_new();
  for (int i = 0; i < n; i++) pthread_create(&plans[i].thread, NULL, receive_loop, &plans[i]);
  pthread_mutex_lock(&ready_lock);
  while (ready_count < n) pthread_cond_wait(&ready_cond, &ready_lock);
  pthread_mutex_unlock(&ready_lock);
  pthread_mutex_lock(&print_lock);
  printf("{\"event\":\"ready\"}\n");
  pthread_mutex_unlock(&print_lock);
  int sig;
  sigwait(&set, &sig);
  /* Ends every blocking receive with ETERM. */
  zmq_ctx_shutdown(ctx);
  for (int i = 0; i < n; i++) pthread_join(plans[i].thread, NULL);
  zmq_ctx_term(ctx);
  return 0;
}
