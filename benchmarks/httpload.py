"""A bounded HTTP load generator: virtual users on one asyncio loop, each running its
persona's weighted mix of actions back to back (a closed loop, no think time), with the
latency of every page load kept per page type.

The pieces are small so that tests can drive them against any server: `percentile`,
`Stats` (what was measured), `Mix` (which action a user runs next), `VirtualUser` (one
signed-in browser or API client) and `run_users` (the loop, bounded by a deadline).
"""

import asyncio
import math
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# A request that takes longer than this counts as an error (a page nobody waits for).
REQUEST_TIMEOUT_S = 30.0


class PageError(Exception):
    """A page answered something other than what the action expects."""


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class PageStats:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""

    def row(self, seconds: float) -> dict:
        return {
            "count": len(self.latencies_ms),
            "rate": len(self.latencies_ms) / seconds if seconds else 0.0,
            "p50": percentile(self.latencies_ms, 50),
            "p95": percentile(self.latencies_ms, 95),
            "p99": percentile(self.latencies_ms, 99),
            "errors": self.errors,
            "first_error": self.first_error,
        }


class Stats:
    """Latencies and errors per page type; only recorded while `recording` is on."""

    def __init__(self):
        self.pages: dict[str, PageStats] = {}
        self.recording = True
        self.retries = 0  # GETs sent again after the server closed their connection

    def ok(self, page: str, ms: float) -> None:
        if self.recording:
            self.pages.setdefault(page, PageStats()).latencies_ms.append(ms)

    def error(self, page: str, detail: str) -> None:
        if self.recording:
            stats = self.pages.setdefault(page, PageStats())
            stats.errors += 1
            stats.first_error = stats.first_error or detail[:200]

    def rows(self, seconds: float) -> dict[str, dict]:
        return {page: stats.row(seconds) for page, stats in sorted(self.pages.items())}

    def total_errors(self) -> int:
        return sum(stats.errors for stats in self.pages.values())


Action = Callable[["VirtualUser"], Awaitable[None]]


class Mix:
    """A persona's actions and their weights; `pick` draws the next one."""

    def __init__(self, weighted: dict[str, tuple[float, Action]]):
        if not weighted or any(weight <= 0 for weight, _ in weighted.values()):
            raise ValueError("a mix needs actions with positive weights")
        self.names = list(weighted)
        self.weights = [weighted[name][0] for name in self.names]
        self.actions = {name: action for name, (_, action) in weighted.items()}

    def pick(self, rng: random.Random) -> tuple[str, Action]:
        name = rng.choices(self.names, weights=self.weights)[0]
        return name, self.actions[name]


class VirtualUser:
    """One client of the server: its own cookies, CSRF token and what it has seen."""

    def __init__(self, base_url: str, stats: Stats, mix: Mix, seed: int, **known):
        self.http = httpx.AsyncClient(
            base_url=base_url, timeout=REQUEST_TIMEOUT_S, follow_redirects=False
        )
        self.stats = stats
        self.mix = mix
        self.rng = random.Random(seed)
        self.known = dict(known)  # references, ids, credentials: whatever the mix needs

    async def call(self, method: str, url: str, expect=(200,), **kwargs) -> httpx.Response:
        try:
            response = await self.http.request(method, url, **kwargs)
        except (httpx.RemoteProtocolError, httpx.ReadError):
            # The server closed a kept-alive connection as the request went out (after a
            # user's pause, gunicorn's keep-alive may just have expired); a browser sends an
            # idempotent request again on a new connection (RFC 9112, 9.3.1).
            if method != "GET":
                raise
            self.stats.retries += 1
            response = await self.http.request(method, url, **kwargs)
        if response.status_code not in expect:
            raise PageError(f"{method} {url} -> {response.status_code}")
        return response

    async def timed(self, page: str, step: Callable[[], Awaitable[object]]):
        """Run one page load (one or more requests) and record its latency or its error."""
        started = time.perf_counter()
        try:
            result = await step()
        except (PageError, httpx.HTTPError) as error:
            self.stats.error(page, f"{type(error).__name__}: {error}")
            return None
        self.stats.ok(page, (time.perf_counter() - started) * 1000)
        return result

    def csrf_header(self) -> dict:
        return {"X-CSRFToken": self.http.cookies.get("csrftoken", "")}

    async def login(self, path: str, username: str, password: str, extra: dict | None = None):
        """Sign in through the real form: GET it for the CSRF token, POST it, expect a
        redirect and a session cookie."""
        page = await self.call("GET", path)
        token = csrf_from(page.text)
        data = {"csrfmiddlewaretoken": token, "username": username, "password": password}
        await self.call("POST", path, expect=(302,), data={**data, **(extra or {})})
        if not any(name.endswith("sessionid") for name in self.http.cookies):
            raise PageError(f"no session after signing in as {username}")

    async def close(self) -> None:
        await self.http.aclose()


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    if not match:
        raise PageError("no CSRF token in the form")
    return match.group(1)


async def _loop(user: VirtualUser, deadline: float, think: float = 0.0) -> None:
    while time.monotonic() < deadline:
        _name, action = user.mix.pick(user.rng)
        await action(user)
        if think > 0:
            # A person reads the page before the next click: exponential, mean `think` s.
            await asyncio.sleep(min(user.rng.expovariate(1 / think), deadline - time.monotonic()))


async def run_users(
    users: list[VirtualUser], seconds: float, warmup: float = 0.0, think: float = 0.0
) -> dict:
    """Run every user's mix for `warmup` seconds unrecorded, then `seconds` recorded; with
    `think` > 0 each user pauses that long on average between page loads (0: back to back).

    Returns the recorded wall time and this process's CPU time over it (the generator's own
    cost, which must stay well under the server's)."""
    stats = {user.stats for user in users}
    for s in stats:
        s.recording = False
    await asyncio.gather(*(_loop(u, time.monotonic() + warmup, think) for u in users))
    for s in stats:
        s.recording = True
    wall, cpu = time.perf_counter(), time.process_time()
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(_loop(user, deadline, think) for user in users))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"seconds": wall, "cpu_seconds": cpu, "cpu_share": cpu / wall if wall else 0.0}


async def run_capacity(
    users_of: dict[str, list[VirtualUser]],
    actions: dict[str, Action],
    pages: list[str],
    seconds: float,
    warmup: float = 0.0,
) -> dict[str, dict]:
    """Each page on its own: every user of the page's persona loads only that page, back to
    back, for `warmup` then `seconds` s; one page after the other, so no page waits behind
    another's queue. What a page sustains this way is its capacity on this server (pages/s),
    the figure two servers can be compared on page for page; in a mix, a persona whose pages
    are slow holds its users and leaves the server to the others.

    pages are names such as "client_list": persona, underscore, page (the action
    "client.list" in `actions`). Returns each page's row (Stats.rows) and its wall time."""
    rows = {}
    for page in pages:
        persona = page.split("_", 1)[0]
        users = users_of.get(persona) or []
        if not users:
            continue
        stats = Stats()
        mix = Mix({page: (1, actions[page.replace("_", ".", 1)])})
        for user in users:
            user.stats, user.mix = stats, mix
        run = await run_users(users, seconds, warmup)
        rows[page] = stats.rows(run["seconds"]).get(page) or PageStats().row(run["seconds"])
        rows[page]["seconds"] = run["seconds"]
    return rows


def format_rows(rows: dict[str, dict]) -> list[str]:
    lines = [f"{'page':<16} {'loads':>6} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'err':>4}"]
    for page, r in rows.items():
        lines.append(
            f"{page:<16} {r['count']:6d} {r['rate']:7.1f} {r['p50']:7.1f} {r['p95']:7.1f} "
            f"{r['p99']:7.1f} {r['errors']:4d}"
        )
    return lines


# The persona mix, page -> weight in percent, that both sides of the comparison run.
WEIGHTS = {
    "client": {"list": 40, "open": 40, "reply": 20},
    "staff": {"desk": 35, "search": 20, "ticket": 25, "triage": 20},
    "api": {"create": 1},
}


def actions(namespace: dict) -> dict[str, Action]:
    """The coroutine of each "persona.page" of WEIGHTS: the one named persona_page in
    `namespace` (a benchmark module's globals())."""
    return {
        f"{persona}.{page}": namespace[f"{persona}_{page}"]
        for persona, pages in WEIGHTS.items()
        for page in pages
    }


def mixes(actions: dict[str, Callable[[VirtualUser], Awaitable[None]]]) -> dict[str, Mix]:
    """Each persona's Mix from WEIGHTS, with `actions` naming the coroutine for each
    "persona.page"."""
    return {
        persona: Mix({page: (w, actions[f"{persona}.{page}"]) for page, w in pages.items()})
        for persona, pages in WEIGHTS.items()
    }
