/*
 * C publisher for the benchmarks: the fastest sender this machine has, so the receiver under
 * test, not the sender, is what a scenario measures.
 *
 *   zpub STREAM [STREAM...]
 *   STREAM = endpoint|topics|size|rate|count|nodrop
 *     endpoint  where its XPUB binds (tcp://127.0.0.1:* picks a port; printed)
 *     topics    comma list of components: component x publishes x.data, and x.end once done
 *     size      payload bytes (at least 16)
 *     rate      messages per second over all its topics; 0 sends as fast as possible
 *     count     messages to send; 0 sends until SIGTERM
 *     nodrop    1: ZMQ_XPUB_NODROP, a full queue blocks the sender (loss-free); 0: PUB drops
 *
 * Every payload starts with the send time (CLOCK_MONOTONIC ns, u64 LE) and a sequence number
 * (u64 LE). Prints JSON lines: one {"event":"endpoint"} per stream, {"event":"subscribed"} when
 * every stream's data topics are subscribed (from the XPUB's subscription frames), then waits
 * for a line on stdin before it sends, and {"event":"done"} at the end. It keeps its sockets
 * open until SIGTERM, so the end markers are never cut off by a close.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_STREAMS 8
#define MAX_TOPICS 16

typedef struct {
  void *sock;
  char endpoint[256];
  char topics[MAX_TOPICS][64];
  int subscribed[MAX_TOPICS];
  int ntopics;
  size_t size;
  double rate;
  uint64_t count;
  int nodrop;
  uint64_t sent;
  uint64_t next_due;
  uint64_t interval;
  int next_topic;
  int done;
  char *payload;
} stream_t;

static volatile sig_atomic_t stop_flag = 0;
static void on_term(int sig) {
  (void)sig;
  stop_flag = 1;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t due) {
  struct timespec ts = {(time_t)(due / 1000000000ull), (long)(due % 1000000000ull)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop_flag) {
  }
}

static void die(const char *what) {
  fprintf(stderr, "zpub: %s: %s\n", what, zmq_strerror(zmq_errno()));
  exit(1);
}

static int send_frames(void *sock, const char *topic, const char *payload, size_t size) {
  for (;;) {
    if (zmq_send(sock, topic, strlen(topic), ZMQ_SNDMORE) >= 0) break;
    if (zmq_errno() != EINTR || stop_flag) return -1;
  }
  for (;;) {
    if (zmq_send(sock, payload, size, 0) >= 0) return 0;
    if (zmq_errno() != EINTR || stop_flag) return -1;
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: zpub endpoint|topics|size|rate|count|nodrop ...\n");
    return 64;
  }
  prctl(PR_SET_TIMERSLACK, 1UL);
  // Ends with the bench that started it: an orphan left sending would load every later run (with
  // no subscriber left, a send returns at once, so it spins). A bench that died before this line,
  // in the child's first moments, goes unnoticed.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);

  void *ctx = zmq_ctx_new();
  stream_t streams[MAX_STREAMS];
  int nstreams = 0;
  memset(streams, 0, sizeof streams);
  for (int i = 1; i < argc && nstreams < MAX_STREAMS; i++) {
    stream_t *s = &streams[nstreams++];
    char *spec = strdup(argv[i]);
    char *fields[6];
    char *save = NULL;
    int n = 0;
    for (char *f = strtok_r(spec, "|", &save); f && n < 6; f = strtok_r(NULL, "|", &save))
      fields[n++] = f;
    if (n != 6) {
      fprintf(stderr, "zpub: bad stream %s\n", argv[i]);
      return 64;
    }
    snprintf(s->endpoint, sizeof s->endpoint, "%s", fields[0]);
    char *tsave = NULL;
    for (char *t = strtok_r(fields[1], ",", &tsave); t && s->ntopics < MAX_TOPICS;
         t = strtok_r(NULL, ",", &tsave))
      snprintf(s->topics[s->ntopics++], 64, "%s", t);
    s->size = (size_t)atol(fields[2]);
    if (s->size < 16) s->size = 16;
    s->rate = atof(fields[3]);
    s->count = (uint64_t)atoll(fields[4]);
    s->nodrop = atoi(fields[5]);
    s->payload = calloc(1, s->size);
    s->sock = zmq_socket(ctx, ZMQ_XPUB);
    int zero = 0, one = 1;
    zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof zero);
    if (s->nodrop) zmq_setsockopt(s->sock, ZMQ_XPUB_NODROP, &one, sizeof one);
    if (zmq_bind(s->sock, s->endpoint) != 0) die("bind");
    char resolved[256];
    size_t len = sizeof resolved;
    zmq_getsockopt(s->sock, ZMQ_LAST_ENDPOINT, resolved, &len);
    printf("{\"event\":\"endpoint\",\"stream\":%d,\"endpoint\":\"%s\"}\n", nstreams - 1, resolved);
  }

  /* Wait until every data topic has a subscriber (the subscription frame "\x01x.data"). */
  int timeout = 200;
  for (int i = 0; i < nstreams; i++)
    zmq_setsockopt(streams[i].sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
  uint64_t give_up = now_ns() + 30ull * 1000000000ull;
  for (;;) {
    int missing = 0;
    for (int i = 0; i < nstreams; i++) {
      stream_t *s = &streams[i];
      char buf[128];
      int n;
      while ((n = zmq_recv(s->sock, buf, sizeof buf - 1, ZMQ_DONTWAIT)) > 0) {
        buf[n < (int)sizeof buf - 1 ? n : (int)sizeof buf - 1] = 0;
        if (buf[0] != 1) continue;
        for (int t = 0; t < s->ntopics; t++) {
          char want[72];
          snprintf(want, sizeof want, "%s.data", s->topics[t]);
          if (strcmp(buf + 1, want) == 0) s->subscribed[t] = 1;
        }
      }
      for (int t = 0; t < s->ntopics; t++) missing += !s->subscribed[t];
    }
    if (!missing) break;
    if (stop_flag || now_ns() > give_up) {
      fprintf(stderr, "zpub: no subscriber for every topic within 30 s\n");
      return 1;
    }
    usleep(1000);
  }
  printf("{\"event\":\"subscribed\"}\n");

  char line[64];
  if (!fgets(line, sizeof line, stdin)) return 0;

  uint64_t start = now_ns();
  for (int i = 0; i < nstreams; i++) {
    stream_t *s = &streams[i];
    s->interval = s->rate > 0 ? (uint64_t)(1e9 / s->rate) : 0;
    s->next_due = start;
  }
  int active = nstreams;
  char topic[72];
  while (active > 0 && !stop_flag) {
    /* The stream due first; a stream with rate 0 is always due. */
    stream_t *s = NULL;
    for (int i = 0; i < nstreams; i++) {
      if (streams[i].done) continue;
      if (!s || streams[i].next_due < s->next_due) s = &streams[i];
    }
    if (s->interval) {
      uint64_t now = now_ns();
      if (s->next_due > now) sleep_until(s->next_due);
      if (stop_flag) break;
    }
    const char *component = s->topics[s->next_topic];
    s->next_topic = (s->next_topic + 1) % s->ntopics;
    snprintf(topic, sizeof topic, "%s.data", component);
    uint64_t seq = s->sent;
    uint64_t t = now_ns();
    memcpy(s->payload, &t, 8);
    memcpy(s->payload + 8, &seq, 8);
    if (send_frames(s->sock, topic, s->payload, s->size) != 0) break;
    s->sent++;
    s->next_due += s->interval;
    if (s->count && s->sent >= s->count) {
      s->done = 1;
      active--;
      for (int k = 0; k < s->ntopics; k++) {
        snprintf(topic, sizeof topic, "%s.end", s->topics[k]);
        send_frames(s->sock, topic, s->payload, s->size);
      }
    }
  }
  uint64_t elapsed = now_ns() - start;
  printf("{\"event\":\"done\",\"elapsedNs\":%llu,\"sent\":[", (unsigned long long)elapsed);
  for (int i = 0; i < nstreams; i++)
    printf("%s%llu", i ? "," : "", (unsigned long long)streams[i].sent);
  printf("]}\n");

  while (!stop_flag) usleep(10000);
  for (int i = 0; i < nstreams; i++) zmq_close(streams[i].sock);
  zmq_ctx_term(ctx);
  return 0;
}
