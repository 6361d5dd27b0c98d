"""The pacer on a simulated clock: the cap in every sliding second, the pace it keeps, and how
it pauses and recovers after a flood wait. Deterministic, so these are exact, not timed."""

from __future__ import annotations

import bisect
import itertools
import random

from bot.runtime.pacing import HEADROOM, Pacer


def most_in_any_second(sends: list[float]) -> int:
    """The largest number of sends inside any sliding window of one second."""
    return max(bisect.bisect_left(sends, at + 1.0) - i for i, at in enumerate(sends))


def drive(pacer: Pacer, count: int, *, stalls: random.Random | None = None) -> list[float]:
    """A sender that sends as soon as the pacer allows, sometimes stalled by a busy machine."""
    now, sends = 0.0, []
    for _ in range(count):
        now += pacer.delay(now)
        if stalls is not None and stalls.random() < 0.05:
            now += stalls.uniform(0.0, 0.4)  # the loop was busy elsewhere for a while
        pacer.take(now)
        sends.append(now)
    return sends


def test_an_unhindered_sender_keeps_the_rate_and_never_exceeds_the_cap() -> None:
    sends = drive(Pacer(30), 600)
    assert most_in_any_second(sends) < 30
    rate = (len(sends) - 1) / (sends[-1] - sends[0])
    assert 30 * 0.94 <= rate <= 30 * HEADROOM  # the safety margins cost at most 6%


def test_a_stalled_sender_catches_up_without_a_burst_over_the_cap() -> None:
    for seed in range(20):
        sends = drive(Pacer(100), 2_000, stalls=random.Random(seed))
        assert most_in_any_second(sends) < 100, seed


def test_a_flood_wait_pauses_the_sender_then_the_pace_climbs_back_gradually() -> None:
    pacer = Pacer(30)
    now = drive(pacer, 60)[-1]
    pacer.flood(5.0, now)
    assert pacer.delay(now) >= 5.0 - 1e-9  # nothing until the wait is over
    slowed = pacer.factor
    assert slowed < 1.0
    resumed = now + pacer.delay(now)
    now, sends = resumed, []
    while pacer.factor < 1.0:
        now += pacer.delay(now)
        pacer.take(now)
        sends.append(now)
    gaps = sorted(later - earlier for earlier, later in itertools.pairwise(sends[:11]))
    assert gaps[5] > 1 / (30 * 0.9)  # slower than the cap's pace right after the wait
    assert now - resumed >= (1.0 - slowed) / 0.1 * 0.9  # 10% of the cap back per second
