"""The processes an HTTP benchmark starts (web server, Celery worker, mail and webhook
sinks) and the database copy it writes to: every one started here is stopped here, by its
own process group, even when the run fails."""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# A webhook receiver that answers 204 to every POST: the product's worker delivers to it.
WEBHOOK_SINK = """
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204); self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
"""


class Processes:
    """Start named processes, each leading its own process group; stop them all."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict, cwd: Path) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started[name] = process
        return process

    def stop(self, name: str) -> None:
        process = self.started.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.started):
            self.stop(name)

    def log_tail(self, name: str, lines: int = 20) -> str:
        text = (self.log_dir / f"{name}.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()


def start_sinks(procs: Processes, smtp_port: int, hook_port: int, cwd: Path) -> None:
    """A real SMTP server (aiosmtpd, which discards) and a webhook receiver on loopback."""
    env = dict(os.environ)
    procs.start("smtp", smtp_argv(sys.executable, smtp_port), env, cwd)
    procs.start("webhooks", [sys.executable, "-c", WEBHOOK_SINK, str(hook_port)], env, cwd)


def smtp_argv(python: str, port: int) -> list[str]:
    """aiosmtpd's command line server with its handler that accepts and discards."""
    return [
        python,
        "-m",
        "aiosmtpd",
        "-n",
        "-l",
        f"127.0.0.1:{port}",
        "-c",
        "aiosmtpd.handlers.Sink",
    ]


def gunicorn_argv(python: str, app: str, port: int, workers: int, threads: int) -> list[str]:
    return [
        python,
        "-m",
        "gunicorn",
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--backlog",
        "256",
        # Longer than any user's pause: gunicorn's 2 s default closes idle connections while
        # users read, and a POST sent as the server closes its connection fails (a GET is
        # sent again). A reverse proxy in front keeps its upstream connections this way.
        "--keep-alive",
        "75",
        "--worker-tmp-dir",
        "/dev/shm",
    ]


def wait_http(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    """Wait until `url` answers at all (any status): the server has imported its app."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=5)  # noqa: S310 - loopback URL we built
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text().split()
        kids.extend(int(k) for k in text)
    return kids


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU seconds these processes have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def copy_database(conninfo: str, source: str, target: str, attempts: int = 30) -> float:
    """CREATE DATABASE target TEMPLATE source; PostgreSQL refuses while anyone is connected
    to the source, so wait for a quiet moment. Returns the seconds it took."""
    import psycopg
    from psycopg import sql

    started = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target))
        )
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(target), sql.Identifier(source)
        )
        for attempt in range(attempts):
            try:
                conn.execute(statement)
                return time.perf_counter() - started
            except psycopg.errors.ObjectInUse:
                if attempt == attempts - 1:
                    raise
                time.sleep(2)
    return time.perf_counter() - started


def drop_database(conninfo: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def database_exists(conninfo: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        query = "SELECT 1 FROM pg_database WHERE datname = %s"
        return conn.execute(query, [name]).fetchone() is not None


def forget_redis_keys(url: str, prefix: str) -> int:
    """Delete the run's cache, session and broker keys (all named `prefix`…)."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{prefix}*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    return len(keys)
