"""All Prometheus metrics in one object, on a registry of its own.

Labels are bounded sets only (hotline, channel, department, category, reason, stage):
never a ticket id, call id, phone number or text.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Stage latencies run from milliseconds (parsing) to tens of seconds (a database outage);
# the client's default buckets would do, but these are chosen to split the 10 ms–1 s band.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0, 60.0)
# From the call's receipt to its ticket being in a queue or handed to an emergency line: seconds
# for live calls, hours for web/app submissions (accepted within 2 h by the service standard).
_DISPATCH_DELAY_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0,
                           7200.0, 14400.0, 43200.0, 86400.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


class RouterMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.calls_received = Counter(
            "hotline_calls_received_total", "Valid call records received",
            ["hotline", "channel"], registry=r)
        self.tickets_dispatched = Counter(
            "hotline_tickets_dispatched_total", "Tickets created and queued for a unit",
            ["department", "category"], registry=r)
        self.emergency_transfers = Counter(
            "hotline_emergency_transfers_total", "Calls transferred to an emergency line",
            ["service"], registry=r)
        self.triage = Counter(
            "hotline_triage_total", "Tickets sent to the human dispatchers",
            ["reason"], registry=r)
        self.dead_letters = Counter(
            "hotline_dead_letters_total", "Records sent to the dead-letter topic",
            ["reason"], registry=r)
        self.duplicate_calls = Counter(
            "hotline_duplicate_calls_total",
            "Records whose call id already had a ticket (replays, retries)", registry=r)
        self.retries = Counter(
            "hotline_transient_retries_total", "Batches retried after a transient failure",
            ["stage"], registry=r)
        self.processing_latency = Histogram(
            "hotline_processing_latency_seconds", "Time spent per batch in each stage",
            ["stage"], buckets=_LATENCY_BUCKETS, registry=r)
        self.dispatch_delay = Histogram(
            "hotline_dispatch_delay_seconds",
            "From the call's receipt to its ticket being handed off (queued or transferred)",
            ["hotline"], buckets=_DISPATCH_DELAY_BUCKETS, registry=r)
        self.batch_size = Histogram(
            "hotline_batch_size", "Records per processed batch", buckets=_BATCH_BUCKETS,
            registry=r)
        self.outbox_delivered = Counter(
            "hotline_outbox_delivered_total", "Messages delivered from the outbox, by destination",
            ["destination"], registry=r)
        self.outbox_failures = Counter(
            "hotline_outbox_failures_total",
            "Outbox entries whose delivery failed and that were put back for a later try",
            registry=r)
        self.outbox_backlog = Gauge(
            "hotline_outbox_backlog", "Outbox entries committed but not yet delivered",
            registry=r)
        self.outbox_oldest_age = Gauge(
            "hotline_outbox_oldest_age_seconds",
            "Age of the oldest undelivered outbox entry (0 when there is none)", registry=r)
        self.queue_pending = Gauge(
            "hotline_queue_pending", "Entries waiting or unacknowledged in a unit's queue",
            ["department"], registry=r)
