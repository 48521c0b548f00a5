"""The first estimator: queue length × recent service time ÷ open windows, always as a range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from queue_bridge.board import Board, QueueView, Service
from queue_bridge.estimate import QueueLengthEstimator, queue_estimate
from queue_bridge.site import load_site

NOW = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)
BOARD = Board(load_site())


def view(waiting: int, windows: int, service_min: list[float]) -> QueueView:
    services = [
        Service(
            "A", "W1", NOW - timedelta(minutes=30 + i), NOW - timedelta(minutes=30 + i) + timedelta(minutes=m)
        )
        for i, m in enumerate(service_min)
    ]
    return QueueView(
        queue="A",
        waiting=[(NOW, f"A{i:03d}") for i in range(waiting)],
        now_calling=[],
        open_windows=[f"W{i + 1}" for i in range(windows)],
        served_today=len(services),
        no_show_today=0,
        services=services,
        waits=[],
    )


def test_point_is_length_times_service_time_over_windows() -> None:
    est = queue_estimate(QueueLengthEstimator(), BOARD, view(10, 2, [6, 6, 6, 6, 6]), NOW)
    assert est is not None
    assert est.point_s == 10 * 360 / 2
    assert est.lower_s < est.point_s < est.upper_s


def test_more_windows_shorter_wait_and_no_window_no_estimate() -> None:
    e = QueueLengthEstimator()
    one = queue_estimate(e, BOARD, view(10, 1, [5] * 5), NOW)
    three = queue_estimate(e, BOARD, view(10, 3, [5] * 5), NOW)
    assert one is not None and three is not None and three.point_s < one.point_s
    assert queue_estimate(e, BOARD, view(10, 0, [5] * 5), NOW) is None


def test_too_few_services_fall_back_to_the_default() -> None:
    est = queue_estimate(QueueLengthEstimator(default_service_s=300), BOARD, view(4, 1, [20]), NOW)
    assert est is not None and est.point_s == 4 * 300


def test_spread_of_service_times_widens_the_range() -> None:
    e = QueueLengthEstimator()
    steady = queue_estimate(e, BOARD, view(10, 1, [5, 5, 5, 5, 5, 5]), NOW)
    erratic = queue_estimate(e, BOARD, view(10, 1, [1, 2, 5, 9, 12, 5]), NOW)
    assert steady is not None and erratic is not None
    assert (erratic.upper_s - erratic.lower_s) > (steady.upper_s - steady.lower_s)
