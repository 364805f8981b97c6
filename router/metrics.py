"""All Prometheus metrics in one object, on a registry of its own.

Labels are bounded sets only (hotline, channel, department, category, reason, stage):
never a ticket id, call id, phone number or text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from router.domain.hotspots import KeyChange
from router.domain.sla import ClockName, ClockPhase
from router.domain.tickets import EventKind, Ticket, TicketChange, TicketEvent, TicketStatus

# Stage latencies run from milliseconds (parsing) to tens of seconds (a database outage);
# the client's default buckets would do, but these are chosen to split the 10 ms–1 s band.
log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0, 60.0)
# From the call's receipt to its ticket being in a queue or handed to an emergency line: seconds
# for live calls, hours for web/app submissions (accepted within 2 h by the service standard).
_DISPATCH_DELAY_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0,
                           7200.0, 14400.0, 43200.0, 86400.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
# SLA clocks run from minutes (a sign-for) to weeks (a complex demand): 1 min … 30 days.
_CLOCK_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0,
                  172800.0, 259200.0, 432000.0, 604800.0, 1296000.0, 2592000.0)


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
        self.ticket_events = Counter(
            "hotline_ticket_events_total",
            "Ticket events by kind: created, dispatched, transferred, claimed, returned,"
            " extension_requested, resolved, reopened, closed, …",
            ["event", "department", "category"], registry=r)
        self.responses = Counter(
            "hotline_responses_total",
            "Units' responses judged: signed for and first contact within their targets"
            " (in_time) or not (late); the SLI of the response burn-rate alerts",
            ["department", "outcome"], registry=r)
        self.clock_stops = Counter(
            "hotline_sla_clock_stops_total", "SLA clocks stopped, in time or late",
            ["clock", "department", "outcome"], registry=r)
        self.classifier_confidence = Histogram(
            "hotline_classifier_confidence",
            "The model's confidence in the category of each new ticket", ["category"],
            buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0), registry=r)
        self.clock_business_seconds = Histogram(
            "hotline_sla_clock_business_seconds",
            "Business time an SLA clock ran before it stopped (on its calendar)",
            ["clock", "department"], buckets=_CLOCK_BUCKETS, registry=r)
        self.sla_warnings = Counter(
            "hotline_sla_warnings_total", "SLA warnings (70/80/90 % of a target) crossed",
            ["clock", "department", "level"], registry=r)
        self.sla_breaches = Counter(
            "hotline_sla_breaches_total", "SLA clocks that passed their due time",
            ["clock", "department"], registry=r)
        self.sla_escalations = Counter(
            "hotline_sla_escalations_total",
            "Escalations (督办): steps after a breach, and a dispatcher's own",
            ["clock", "department", "level"], registry=r)
        self.alarm_lag = Histogram(
            "hotline_sla_alarm_lag_seconds",
            "From the moment a clock crossed a level to the timer committing its event",
            buckets=_LATENCY_BUCKETS, registry=r)
        self.timer_failures = Counter(
            "hotline_sla_timer_failures_total",
            "Looks at the due-time index that failed (retried with backoff)", registry=r)
        self.calendar_unknown_year = Gauge(
            "hotline_sla_calendar_unknown_year",
            "1 while a running deadline falls in a year without holiday data", ["year"],
            registry=r)
        self.open_tickets = Gauge(
            "hotline_open_tickets", "Tickets not yet resolved, per unit holding them",
            ["department"], registry=r)
        self.open_overdue_tickets = Gauge(
            "hotline_open_overdue_tickets",
            "Unresolved tickets already past their resolution target", ["department"],
            registry=r)
        self.unit_rate = Gauge(
            "hotline_unit_rate_ratio", "The three rates per unit over the configured period"
            " (response, resolution, satisfaction; absent when nothing is counted)",
            ["department", "rate"], registry=r)
        self.queue_pending = Gauge(
            "hotline_queue_pending", "Entries waiting or unacknowledged in a unit's queue",
            ["department"], registry=r)
        self.queue_waiting = Gauge(
            "hotline_queue_waiting", "Entries in a unit's queue nobody has claimed yet",
            ["department"], registry=r)
        self.queue_oldest_waiting = Gauge(
            "hotline_queue_oldest_waiting_seconds",
            "How long the oldest unclaimed entry of a unit's queue has waited (0: none)",
            ["department"], registry=r)
        self.consumer_lag = Gauge(
            "hotline_consumer_lag_records",
            "Records of the intake topic the worker group has not committed yet",
            ["topic", "partition"], registry=r)
        self.consumer_committed_offset = Gauge(
            "hotline_consumer_committed_offset",
            "The worker group's committed offset per partition (its progress)",
            ["topic", "partition"], registry=r)
        self.hotspots_raised = Counter(
            "hotline_hotspots_raised_total",
            "Surges raised (未诉先办): reports of one category in one area far above their"
            " baseline", ["category", "area"], registry=r)
        self.hotspots_cleared = Counter(
            "hotline_hotspots_cleared_total", "Surges that subsided", ["category", "area"],
            registry=r)
        self.hotspots_active = Gauge(
            "hotline_hotspots_active", "Surges raised now, per category (0 where none)",
            ["category"], registry=r)
        self.city_collector = Gauge(
            "hotline_city_collector",
            "1 on the worker that computes the city-wide gauges (queues, open tickets,"
            " rates, lag), 0 on the others", registry=r)

    def observe_changes(self, changes: Iterable[TicketChange]) -> None:
        """Count the SLA events of committed changes and time the clocks they stopped."""
        for change in changes:
            ticket = change.ticket
            if change.response_decided is not None:
                self.responses.labels(ticket.unit, "in_time" if change.response_decided
                                      else "late").inc()
            for event in change.events:
                self.ticket_events.labels(event.kind.value, _unit_of(ticket, event),
                                          ticket.category).inc()
                detail = event.detail
                if event.kind is EventKind.SLA_WARNING:
                    self.sla_warnings.labels(detail["clock"], detail["unit"],
                                             detail["level"]).inc()
                elif event.kind is EventKind.SLA_BREACHED:
                    self.sla_breaches.labels(detail["clock"], detail["unit"]).inc()
                elif event.kind is EventKind.SLA_ESCALATED:
                    self.sla_escalations.labels(detail["clock"], detail["unit"],
                                                detail["level"]).inc()
                elif event.kind is EventKind.ESCALATED:
                    self.sla_escalations.labels("manual", ticket.unit,
                                                f"escalation:{detail['level']}").inc()
            returned = ticket.status in (TicketStatus.RETURNED, TicketStatus.AWAITING_RULING)
            for clock in ticket.clocks:
                if clock.phase is ClockPhase.STOPPED and clock.stopped_at == ticket.updated_at:
                    unit = (ticket.returned_from if returned and clock.name in (
                        ClockName.SIGN, ClockName.FIRST_RESPONSE) else None) or ticket.unit
                    self.clock_business_seconds.labels(clock.name.value, unit).observe(
                        clock.elapsed.total_seconds())
                    self.clock_stops.labels(clock.name.value, unit,
                                            "late" if clock.breached else "in_time").inc()


def _unit_of(ticket: Ticket, event: TicketEvent) -> str:
    # A return is the returning unit's act, though the ticket is the dispatchers' after it.
    unit = event.detail.get("from_unit") if event.kind is EventKind.RETURNED else None
    return str(unit or ticket.unit)


def count_surges(metrics: RouterMetrics, changes: Iterable[KeyChange]) -> None:
    """Raised and cleared surges, counted and logged without any report's text."""
    for found in changes:
        if found.change.raised is not None:
            metrics.hotspots_raised.labels(found.category, found.area).inc()
            log.warning("surge raised: %s in %s, %d reports in the window against %.1f"
                        " expected", found.category, found.area, found.change.raised.reports,
                        found.change.raised.expected)
        if found.change.cleared is not None:
            metrics.hotspots_cleared.labels(found.category, found.area).inc()
            log.info("surge cleared: %s in %s", found.category, found.area)
