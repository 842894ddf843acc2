"""Command line of the benchmark: generate data, run the load, write bench/RESULTS.md.

    python -m bench all                       # the table in bench/RESULTS.md
    python -m bench generate --preset 10k     # data only
    python -m bench run --preset national     # load only (data already generated)
    python -m bench chaos --minutes 2         # mixed load with five faults, then the checks

See bench/README.md.
"""

import argparse
import json
import logging
import os
import sys

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/cellule_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
HERE = os.path.dirname(os.path.abspath(__file__))
INSTANCE = os.path.join(HERE, "instance")
SECRET_KEY = "bench-secret-key-not-for-production"


def make_app(database_url, redis_url):
    from cellule import create_app
    from cellule.config import normalise_database_url

    os.makedirs(INSTANCE, exist_ok=True)
    return create_app(
        {"SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
         "REDIS_URL": redis_url, "SECRET_KEY": SECRET_KEY},
        INSTANCE,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                DEFAULT_DATABASE_URL))
        p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL",
                                                             DEFAULT_REDIS_URL))

    gen = sub.add_parser("generate", help="reset, migrate and fill the database")
    common(gen)
    gen.add_argument("--preset", default="200", choices=("200", "10k", "national"))
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--workers", type=int, default=3,
                     help="generator processes, each with its own COPY stream (PostgreSQL)")

    run = sub.add_parser("run", help="load-test gunicorn on the generated database")
    common(run)
    run.add_argument("--preset", required=True, choices=("200", "10k", "national"))
    run.add_argument("--modes", default="sequential,concurrent")
    run.add_argument("--users", type=int, default=50)
    run.add_argument("--requests", type=int, default=300,
                     help="requests per endpoint in sequential mode")
    run.add_argument("--seconds", type=float, default=20,
                     help="duration per endpoint in concurrent mode")
    run.add_argument("--gunicorn-workers", type=int, default=2)
    run.add_argument("--gunicorn-threads", type=int, default=4)
    run.add_argument("--out", default=os.path.join(HERE, "results"),
                     help="directory for the JSON results of each run")
    run.add_argument("--note", default="", help="what else was running on the machine")
    run.add_argument("--endpoints", default="", help="comma-separated subset (default: all)")

    prof = sub.add_parser("profile", help="statements, SQL vs Python time and plans per call")
    common(prof)
    prof.add_argument("--preset", required=True, choices=("200", "10k", "national"))
    prof.add_argument("--endpoints", default="", help="comma-separated (default: all)")
    prof.add_argument("--repeat", type=int, default=20)
    prof.add_argument("--pyinstrument", action="store_true")
    prof.add_argument("--output", default=os.path.join(HERE, "PROFILE.md"))

    report = sub.add_parser("report", help="write bench/RESULTS.md from the JSON results")
    report.add_argument("--results", default=os.path.join(HERE, "results"))
    report.add_argument("--output", default=os.path.join(HERE, "RESULTS.md"))

    chaos = sub.add_parser("chaos", help="mixed load with five faults on servers of its own, "
                                         "then check every write (bench/chaos.py)")
    chaos.add_argument("--minutes", type=float, default=10)
    chaos.add_argument("--users", type=int, default=30)
    chaos.add_argument("--think", type=float, default=0.65,
                       help="mean seconds a user waits between two requests (0.65 s: about "
                            "45 requests/s with 30 users, the issue's 28 000 in 10 minutes)")
    chaos.add_argument("--preset", default="200", choices=("200", "10k"))
    chaos.add_argument("--gunicorn-workers", type=int, default=2)
    chaos.add_argument("--gunicorn-threads", type=int, default=4)
    chaos.add_argument("--drain-seconds", type=float, default=240,
                       help="longest wait for the workers to finish the outbox after the load")
    chaos.add_argument("--out", default=os.path.join(HERE, "results"))
    chaos.add_argument("--note", default="", help="what else was running on the machine")
    chaos.add_argument("--no-record", dest="record", action="store_false",
                       help="do not append the summary to bench/CHAOS.md")
    chaos.add_argument("--keep", action="store_true",
                       help="keep the temporary PostgreSQL directory (logs) after the run")

    peer = sub.add_parser("peer", help="the five calls compared with Aselo HRM, interleaved, "
                                       "and their round trips (bench/peer.py)")
    common(peer)
    peer.add_argument("--preset", required=True, choices=("200", "10k", "national"))
    peer.add_argument("--rounds", type=int, default=200)
    peer.add_argument("--warmup", type=int, default=10)
    peer.add_argument("--count-rounds", type=int, default=5)
    peer.add_argument("--counts-only", action="store_true")
    peer.add_argument("--note", default="")
    peer.add_argument("--out", default=os.path.join(HERE, "results"))

    every = sub.add_parser("all", help="generate 200 and national, run both, write RESULTS.md")
    common(every)
    every.add_argument("--presets", default="200,national")
    every.add_argument("--workers", type=int, default=3)
    every.add_argument("--note", default="")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("bench").setLevel(logging.INFO)
    if args.command == "generate":
        from .generate import generate

        summary = generate(make_app(args.database_url, args.redis_url), args.preset,
                           seed=args.seed, workers=args.workers)
        print(json.dumps(summary, indent=2))
        return 0
    if args.command == "run":
        from .loadrun import run_all

        run_all(args)
        return 0
    if args.command == "profile":
        from .profile import profile, write_profile

        result = profile(make_app(args.database_url, args.redis_url), args.database_url,
                         args.preset, endpoints=set(filter(None, args.endpoints.split(",")))
                         or None, repeat=args.repeat, use_pyinstrument=args.pyinstrument)
        write_profile(result, args.output)
        return 0
    if args.command == "chaos":
        from .chaos import run

        return run(args)
    if args.command == "peer":
        from .peer import run

        run(args, make_app(args.database_url, args.redis_url))
        return 0
    if args.command == "report":
        from .report import write_report

        write_report(args.results, args.output)
        return 0
    if args.command == "all":
        from .generate import generate
        from .loadrun import run_all
        from .report import write_report

        out = os.path.join(HERE, "results")
        for preset in args.presets.split(","):
            generate(make_app(args.database_url, args.redis_url), preset,
                     workers=args.workers)
            run_all(argparse.Namespace(
                database_url=args.database_url, redis_url=args.redis_url, preset=preset,
                modes="sequential,concurrent", users=50, requests=300, seconds=20,
                gunicorn_workers=2, gunicorn_threads=4, out=out, note=args.note,
                endpoints=""))
        write_report(out, os.path.join(HERE, "RESULTS.md"))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
