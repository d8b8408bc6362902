import { collectDefaultMetrics, Registry } from 'prom-client'
import { RECORD_OUTCOMES } from '../shared/record-batch'
import {
  DROP_REASONS,
  DURATION_BUCKETS,
  type Histogram,
  SOCKET_EVENTS,
} from '../shared/shared-state'
import type { Supervisor } from './supervisor'

type Labels = Record<string, string>
interface Sample {
  labels: Labels
  value: number
  metricName?: string
}

/**
 * A metric whose values are read at scrape time from the supervisor (shared-memory counters of
 * the workers, the publishers' stats). prom-client has no worker_threads support, and these
 * totals already live in one place, so collectors read them instead of mirroring increments;
 * a restarted worker keeps the same shared counters, so totals never reset.
 */
function collector(
  name: string,
  help: string,
  type: 'counter' | 'gauge' | 'histogram',
  collect: () => Sample[],
) {
  return {
    name,
    help,
    type,
    aggregator: 'sum' as const,
    get: async () => ({ name, help, type, aggregator: 'sum' as const, values: collect() }),
    reset: () => {},
  }
}

export interface BuildInfo {
  readonly version: string
}

/** The container's Prometheus registry: the metrics the README lists, plus process defaults. */
export function createMetrics(supervisor: Supervisor, build: BuildInfo): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })

  const slots = () => supervisor.slots()
  /** A sample per socket; a socket whose value is undefined (not set yet) has none. */
  const perSlot =
    (read: (slot: ReturnType<typeof slots>[number]) => number | undefined, kind?: 'sub' | 'rep') =>
    () =>
      slots()
        .filter((slot) => kind === undefined || slot.socket.kind === kind)
        .flatMap((slot) => {
          const value = read(slot)
          return value === undefined
            ? []
            : [{ labels: { socket: slot.socket.name, class: slot.socket.latencyClass }, value }]
        })
  const publishers = () => supervisor.publishers?.stats() ?? []
  type Slot = ReturnType<typeof slots>[number]
  const perSubscription =
    (read: (slot: Slot) => number[], wanted: (socket: Slot['socket']) => boolean) => () =>
      slots()
        .filter((slot) => slot.socket.kind === 'sub' && wanted(slot.socket))
        .flatMap((slot) => {
          const values = read(slot)
          return slot.socket.topics.map((topic, i) => ({
            labels: { socket: slot.socket.name, topic },
            value: values[i] ?? 0,
          }))
        })

  const metrics = [
    collector('zc_build_info', 'Version of zmq-container and of Node.js.', 'gauge', () => [
      { labels: { version: build.version, node: process.version }, value: 1 },
    ]),
    collector(
      'zc_receive_copies',
      '1 when received frames are copied into ordinary Buffers (ZMQ_RECEIVE_COPY), 0 when zeromq.js passes frames over 128 bytes to handlers without a copy; as measured at start-up.',
      'gauge',
      () => [{ labels: {}, value: supervisor.receiveCopies ? 1 : 0 }],
    ),
    collector('zc_ready', '1 when /readyz would answer 200.', 'gauge', () => [
      { labels: {}, value: supervisor.readiness().ready ? 1 : 0 },
    ]),
    collector(
      'zc_messages_received_total',
      'Messages received on an inbound socket.',
      'counter',
      perSlot((s) => s.counters.get('received')),
    ),
    collector(
      'zc_messages_handled_total',
      'Messages whose handler completed.',
      'counter',
      perSlot((s) => s.counters.get('handled')),
    ),
    collector(
      'zc_messages_dropped_total',
      'Received messages not handled, by reason.',
      'counter',
      () =>
        slots().flatMap((slot) =>
          DROP_REASONS.map((reason) => ({
            labels: { socket: slot.socket.name, class: slot.socket.latencyClass, reason },
            value: slot.counters.get(reason),
          })),
        ),
    ),
    collector(
      'zc_handler_errors_total',
      'Handler runs that threw or rejected (SUB: dropped as handler_error; REP: handled with an error reply).',
      'counter',
      perSlot((s) => s.counters.get('handler_error') + s.counters.get('errorReplies')),
    ),
    collector(
      'zc_latency_budget_overruns_total',
      "Handler runs slower (receive to completion) than the socket's latency class budget.",
      'counter',
      perSlot((s) => s.counters.get('overruns')),
    ),
    collector(
      'zc_handler_duration_seconds',
      'Time from receive to handler completion.',
      'histogram',
      () =>
        slots().flatMap((slot) =>
          histogramSamples('zc_handler_duration_seconds', slot, slot.counters.durationHistogram()),
        ),
    ),
    collector(
      'zc_message_age_seconds',
      'ZMQ_SUB_ENVELOPE: time from the envelope send time (sender wall clock) to handler start.',
      'histogram',
      () =>
        slots()
          .filter((slot) => slot.socket.envelope)
          .flatMap((slot) =>
            histogramSamples('zc_message_age_seconds', slot, slot.counters.ageHistogram()),
          ),
    ),
    collector(
      'zc_messages_lost_total',
      'ZMQ_SUB_ENVELOPE: messages that never arrived (gaps in a publisher sequence), by subscription.',
      'counter',
      perSubscription(
        (slot) => slot.counters.lostBySubscription(),
        (s) => s.envelope === true,
      ),
    ),
    collector(
      'zc_deadline_missed_total',
      'ZMQ_SUB_DEADLINE_MS: subscriptions silent past their deadline, one per episode.',
      'counter',
      perSubscription(
        (slot) => slot.counters.deadlineMissedBySubscription(),
        (s) => s.deadlineMs !== undefined,
      ),
    ),
    collector(
      'zc_messages_unenveloped_total',
      'ZMQ_SUB_ENVELOPE: 2-frame messages (a sender without the envelope), handled as usual.',
      'counter',
      perSlot((s) => s.counters.get('unenveloped'), 'sub'),
    ),
    collector(
      'zc_publisher_restarts_total',
      'ZMQ_SUB_ENVELOPE: restarts of a publisher seen (a new epoch), not counted as loss.',
      'counter',
      perSlot((s) => s.counters.get('publisherRestarts'), 'sub'),
    ),
    collector(
      'zc_publish_rejected_total',
      'Publishes refused with an error (invalid topic, or no socket for it), by where they came from.',
      'counter',
      () => [
        { labels: { source: 'main' }, value: supervisor.publishers?.rejected ?? 0 },
        ...slots().map((slot) => ({
          labels: { source: slot.socket.name },
          value: slot.counters.get('publishRejected'),
        })),
      ],
    ),
    collector(
      'zc_messages_published_total',
      'Messages handed to libzmq, by declared topic.',
      'counter',
      () =>
        publishers().flatMap((p) =>
          Object.entries(p.publishedByTopic).map(([topic, value]) => ({
            labels: { socket: p.socket, class: p.latencyClass, topic },
            value,
          })),
        ),
    ),
    collector('zc_publish_failures_total', 'Publishes not sent, by reason.', 'counter', () =>
      publishers().flatMap((p) => [
        { labels: { socket: p.socket, reason: 'queue_full' }, value: p.dropped.queue_full },
        { labels: { socket: p.socket, reason: 'closed' }, value: p.dropped.closed },
        { labels: { socket: p.socket, reason: 'hwm' }, value: p.dropped.hwm },
        { labels: { socket: p.socket, reason: 'send_error' }, value: p.failed },
      ]),
    ),
    collector(
      'zc_subscribers',
      'Subscribers attached to a PUB socket, by declared topic.',
      'gauge',
      () =>
        publishers().flatMap((p) =>
          Object.entries(p.subscribers).map(([topic, value]) => ({
            labels: { socket: p.socket, topic },
            value,
          })),
        ),
    ),
    collector('zc_socket_events_total', 'Socket monitor events.', 'counter', () => [
      ...slots().flatMap((slot) =>
        SOCKET_EVENTS.map((event) => ({
          labels: { socket: slot.socket.name, kind: slot.socket.kind, event },
          value: slot.counters.get(`event:${event}`),
        })),
      ),
      ...publishers().flatMap((p) =>
        SOCKET_EVENTS.map((event) => ({
          labels: { socket: p.socket, kind: 'pub', event },
          value: p.events[event],
        })),
      ),
    ]),
    collector(
      'zc_curve_handshakes_total',
      'CURVE clients accepted or rejected by the ZAP handler.',
      'counter',
      () => {
        const zap = supervisor.zapStats()
        return zap
          ? [
              { labels: { result: 'accepted' }, value: zap.accepted },
              { labels: { result: 'rejected' }, value: zap.rejected },
            ]
          : []
      },
    ),
    collector(
      'zc_record_messages_total',
      'ZMQ_RECORD_FILE: messages a SUB socket received, by what the recording made of them.',
      'counter',
      () =>
        [...supervisor.recordCounts()].flatMap(([socket, counts]) =>
          RECORD_OUTCOMES.map((outcome) => ({
            labels: { socket, outcome },
            value: counts[outcome],
          })),
        ),
    ),
    collector(
      'zc_sub_peers',
      'Connections a SUB socket has with a finished handshake.',
      'gauge',
      perSlot((s) => s.counters.peers, 'sub'),
    ),
    collector(
      'zc_rep_peers',
      'Connections a REP socket has with a finished handshake (clients connected now).',
      'gauge',
      perSlot((s) => s.counters.peers, 'rep'),
    ),
    collector(
      'zc_worker_restarts_total',
      'Receive worker restarts after a failure.',
      'counter',
      perSlot((s) => s.counters.get('restarts')),
    ),
    collector(
      'zc_worker_out_of_memory_total',
      'Receive workers that passed their heap high-water mark and stopped themselves.',
      'counter',
      perSlot((s) => s.counters.get('outOfMemory')),
    ),
    collector(
      'zc_worker_nice',
      "The receive thread's OS nice value (ZC_THREAD_PRIORITY); absent until the thread set it.",
      'gauge',
      perSlot((s) => s.counters.nice),
    ),
    collector(
      'zc_worker_slice_seconds',
      "The receive thread's scheduler slice (ZC_THREAD_PRIORITY, `_SLICE_US`); absent while it has the kernel's own.",
      'gauge',
      perSlot((s) => {
        const us = s.counters.sliceUs
        return us === undefined ? undefined : us / 1e6
      }),
    ),
    collector(
      'zc_worker_up',
      '1 while the socket has a running receive worker.',
      'gauge',
      perSlot((s) => (s.state === 'up' ? 1 : 0)),
    ),
  ]
  // The custom collectors implement what the registry reads (name, help, type, get).
  for (const m of metrics)
    registry.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0])
  return registry
}

/** Prometheus histogram samples (`_bucket` per `le`, `_sum`, `_count`) of one socket. */
function histogramSamples(
  name: string,
  slot: { socket: { name: string; latencyClass: string } },
  h: Histogram,
): Sample[] {
  const labels = { socket: slot.socket.name, class: slot.socket.latencyClass }
  return [
    ...DURATION_BUCKETS.map((le, i) => ({
      metricName: `${name}_bucket`,
      labels: { ...labels, le: String(le) },
      value: h.buckets[i] ?? 0,
    })),
    { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count },
    { metricName: `${name}_sum`, labels, value: h.sumSeconds },
    { metricName: `${name}_count`, labels, value: h.count },
  ]
}
