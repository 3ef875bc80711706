"""Benchmark of sla.business_time against the PyPI library ``businesstimedelta``.

Usage::

    python benchmarks/bench_business_time.py [--n 100000] [--btd-n 20000] [--seed 20260101]

Generates N deadlines with a fixed random seed: mixed regions (GMT, US-EST,
US-PST), start instants uniform over 2026-01-01 .. 2027-12-31 (any time of day,
any weekday, whole seconds) and durations 0 < d <= 180 business hours (20
business days, whole seconds).  Times ``add_business_time`` on all inputs,
``businesstimedelta`` on the first ``--btd-n`` inputs (it walks period by
period, and day by day to find holidays, so it is slow), checks that both agree
on every input timed with both, and times ``business_time_between``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import businesstimedelta  # noqa: E402
import pytz  # noqa: E402

from sla.business_time import (  # noqa: E402
    add_business_time,
    business_time_between,
    next_business_moment,
)
from sla.calendars import REGIONS, region_calendar  # noqa: E402

RANGE_START = datetime(2026, 1, 1, tzinfo=UTC)
RANGE_END = datetime(2028, 1, 1, tzinfo=UTC)  # exclusive: up to 2027-12-31 23:59:59
MAX_DURATION_S = 180 * 3600
EDGE_WALL_TIMES = [
    dtime(0),
    dtime(8, 59),
    dtime(9),
    dtime(12),
    dtime(17, 30),
    dtime(17, 59, 59),
    dtime(18),
]


def make_inputs(n: int, seed: int) -> list[tuple[str, datetime, timedelta]]:
    rng = random.Random(seed)
    span_s = int((RANGE_END - RANGE_START).total_seconds())
    regions = sorted(REGIONS)
    return [
        (
            rng.choice(regions),
            RANGE_START + timedelta(seconds=rng.randrange(span_s)),
            timedelta(seconds=rng.randint(1, MAX_DURATION_S)),
        )
        for _ in range(n)
    ]


def make_edge_inputs(seed: int, calendars) -> list[tuple[str, datetime, timedelta]]:
    """Boundary cases (not timed): starts exactly at/around local opening and
    closing times, durations that are whole business days or fill a day exactly."""
    rng = random.Random(seed)
    regions = sorted(REGIONS)
    day0 = RANGE_START.date().toordinal()
    days = (RANGE_END - RANGE_START).days
    out = []
    for _ in range(3000):
        region = rng.choice(regions)
        tz = calendars[region].tz
        day = date.fromordinal(day0 + rng.randrange(days))
        wall = rng.choice(EDGE_WALL_TIMES)
        start = datetime.combine(day, wall, tzinfo=tz)
        hours = rng.choice([0.5, 1, 6, 8.5, 9, 18, 45, 90, 135, 180])
        out.append((region, start.astimezone(UTC), timedelta(hours=hours)))
    return out


def compare(raw, ours, btd_utc, calendars):
    """Return (identical, closing-time rollovers, list of other mismatches)."""
    equal = rolled = 0
    mismatches = []
    tiny = timedelta(microseconds=1)
    for i, (ours_end, theirs) in enumerate(zip(ours, btd_utc, strict=True)):
        if ours_end == theirs:
            equal += 1
            continue
        cal = calendars[raw[i][0]]
        wall = ours_end.astimezone(cal.tz)
        if wall.time() == cal.close_time and theirs == next_business_moment(cal, ours_end + tiny):
            rolled += 1  # btd rolled an exact closing-time deadline to the next opening
        else:
            mismatches.append((i, raw[i], ours_end, theirs))
    return equal, rolled, mismatches


def run_btd(rules, raw):
    prepared = []
    for region, start, duration in raw:
        tz, rule = rules[region]
        prepared.append(
            (start.astimezone(tz), businesstimedelta.BusinessTimeDelta(rule, timedelta=duration))
        )
    t0 = time.perf_counter()
    results = [start + delta for start, delta in prepared]
    elapsed = time.perf_counter() - t0
    return elapsed, [r.astimezone(UTC) for r in results]


def btd_rules(calendar, tz_name: str):
    """businesstimedelta rules equivalent to ``calendar`` (documented pytz usage)."""
    tz = pytz.timezone(tz_name)
    workday = businesstimedelta.WorkDayRule(
        start_time=calendar.open_time,
        end_time=calendar.close_time,
        working_days=sorted(calendar.workdays),
        tz=tz,
    )
    holiday = businesstimedelta.HolidayRule(calendar.closed_dates, tz=tz)
    return tz, businesstimedelta.Rules([workday, holiday])


def per_call_us(seconds: float, calls: int) -> float:
    return seconds / calls * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of deadlines")
    parser.add_argument(
        "--btd-n",
        type=int,
        default=20_000,
        help="how many of the same inputs to run through businesstimedelta (0 = all)",
    )
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--repeat", type=int, default=3, help="best of N timing runs")
    args = parser.parse_args(argv)

    n = args.n
    btd_n = n if args.btd_n <= 0 else min(args.btd_n, n)

    # Calendars (and their business-day tables) are built before timing.
    calendars = {region: region_calendar(region) for region in REGIONS}
    for calendar in calendars.values():
        add_business_time(calendar, RANGE_START, timedelta(hours=1))
        add_business_time(calendar, RANGE_END, timedelta(hours=180))

    raw = make_inputs(n, args.seed)
    inputs = [(calendars[region], start, duration) for region, start, duration in raw]
    # The same instants expressed in each region's local zone (zoneinfo).
    local_inputs = [(cal, start.astimezone(cal.tz), d) for cal, start, d in inputs]

    def time_ours(data):
        best, out = float("inf"), None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = [add_business_time(cal, start, d) for cal, start, d in data]
            best = min(best, time.perf_counter() - t0)
        return best, out

    ours_s, ours = time_ours(inputs)
    ours_local_s, ours_local = time_ours(local_inputs)
    assert ours_local == ours

    best_between = float("inf")
    between_pairs = [(cal, start, end) for (cal, start, _), end in zip(inputs, ours, strict=True)]
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        between = [business_time_between(cal, a, b) for cal, a, b in between_pairs]
        best_between = min(best_between, time.perf_counter() - t0)
    between_bad = sum(1 for got, (_, _, d) in zip(between, inputs, strict=True) if got != d)
    # Reversed arguments and random pairs (not necessarily ordered).
    rng = random.Random(args.seed + 1)
    random_pairs = [(cal, a, rng.choice(inputs)[1]) for cal, a, _ in inputs]
    t0 = time.perf_counter()
    for cal, a, b in random_pairs:
        business_time_between(cal, a, b)
    random_between_s = time.perf_counter() - t0

    # businesstimedelta on the same inputs (first btd_n of them).
    rules = {}
    for region, (tz_name, _, _) in REGIONS.items():
        rules[region] = btd_rules(calendars[region], tz_name)
    btd_s, btd_utc = run_btd(rules, raw[:btd_n])
    equal, rolled, mismatches = compare(raw[:btd_n], ours[:btd_n], btd_utc, calendars)

    # Boundary cases, checked (not timed) against businesstimedelta as well.
    edge_raw = make_edge_inputs(args.seed + 2, calendars)
    edge_ours = [add_business_time(calendars[r], start, d) for r, start, d in edge_raw]
    _, edge_btd = run_btd(rules, edge_raw)
    edge_equal, edge_rolled, edge_mismatches = compare(edge_raw, edge_ours, edge_btd, calendars)

    ours_us = per_call_us(ours_s, n)
    btd_us = per_call_us(btd_s, btd_n)
    print(f"inputs: {n} deadlines, seed {args.seed}, regions {sorted(REGIONS)}")
    print("        starts uniform 2026-01-01..2027-12-31 (UTC instants), 0 < d <= 180 bh")
    print(f"ours   add_business_time   (UTC-aware starts):  {ours_us:8.3f} us/deadline")
    print(
        f"ours   add_business_time   (zoneinfo starts):   "
        f"{per_call_us(ours_local_s, n):8.3f} us/deadline"
    )
    print(f"businesstimedelta (first {btd_n} inputs):       {btd_us:8.3f} us/deadline")
    print(f"ratio businesstimedelta / ours:                 {btd_us / ours_us:8.1f}x")
    print(
        f"ours   business_time_between(start, deadline):  "
        f"{per_call_us(best_between, n):8.3f} us/call "
        f"({between_bad} results != duration)"
    )
    print(
        f"ours   business_time_between(random pairs):     "
        f"{per_call_us(random_between_s, n):8.3f} us/call"
    )
    print(
        f"agreement on {btd_n} inputs: {equal} identical, "
        f"{rolled} closing-time rollovers (18:00 vs next 09:00), "
        f"{len(mismatches)} mismatches"
    )
    print(
        f"agreement on {len(edge_raw)} boundary inputs (starts at 00:00/08:59/09:00/"
        f"17:59:59/18:00 local, whole-day durations): {edge_equal} identical, "
        f"{edge_rolled} closing-time rollovers, {len(edge_mismatches)} mismatches"
    )
    for i, (region, start, duration), ours_end, theirs in (mismatches + edge_mismatches)[:10]:
        print(
            f"  MISMATCH #{i} {region} start={start.isoformat()} d={duration} "
            f"ours={ours_end.isoformat()} btd={theirs.isoformat()}"
        )
    return 1 if mismatches or edge_mismatches or between_bad else 0


if __name__ == "__main__":
    sys.exit(main())
