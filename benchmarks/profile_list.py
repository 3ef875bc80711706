"""One list request profiled with pyinstrument: where the time of a page goes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything python benchmarks/profile_list.py \\
        [--size 1000000] [--path /admin/tickets/ticket/] [--as staff|client] [--repeat 20] \\
        [--database-prefix eservice_data] [--flat] [--html FILE]

Runs the request through Django's test client against the generated dataset of that size
(benchmarks/datagen.py), once to warm up, then `repeat` times under the profiler, and prints
the call tree (--html FILE writes pyinstrument's HTML page instead).
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import datagen  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--path", default="/admin/tickets/ticket/")
    parser.add_argument("--as", dest="persona", choices=("staff", "client"), default="staff")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-prefix", default="eservice_data")
    parser.add_argument("--html", default="", help="write the HTML report to this file")
    parser.add_argument("--flat", action="store_true", help="functions by total time, flat")
    return parser.parse_args()


def main():
    args = parse_args()
    datagen.ensure_dataset(
        args.size, f"{args.database_prefix}_{datagen.SIZE_NAMES.get(args.size, args.size)}"
    )
    from django.test import Client
    from pyinstrument import Profiler
    from pyinstrument.renderers import ConsoleRenderer

    from accounts.models import User

    name = "data-staff-00" if args.persona == "staff" else "data-client-000-0"
    http = Client()
    http.force_login(User.objects.get(username=name))
    assert http.get(args.path).status_code == 200
    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(args.repeat):
            http.get(args.path)
    if args.html:
        Path(args.html).write_text(profiler.output_html())
    elif args.flat:
        print(profiler.output(ConsoleRenderer(flat=True, flat_time="total", show_all=True)))
    else:
        options = {"filter_threshold": 0.02}
        print(profiler.output(ConsoleRenderer(unicode=True, processor_options=options)))


if __name__ == "__main__":
    main()
