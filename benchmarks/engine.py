"""Benchmarks of the embedded engine and the CLI: every figure is a fresh process, repeated.

Run from the repository with the dev venv::

    .venv/bin/python benchmarks/engine.py            # 5 runs of everything (~10 min on 2 cores)
    .venv/bin/python benchmarks/engine.py --quick    # 3 runs, level0 and level2 only, fewer sizes
    .venv/bin/python benchmarks/engine.py --runs 7 --json results.json

Every measurement runs a new process (``os.wait4`` gives its wall time and its own peak RSS) and the
table shows the median, min and max. Nothing here touches ``./.mlplatform`` or a running emulator of
yours: the script works in its own temporary directory and state directory (``MLPLATFORM_STATE_DIR``),
starts its own emulator there and stops it at the end.

What is measured (see docs/performance.md for what the numbers mean):

* import floor: ``python -c "import pulumi, pulumi_aws"``; then the pulumi_aws submodules the blueprints
  use (found by evaluating level2 offline), which pulumi_aws imports lazily on first attribute access.
* CLI start-up (``mlplatform --version``) and emulator start (``mlplatform emulator start`` with a fresh
  state directory; stopped after each run, not timed).
* ``mlplatform preview --blueprint levelN`` with no state (everything is a create), the emulator running.
* ``up --yes`` from fresh state, a second ``up --yes`` (no-op), and ``destroy --yes``, per level and run;
  the env's state directory is removed after the destroy so every ``up`` starts fresh.
* engine overhead per resource: a program of one explicit provider and N ``aws.s3.Bucket`` s, evaluated
  in a fresh process (a) by the embedded engine as an offline preview and (b) by the bare SDK under
  ``pulumi.runtime.set_mocks`` with trivial mocks; (a - b) / N. Imports are done before the clock starts.
* ``preview --blueprint level0`` with 500 extra buckets (the CLI, with the program wrapped), and its peak RSS.
* the Pulumi engine next to the embedded one (``--only pulumi``; in the default set when a Pulumi CLI is found
  by ``scripts/pulumi-cli --check``): level2 ``preview`` with no state, ``up`` from fresh state, a no-op
  ``up``, a ``preview`` with state and ``destroy``, through ``--engine pulumi`` (the real Pulumi CLI with the
  emulator provider standing in for pulumi-aws, in a ``PULUMI_HOME`` of the benchmark's own) and through
  ``--engine embedded``, the two engines alternating run by run so that load affects both alike.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PYTHON = sys.executable
ROOT = Path(__file__).resolve().parents[1]
REPO = Path(__file__).resolve().parent.parent

# ---- programs run in child processes -------------------------------------------------------------------

# Which pulumi_aws submodules a blueprint's program touches: evaluate it offline, read sys.modules.
_DISCOVER = r"""
import sys
from mlplatform import environments
from mlplatform.engine.embedded.deployment import Deployment
from mlplatform.engine.embedded.handlers import registry
from mlplatform.engine.embedded.monitor import EngineMonitor
from mlplatform.engine.embedded.runner import run_program
from mlplatform.program import TargetSettings, build_platform
spec = environments.resolve("local", sys.argv[1]).spec
settings = TargetSettings(region=spec.region, endpoint="http://127.0.0.1:1", account_id="123456789012")
d = Deployment(previous={}, handlers=registry(), preview=True, offline=True)
run_program(lambda: build_platform(spec, settings), EngineMonitor(d, "mlplatform", "local"), preview=True, parallel=10)
# pulumi_aws registers every submodule lazily in sys.modules; only loaded ones are plain modules.
names = {m.split(".")[1] for m, mod in sys.modules.items() if m.startswith("pulumi_aws.")
         and type(mod).__name__ != "_LazyModule" and hasattr(mod, "__path__")}
print(" ".join(sorted(name for name in names if not name.startswith("_"))))
"""

# Import the given submodules one by one and print each one's import time (seconds), as JSON.
_SUBMODULES = r"""
import importlib, json, sys, time
import pulumi, pulumi_aws
times = {}
for name in sys.argv[1:]:
    start = time.perf_counter()
    module = importlib.import_module("pulumi_aws." + name)  # a lazy module: the next line loads it
    getattr(module, "__all__", None)
    times[name] = time.perf_counter() - start
print(json.dumps(times))
"""

# One provider and N buckets, evaluated by the embedded engine (offline preview) or by the bare SDK
# under set_mocks with trivial mocks. Prints the evaluation time (imports excluded) as JSON.
_OVERHEAD = r"""
import asyncio, json, sys, time
from concurrent.futures import ThreadPoolExecutor
import pulumi, pulumi_aws as aws
import pulumi_aws.s3  # the submodule's import is the SDK's cost, not the engine's: keep it off the clock

mode, n = sys.argv[1], int(sys.argv[2])

def program():
    provider = aws.Provider(
        "bench", region="us-east-1", access_key="x", secret_key="x", skip_credentials_validation=True,
        skip_requesting_account_id=True, skip_metadata_api_check=True, s3_use_path_style=True,
        endpoints=[aws.ProviderEndpointArgs(s3="http://127.0.0.1:1")],
    )
    opts = pulumi.ResourceOptions(provider=provider)
    for i in range(n):
        aws.s3.Bucket(f"bench-{i}", bucket=f"bench-bucket-{i}", tags={"bench": str(i)}, opts=opts)

if mode == "engine":
    from mlplatform.engine.embedded.deployment import Deployment
    from mlplatform.engine.embedded.handlers import registry
    from mlplatform.engine.embedded.monitor import EngineMonitor
    from mlplatform.engine.embedded.runner import run_program
    start = time.perf_counter()
    d = Deployment(previous={}, handlers=registry(), preview=True, offline=True)
    run_program(program, EngineMonitor(d, "bench", "bench"), preview=True, parallel=10)
    assert len(d.plan()) == n + 1, len(d.plan())
else:
    from pulumi.runtime.mocks import Mocks
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    class TrivialMocks(Mocks):
        def new_resource(self, args):
            return args.name + "-id", args.inputs
        def call(self, args):
            return {}

    # The same executor size as the engine's runner (parallel=10), so only the monitor differs.
    loop = asyncio.new_event_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=10))
    asyncio.set_event_loop(loop)
    start = time.perf_counter()
    pulumi.runtime.set_mocks(TrivialMocks(), project="bench", stack="bench", preview=True)
    _sync_await(run_pulumi_func(program))
print(json.dumps({"seconds": time.perf_counter() - start}))
"""

# The CLI with the program wrapped to declare N extra buckets (on their own explicit provider).
_CLI_EXTRA = r"""
import sys
import mlplatform.program as program

extra = int(sys.argv[1])
original = program.build_platform

def build_platform(spec, settings):
    import pulumi
    import pulumi_aws as aws
    exports = original(spec, settings)
    provider = aws.Provider(
        "bench-extra", region=settings.region, access_key="mlplatform-local", secret_key="mlplatform-local",
        skip_credentials_validation=True, skip_requesting_account_id=True, skip_metadata_api_check=True,
        s3_use_path_style=True, endpoints=[aws.ProviderEndpointArgs(s3=settings.endpoint)],
    )
    opts = pulumi.ResourceOptions(provider=provider)
    for i in range(extra):
        aws.s3.Bucket(f"bench-extra-{i}", bucket=f"bench-extra-{i}", opts=opts)
    return exports

program.build_platform = build_platform
from mlplatform.cli import main
sys.argv = ["mlplatform", *sys.argv[2:]]
main()
"""


# ---- measuring -------------------------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    rss_mb: float
    code: int
    inner: float | None = None  # a time the child printed (JSON "seconds"), when it reports one
    stdout: str = ""


@dataclass
class Row:
    name: str
    samples: list[Sample] = field(default_factory=list)
    use_inner: bool = False
    note: str = ""

    def values(self) -> list[float]:
        return [s.inner if self.use_inner and s.inner is not None else s.seconds for s in self.samples]

    def median(self) -> float:
        return statistics.median(self.values())

    def failures(self) -> list[int]:
        return [s.code for s in self.samples if s.code != 0]


class Bench:
    def __init__(self, workdir: Path, verbose: bool) -> None:
        self.workdir = workdir
        self.state = workdir / "state"
        self.cwd = workdir / "project"  # an empty directory: no stacks/ file, env local
        self.cwd.mkdir(parents=True)
        self.verbose = verbose
        self.cli = _cli_command()
        self.env = {**os.environ, "MLPLATFORM_STATE_DIR": str(self.state), "PYTHONDONTWRITEBYTECODE": "0"}
        self.env.pop("MLPLATFORM_PLAINTEXT_SECRETS", None)

    def run(self, argv: Sequence[str], *, env: dict[str, str] | None = None) -> Sample:
        """Run one fresh process; its wall time and its own peak RSS (``wait4``, not all children's)."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            started = time.perf_counter()
            proc = subprocess.Popen(
                list(argv), cwd=self.cwd, env=env or self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
            )
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - started
            proc.returncode = code = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
            out.seek(0)
            err.seek(0)
            text, errors = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        inner = None
        lines = text.strip().splitlines()
        if lines and lines[-1].startswith("{"):
            with contextlib.suppress(ValueError, AttributeError):
                inner = json.loads(lines[-1]).get("seconds")
        if code != 0 and self.verbose:
            print(f"    exit {code}: {' '.join(argv[-4:])}\n{_tail(text + errors)}", file=sys.stderr)
        return Sample(seconds, usage.ru_maxrss / 1024, code, inner, text)

    def mlp(self, *args: str) -> Sample:
        return self.run([*self.cli, *args])


def _cli_command() -> list[str]:
    """The installed console script (what users run), else the module entry point."""
    script = Path(PYTHON).parent / "mlplatform"
    if script.is_file():
        return [str(script)]
    return [PYTHON, "-c", "from mlplatform.cli import main; main()"]


def _tail(text: str, lines: int = 6) -> str:
    return "\n".join("      " + line for line in text.strip().splitlines()[-lines:])


def _measure(bench: Bench, row: Row, runs: int, make: Callable[[], Sample]) -> Row:
    for i in range(runs):
        sample = make()
        row.samples.append(sample)
        if bench.verbose:
            shown = sample.inner if row.use_inner and sample.inner is not None else sample.seconds
            print(
                f"  {row.name} [{i + 1}/{runs}] {shown:.3f}s rss {sample.rss_mb:.0f} MB exit {sample.code}",
                file=sys.stderr,
            )
    return row


# ---- the benchmark -----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=None, help="runs per measurement (default 5; 3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="3 runs, level0 and level2 only, sizes 10 and 500")
    parser.add_argument("--json", type=Path, help="also write the raw samples here")
    parser.add_argument("--only", help="comma-separated sections: imports,startup,preview,up,overhead,extra,pulumi")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (for debugging)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-run progress on stderr")
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 5)
    levels = ["level0", "level2"] if args.quick else ["level0", "level1", "level2"]
    sizes = [10, 500] if args.quick else [10, 100, 500]
    sections = set((args.only or "imports,startup,preview,up,overhead,extra,pulumi").split(","))

    workdir = Path(tempfile.mkdtemp(prefix="mlplatform-bench-"))
    bench = Bench(workdir, verbose=not args.quiet)
    rows: list[Row] = []
    extra_tables: list[str] = []
    began = time.perf_counter()
    print(f"mlplatform engine benchmark: {runs} runs each, fresh process each, {os.cpu_count()} CPUs", file=sys.stderr)
    try:
        if "imports" in sections:
            rows.append(
                _measure(
                    bench,
                    Row("import floor: import pulumi, pulumi_aws"),
                    runs,
                    lambda: bench.run([PYTHON, "-c", "import pulumi, pulumi_aws"]),
                )
            )
            modules = bench.run([PYTHON, "-c", _DISCOVER, "level2"]).stdout.split()
            if modules:
                row = Row(f"import floor + the {len(modules)} pulumi_aws submodules level2 uses")
                per_module: dict[str, list[float]] = {m: [] for m in modules}

                def submodules() -> Sample:
                    sample = bench.run([PYTHON, "-c", _SUBMODULES, *modules])
                    with contextlib.suppress(ValueError):
                        for name, seconds in json.loads(sample.stdout).items():
                            per_module[name].append(seconds)
                    return sample

                rows.append(_measure(bench, row, runs, submodules))
                ranked = sorted(per_module.items(), key=lambda item: -statistics.median(item[1] or [0.0]))
                lines = ["| pulumi_aws submodule | import (median s) |", "|---|---:|"]
                lines += [f"| {name} | {statistics.median(values):.3f} |" for name, values in ranked if values]
                lines.append(f"| **sum** | **{sum(statistics.median(v) for _, v in ranked if v):.3f}** |")
                extra_tables.append("\n".join(lines))

        if "startup" in sections:
            rows.append(
                _measure(bench, Row("mlplatform --version (CLI start-up)"), runs, lambda: bench.mlp("--version"))
            )

            def emulator_start() -> Sample:
                fresh = workdir / f"emu-{time.monotonic_ns()}"
                sample = bench.mlp("emulator", "start", "--state-dir", str(fresh))
                bench.mlp("emulator", "stop", "--state-dir", str(fresh))
                return sample

            rows.append(_measure(bench, Row("mlplatform emulator start (cold, fresh state dir)"), runs, emulator_start))

        if sections & {"preview", "up", "extra", "pulumi"}:
            started = bench.mlp("emulator", "start")
            if started.code != 0:
                raise SystemExit(f"cannot start the emulator: {started.stdout}")

        if "preview" in sections:
            for level in levels:
                _reset_env(bench)
                rows.append(
                    _measure(
                        bench,
                        Row(f"preview --blueprint {level} (no state)"),
                        runs,
                        functools.partial(bench.mlp, "preview", "--blueprint", level),
                    )
                )

        if "up" in sections:
            ups = {
                level: (
                    Row(f"up --blueprint {level} (fresh state)"),
                    Row(f"up --blueprint {level} (no-op)"),
                    Row(f"destroy ({level})"),
                )
                for level in levels
            }
            for i in range(runs):
                for level in levels:
                    _reset_env(bench)
                    up, noop, destroy = ups[level]
                    for row, sample in (
                        (up, bench.mlp("up", "--yes", "--blueprint", level)),
                        (noop, bench.mlp("up", "--yes", "--blueprint", level)),
                        (destroy, bench.mlp("destroy", "--yes")),
                    ):
                        row.samples.append(sample)
                        if bench.verbose:
                            print(
                                f"  {row.name} [{i + 1}/{runs}] {sample.seconds:.3f}s rss {sample.rss_mb:.0f} MB "
                                f"exit {sample.code}",
                                file=sys.stderr,
                            )
            for level in levels:
                rows.extend(ups[level])
            _reset_env(bench)

        if "overhead" in sections:
            lines = [
                "| extra resources N | embedded engine (s) | bare SDK, set_mocks (s) | overhead per resource (ms) |",
                "|---:|---:|---:|---:|",
            ]
            for n in sizes:
                engine = _measure(
                    bench,
                    Row(f"engine: provider + {n} buckets, offline preview (evaluation only)", use_inner=True),
                    runs,
                    functools.partial(bench.run, [PYTHON, "-c", _OVERHEAD, "engine", str(n)]),
                )
                sdk = _measure(
                    bench,
                    Row(f"SDK: provider + {n} buckets under set_mocks (evaluation only)", use_inner=True),
                    runs,
                    functools.partial(bench.run, [PYTHON, "-c", _OVERHEAD, "sdk", str(n)]),
                )
                rows.extend([engine, sdk])
                if engine.failures() or sdk.failures():
                    lines.append(f"| {n} | failed | failed | - |")
                    continue
                per = (engine.median() - sdk.median()) / n * 1000
                lines.append(f"| {n} | {engine.median():.3f} | {sdk.median():.3f} | {per:.2f} |")
            extra_tables.append("\n".join(lines))

        if "extra" in sections:
            _reset_env(bench)
            rows.append(
                _measure(
                    bench,
                    Row("preview --blueprint level0 + 500 extra buckets (CLI)"),
                    runs,
                    lambda: bench.run([PYTHON, "-c", _CLI_EXTRA, "500", "preview", "--blueprint", "level0"]),
                )
            )
        if "pulumi" in sections:
            rows.extend(_engines(bench, runs, explicit=args.only is not None))
    finally:
        bench.mlp("emulator", "stop")
        for path in workdir.glob("emu-*"):
            bench.mlp("emulator", "stop", "--state-dir", str(path))
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept {workdir}", file=sys.stderr)

    print(_table(rows, runs))
    for table in extra_tables:
        print()
        print(table)
    print(
        f"\n{len(rows)} measurements, {runs} runs each, {time.perf_counter() - began:.0f} s in all; "
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                [{"name": r.name, "samples": [{**s.__dict__, "stdout": None} for s in r.samples]} for r in rows],
                indent=2,
            )
        )
    return 1 if any(row.failures() for row in rows) else 0


def _engines(bench: Bench, runs: int, *, explicit: bool) -> list[Row]:
    """Level2 through the Pulumi engine and the embedded engine, alternating run by run (see the docstring)."""
    found = subprocess.run(
        [str(ROOT / "scripts" / "pulumi-cli"), "--check"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not found:
        message = "no Pulumi CLI (scripts/pulumi-cli --check found none; scripts/pulumi-cli builds it)"
        if explicit:
            raise SystemExit(message)
        print(f"skipping the Pulumi engine rows: {message}", file=sys.stderr)
        return []
    from mlplatform.app.emulator_provider import write_plugin

    shim = write_plugin(bench.workdir / "plugins").parent
    pulumi_env = {
        **bench.env,
        "PULUMI_HOME": str(bench.workdir / "pulumi-home"),
        "PATH": f"{shim}{os.pathsep}{found}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLPLATFORM_PULUMI_CLI": found,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    steps = [
        ("preview (no state)", ["preview", "--blueprint", "level2"]),
        ("up (fresh state)", ["up", "--yes", "--blueprint", "level2"]),
        ("up (no-op)", ["up", "--yes", "--blueprint", "level2"]),
        ("preview (with state)", ["preview", "--blueprint", "level2"]),
        ("destroy", ["destroy", "--yes"]),
    ]
    rows = {
        (engine, name): Row(f"level2 {name}, {engine} engine") for engine in ("embedded", "pulumi") for name, _ in steps
    }
    for i in range(runs):
        for engine in ("pulumi", "embedded"):
            _reset_env(bench)
            for name, args in steps:
                sample = bench.run([*bench.cli, *args, "--engine", engine], env=pulumi_env)
                rows[engine, name].samples.append(sample)
                if bench.verbose:
                    print(
                        f"  {rows[engine, name].name} [{i + 1}/{runs}] {sample.seconds:.3f}s exit {sample.code}",
                        file=sys.stderr,
                    )
    _reset_env(bench)
    return [rows[engine, name] for name, _ in steps for engine in ("embedded", "pulumi")]


def _reset_env(bench: Bench) -> None:
    """Fresh state for env local, either engine's (the emulator's own record is left alone)."""
    shutil.rmtree(bench.state / "stacks" / "local", ignore_errors=True)
    shutil.rmtree(bench.state / "pulumi-state", ignore_errors=True)
    shutil.rmtree(bench.state / "pulumi" / "local", ignore_errors=True)


def _table(rows: list[Row], runs: int) -> str:
    lines = [
        f"| measurement (fresh process, {runs} runs) | median (s) | min (s) | max (s) | peak RSS (MB) | exit codes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        values = row.values()
        if not values:
            continue
        rss = max(s.rss_mb for s in row.samples)
        codes = row.failures()
        shown = "0" if not codes else ", ".join(str(c) for c in codes) + f" ({len(codes)}/{len(values)} failed)"
        low, mid, high = min(values), statistics.median(values), max(values)
        lines.append(f"| {row.name} | {mid:.2f} | {low:.2f} | {high:.2f} | {rss:.0f} | {shown} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
