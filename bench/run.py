#!/usr/bin/env python3
"""dmig benchmark harness (Python 3 standard library only).

One command, from the repository root:

    cargo build --release && python3 bench/run.py

generates N-revision corpora under bench/work/, runs every benchmark group
with its floor side by side (interleaved: each repetition runs every variant
once, so machine noise hits all of them alike), takes medians of --runs
repetitions, prints a markdown table and writes it to bench/RESULTS.md with
the machine, the PostgreSQL server and its settings, and the date.

Wall time is measured with time.perf_counter() around posix_spawn + wait4 of
the child itself (never `cargo run`); peak RSS is the child's ru_maxrss from
os.wait4. Scratch databases (dmig_bench_*) are created and dropped with psql
outside the timed region. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

REPO = Path(__file__).resolve().parent.parent
GENERATOR_VERSION = "corpus-v1"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DB_PREFIX = "dmig_bench_"
MIB = 1024.0  # ru_maxrss is in KiB on Linux

GROUPS = ["offline", "upgrade", "single", "guarded", "downgrade", "status", "autogen"]
ONLINE_GROUPS = ["upgrade", "single", "guarded", "downgrade", "status", "autogen"]

# Environment variables that would change what dmig or psql does behind the
# harness's back; the harness always passes explicit flags instead.
SCRUB_ENV = ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE", "PSQLRC", "RUST_LOG")


# --------------------------------------------------------------------------
# corpus


def version_of(i: int) -> str:
    """Revision i (1-based) -> a 14-digit, string-ordered version."""
    return f"{20000000000000 + i:014d}"


def table_of(i: int) -> str:
    return f"bench_t{i:06d}"


def up_sql(i: int) -> str:
    t = table_of(i)
    fk = f" REFERENCES {table_of(i - 1)} (id)" if i > 1 else ""
    return (
        f"CREATE TABLE {t} (\n"
        f"    id BIGINT PRIMARY KEY,\n"
        f"    prev_id BIGINT{fk},\n"
        f"    name TEXT NOT NULL,\n"
        f"    amount NUMERIC(12, 2) NOT NULL DEFAULT 0,\n"
        f"    created_at TIMESTAMPTZ NOT NULL DEFAULT now()\n"
        f");\n"
        f"CREATE INDEX {t}_prev_id_idx ON {t} (prev_id);\n"
    )


def down_sql(i: int) -> str:
    return f"DROP TABLE {table_of(i)};\n"


def corpus(work: Path, n: int) -> Path:
    """bench/work/corpus_<n>/migrations with n revisions; reused when complete."""
    root = work / f"corpus_{n}"
    migrations = root / "migrations"
    stamp = root / ".complete"
    want = f"{GENERATOR_VERSION} {n}\n"
    if stamp.is_file() and stamp.read_text() == want:
        return migrations
    if root.exists():
        shutil.rmtree(root)
    migrations.mkdir(parents=True)
    for i in range(1, n + 1):
        d = migrations / f"{version_of(i)}_create_{table_of(i)}"
        d.mkdir()
        (d / "up.sql").write_text(up_sql(i))
        (d / "down.sql").write_text(down_sql(i))
    stamp.write_text(want)
    return migrations


def schema_rs(n: int) -> str:
    """The schema.rs `diesel print-schema` writes for corpus n at head."""
    out = ["// @generated automatically by Diesel CLI.\n"]
    for i in range(1, n + 1):
        out.append(
            "\ndiesel::table! {\n"
            f"    {table_of(i)} (id) {{\n"
            "        id -> Int8,\n"
            "        prev_id -> Nullable<Int8>,\n"
            "        name -> Text,\n"
            "        amount -> Numeric,\n"
            "        created_at -> Timestamptz,\n"
            "    }\n"
            "}\n"
        )
    out.append("\n")
    for i in range(2, n + 1):
        out.append(f"diesel::joinable!({table_of(i)} -> {table_of(i - 1)} (prev_id));\n")
    return "".join(out)


def autogen_project(work: Path, n: int) -> Path:
    """bench/work/autogen_<n>/ with diesel.toml and src/schema.rs; reused."""
    root = work / f"autogen_{n}"
    schema = root / "src" / "schema.rs"
    text = schema_rs(n)
    if not (schema.is_file() and schema.read_text() == text):
        schema.parent.mkdir(parents=True, exist_ok=True)
        schema.write_text(text)
    (root / "diesel.toml").write_text('[print_schema]\nfile = "src/schema.rs"\n\n[migrations_directory]\ndir = "generated"\n')
    return root


def find_diesel() -> Optional[str]:
    found = shutil.which("diesel")
    if found:
        return found
    home = Path.home() / ".cargo" / "bin" / "diesel"
    return str(home) if home.is_file() else None


def up_files(migrations: Path) -> list[str]:
    return [str(p / "up.sql") for p in sorted(migrations.iterdir()) if p.is_dir()]


# --------------------------------------------------------------------------
# running and measuring one child


@dataclass
class Sample:
    ok: bool
    wall_s: float
    rss_kib: int
    error: str = ""
    cpu_s: float = 0.0  # the child's user + system time (all its threads), from wait4


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUB_ENV}
    env.setdefault("LC_ALL", "C.UTF-8")
    return env


def first_line(text: str) -> str:
    """The first non-blank line; for a Rust panic, also the message line after
    `thread 'main' panicked at FILE:LINE:`."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    m = re.match(r"thread '.*?'(?: \(\d+\))? panicked at (.+?):?$", lines[0])
    if m and len(lines) > 1:
        where = "/".join(m.group(1).split("/")[-3:])
        return f"panic: {lines[1]} (at {where})"
    return lines[0]


# Why not just ru_maxrss from wait4: Linux folds the peak RSS of the image a
# process had *before* execve into its ru_maxrss, and a child of this harness
# starts as a vfork/fork of a ~10-20 MiB Python. `cat` would show 18 MiB.
# So the peak RSS is read from /proc/PID/status (VmHWM, the high-water mark of
# the program's own address space) while the child is held at its exit by
# ptrace (PTRACE_O_TRACEEXIT), through ctypes; wall time comes from a plain
# posix_spawn run, which has no fork-of-Python or ptrace cost in it.
PTRACE_TRACEME, PTRACE_CONT, PTRACE_SETOPTIONS = 0, 7, 0x4200
PTRACE_O_TRACEEXEC, PTRACE_O_TRACEEXIT, PTRACE_O_EXITKILL = 0x10, 0x40, 0x100000
PTRACE_EVENT_EXEC, PTRACE_EVENT_EXIT = 4, 6


class Runner:
    """Spawns one child at a time and measures it."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.libc = None
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
            libc.ptrace.restype = ctypes.c_long
            self.libc = libc
            self.c_void_p = ctypes.c_void_p
        except (OSError, AttributeError, ImportError):
            pass
        # Probe: can we read an exact peak RSS of a child?
        self.exact_rss = False
        if self.libc is not None and Path("/proc/self/status").is_file():
            true = shutil.which("true") or "/bin/true"
            _, rss, code, _ = self._traced([true], os.devnull, os.devnull, Path("/"))
            self.exact_rss = code == 0 and rss is not None

    @staticmethod
    def _actions(stdout_path: str, stderr_path: str) -> list:
        return [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(stdout_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
            (os.POSIX_SPAWN_OPEN, 2, str(stderr_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        ]

    def _spawn(self, argv: list[str], stdout_path, stderr_path, cwd: Path) -> tuple[float, int, int, float]:
        """posix_spawn + wait4: (wall seconds, ru_maxrss KiB, exit code, user+sys seconds)."""
        old_cwd = os.getcwd()
        os.chdir(cwd)  # posix_spawn has no chdir action before Python 3.13
        try:
            t0 = time.perf_counter()
            pid = os.posix_spawn(argv[0], argv, self.env, file_actions=self._actions(stdout_path, stderr_path))
            _, status, usage = os.wait4(pid, 0)
            t1 = time.perf_counter()
        finally:
            os.chdir(old_cwd)
        return t1 - t0, usage.ru_maxrss, os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime

    def _traced(
        self, argv: list[str], stdout_path, stderr_path, cwd: Path
    ) -> tuple[float, Optional[int], int, float]:
        """fork + PTRACE_TRACEME + exec: (wall seconds, VmHWM KiB at exit or None, exit code, user+sys seconds)."""
        libc, vp = self.libc, self.c_void_p
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # child: no Python objects of the parent are touched beyond this
            try:
                libc.ptrace(PTRACE_TRACEME, 0, None, None)
                os.chdir(cwd)
                fds = [
                    os.open(os.devnull, os.O_RDONLY),
                    os.open(str(stdout_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
                    os.open(str(stderr_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
                ]
                for target, fd in enumerate(fds):
                    os.dup2(fd, target)
                os.execve(argv[0], argv, self.env)
            finally:
                os._exit(127)
        peak: Optional[int] = None
        configured = False
        while True:
            _, status, usage = os.wait4(pid, 0)
            if not os.WIFSTOPPED(status):
                break
            sig = os.WSTOPSIG(status)
            event = status >> 16
            inject = 0
            if sig == signal.SIGTRAP and not configured:
                # The stop right after the first execve.
                configured = True
                libc.ptrace(
                    PTRACE_SETOPTIONS, pid, None, vp(PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL)
                )
            elif sig == signal.SIGTRAP and event == PTRACE_EVENT_EXIT:
                peak = vm_hwm(pid)
            elif sig == signal.SIGTRAP and event == PTRACE_EVENT_EXEC:
                pass  # a wrapper exec'ing the real program: the last image counts
            else:
                inject = sig  # an ordinary signal: deliver it
            libc.ptrace(PTRACE_CONT, pid, None, vp(inject) if inject else None)
        t1 = time.perf_counter()
        return t1 - t0, peak, os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime

    def warm(self, argv: list[str], stdout_path: Path, stderr_path: Path, cwd: Path) -> None:
        """An untimed run, to load the binary and the files it reads into the cache."""
        exe = argv[0] if os.sep in argv[0] else shutil.which(argv[0])
        if exe is not None:
            self._spawn([exe, *argv[1:]], stdout_path, stderr_path, cwd)

    def measure(self, argv: list[str], stdout_path: Path, stderr_path: Path, cwd: Path, repeatable: bool) -> Sample:
        """Run argv once (twice when `repeatable` and exact RSS is available:
        one plain run for the wall time, one traced run for the peak RSS)."""
        exe = argv[0] if os.sep in argv[0] else shutil.which(argv[0])
        if exe is None:
            return Sample(False, 0.0, 0, f"{argv[0]}: not found")
        argv = [exe, *argv[1:]]
        if not self.exact_rss:
            wall, rss, code, cpu = self._spawn(argv, stdout_path, stderr_path, cwd)
        elif repeatable:
            wall, _, code, cpu = self._spawn(argv, stdout_path, stderr_path, cwd)
            rss = None
            if code == 0:
                _, rss, code, _ = self._traced(argv, stdout_path, stderr_path, cwd)
        else:
            wall, rss, code, cpu = self._traced(argv, stdout_path, stderr_path, cwd)
        if code != 0:
            err = first_line(stderr_path.read_text(errors="replace")) or first_line(
                stdout_path.read_text(errors="replace")
            )
            return Sample(False, wall, rss or 0, err or f"exit status {code}")
        if rss is None:
            return Sample(False, wall, 0, "could not read the peak RSS")
        return Sample(True, wall, rss, cpu_s=cpu)

    def instructions(self, argv: list[str], stdout_path: Path, stderr_path: Path, cwd: Path) -> tuple[Optional[int], str]:
        """Run argv once under `valgrind --tool=callgrind` and return the
        instructions it collected (every thread of the program; the kernel's
        work is not counted), or None and why not. Repeatable for the same
        binary and inputs, whatever else the machine does."""
        valgrind = shutil.which("valgrind")
        if valgrind is None:
            return None, "valgrind not installed"
        exe = argv[0] if os.sep in argv[0] else shutil.which(argv[0])
        if exe is None:
            return None, f"{argv[0]}: not found"
        cmd = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", "--trace-children=no", exe, *argv[1:]]
        _, _, code, _ = self._spawn(cmd, stdout_path, stderr_path, cwd)
        text = stderr_path.read_text(errors="replace")
        m = re.search(r"Collected : (\d+)", text)
        if code != 0 or not m:
            return None, first_line(text) or f"exit status {code}"
        return int(m.group(1)), ""


def vm_hwm(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# --------------------------------------------------------------------------
# PostgreSQL admin work (never timed)


class Pg:
    def __init__(self, admin_url: str, psql: str):
        self.admin_url = admin_url
        self.psql = psql
        self.made: set[str] = set()

    def url(self, db: str) -> str:
        parts = urllib.parse.urlsplit(self.admin_url)
        return urllib.parse.urlunsplit(parts._replace(path="/" + db))

    def run(self, url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [self.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", *args, url]
        proc = subprocess.run(argv, capture_output=True, text=True, env=_env())
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"psql {' '.join(args)}: {first_line(proc.stderr) or 'exit ' + str(proc.returncode)}"
            )
        return proc

    def query(self, url: str, sql: str) -> str:
        return self.run(url, "-c", sql).stdout.strip()

    def create(self, db: str) -> str:
        self.drop(db)
        self.run(self.admin_url, "-c", f'CREATE DATABASE "{db}"')
        self.made.add(db)
        return self.url(db)

    def drop(self, db: str) -> None:
        self.run(self.admin_url, "-c", f'DROP DATABASE IF EXISTS "{db}"')
        self.made.discard(db)

    def drop_all(self) -> None:
        for db in sorted(self.made):
            try:
                self.drop(db)
            except RuntimeError as e:
                print(f"warning: could not drop {db}: {e}", file=sys.stderr)

    def counts(self, url: str) -> tuple[int, int]:
        """(version rows or -1 without a version table, tables in public but
        dmig's companion table, which diesel CLI does not write)."""
        tables, has_table = self.query(
            url,
            "SELECT count(*), to_regclass('public.__diesel_schema_migrations') IS NOT NULL"
            " FROM pg_tables WHERE schemaname = 'public' AND tablename <> '__dmig_revisions'",
        ).split("|")
        versions = -1
        if has_table == "t":
            versions = int(self.query(url, "SELECT count(*) FROM public.__diesel_schema_migrations"))
        return versions, int(tables)


# --------------------------------------------------------------------------
# variants and groups


@dataclass
class Variant:
    """One measured command. `prepare` runs untimed before each repetition and
    returns a context (e.g. a fresh database URL); `argv` builds the command
    from it; `verify` checks the effect untimed afterwards (returns an error
    message or None); `cleanup` runs untimed at the end of the repetition."""

    group: str
    label: str
    n: int
    is_floor: bool
    display: str
    argv: Callable[[object], list[str]]
    prepare: Callable[[int], object] = lambda rep: None
    verify: Callable[[object, Path], Optional[str]] = lambda ctx, out: None
    cleanup: Callable[[object], None] = lambda ctx: None
    repeatable: bool = False  # no side effects: may run twice (wall run + RSS run)
    cwd: Optional[Path] = None  # where the command runs (default: the work dir)
    floor_of: Optional["Variant"] = None
    target: str = ""
    samples: list[Sample] = field(default_factory=list)
    failed: str = ""
    instructions: Optional[int] = None  # from one extra run under callgrind (--callgrind)
    cpu_of: Optional["Variant"] = None  # the row whose client CPU this one must not exceed


def stats(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def fmt_time(seconds: float) -> str:
    ms = seconds * 1000.0
    if ms < 100:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.1f} ms"
    return f"{seconds:.3f} s"


def fmt_range_time(lo: float, hi: float) -> str:
    return f"{fmt_time(lo)} – {fmt_time(hi)}"


def fmt_mib(kib: float) -> str:
    return f"{kib / MIB:.1f} MiB"


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work: Path = args.work
        self.scratch = self.work / "scratch"
        self.dmig: str = args.dmig
        self.pg: Optional[Pg] = None
        self.variants: list[Variant] = []
        self.rendered: dict[tuple[int, str], Path] = {}
        self.runner = Runner(_env())

    # -- helpers ---------------------------------------------------------

    def render(self, n: int, kind: str) -> Path:
        """dmig's own rendered script for corpus n (untimed): kind is
        'upgrade' (guarded, the default), 'plain' (upgrade --plain), 'single'
        or 'downgrade'."""
        key = (n, kind)
        if key in self.rendered:
            return self.rendered[key]
        migrations = corpus(self.work, n)
        out = self.work / f"script_{n}_{kind}.sql"
        cmd = [self.dmig, "--migration-dir", str(migrations)]
        if kind == "upgrade":
            cmd += ["upgrade", "--sql", "--out", str(out)]
        elif kind == "plain":
            cmd += ["upgrade", "--sql", "--plain", "--out", str(out)]
        elif kind == "single":
            cmd += ["upgrade", "--sql", "--transaction", "single", "--out", str(out)]
        else:
            cmd += ["downgrade", "--sql", "head:base", "--out", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=self.work)
        if proc.returncode != 0:
            raise RuntimeError(f"rendering the {kind} script: {first_line(proc.stderr)}")
        self.rendered[key] = out
        return out

    def psql_file(self, script: Path, url: str) -> list[str]:
        return [self.pg.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script), url]

    def add_pair(self, variant: Variant, floor: Variant) -> None:
        variant.floor_of = floor
        self.variants.append(variant)
        self.variants.append(floor)

    # -- group 1: offline render ----------------------------------------

    def offline(self) -> None:
        for n in self.args.offline_n:
            migrations = corpus(self.work, n)
            files = up_files(migrations)
            target = ""
            if n == 1000:
                target = "≤ 20 ms, ≤ 10 MiB"
            elif n == 10000 and 1000 in self.args.offline_n:
                target = "≤ 10× the N=1,000 median"
            self.add_pair(
                Variant(
                    "offline",
                    "dmig upgrade --sql",
                    n,
                    False,
                    "dmig --migration-dir corpus_N/migrations upgrade --sql > out.sql",
                    argv=lambda ctx, m=migrations: [self.dmig, "--migration-dir", str(m), "upgrade", "--sql"],
                    verify=lambda ctx, out, n=n: check_script(out, n),
                    repeatable=True,
                    target=target,
                ),
                Variant(
                    "offline",
                    "cat up.sql (floor)",
                    n,
                    True,
                    "cat corpus_N/migrations/*/up.sql > out.sql",
                    argv=lambda ctx, f=files: ["cat", *f],
                    repeatable=True,
                ),
            )

    # -- groups 2 and 3: online upgrade ---------------------------------

    def upgrade(self, single: bool) -> None:
        group = "single" if single else "upgrade"
        tx = ["--transaction", "single"] if single else []
        for n in self.args.online_n:
            migrations = corpus(self.work, n)
            script = self.render(n, group)
            target = "≤ 12 MiB"
            if n == 1000:
                target = ("≤ 1.1× floor" if single else "≤ 1.05× floor") + ", ≤ 12 MiB"
            suffix = " --transaction single" if single else ""
            dmig_row = Variant(
                    group,
                    f"dmig upgrade{suffix}",
                    n,
                    False,
                    f"dmig --migration-dir corpus_N/migrations --database-url URL upgrade{suffix} --quiet",
                    prepare=lambda rep, n=n, g=group: self.fresh_db(f"{g}_{n}_dmig"),
                    argv=lambda url, m=migrations, tx=tx: [
                        self.dmig,
                        "--migration-dir",
                        str(m),
                        "--database-url",
                        url,
                        "upgrade",
                        *tx,
                        "--quiet",
                    ],
                    verify=lambda url, out, n=n: self.expect(url, n, n + 1),
                    cleanup=self.drop_url,
                    target=target,
                )
            floor = Variant(
                    group,
                    f"psql -f rendered{' single' if single else ''} script (floor)",
                    n,
                    True,
                    f"psql -X -q -v ON_ERROR_STOP=1 -f script_N_{group}.sql URL"
                    f"  (script: dmig upgrade --sql{suffix})",
                    prepare=lambda rep, n=n, g=group: self.fresh_db(f"{g}_{n}_psql"),
                    argv=lambda url, s=script: self.psql_file(s, url),
                    verify=lambda url, out, n=n: self.expect(url, n, n + 1),
                    cleanup=self.drop_url,
                )
            self.add_pair(dmig_row, floor)
            if single:
                continue
            # Diesel's own CLI on the same corpus: one transaction per
            # revision, as dmig's default. Its client CPU is dmig's ceiling.
            diesel = self.args.diesel
            peer = Variant(
                group,
                "diesel migration run",
                n,
                False,
                "diesel migration run --migration-dir corpus_N/migrations --database-url URL",
                prepare=lambda rep, n=n, g=group: self.fresh_db(f"{g}_{n}_diesel"),
                argv=lambda url, m=migrations: [diesel, "migration", "run", "--migration-dir", str(m), "--database-url", url],
                verify=lambda url, out, n=n: self.expect(url, n, n + 1),
                cleanup=self.drop_url,
                floor_of=floor,
                failed="" if diesel else "diesel CLI not installed (cargo install diesel_cli --no-default-features --features postgres)",
            )
            self.variants.append(peer)
            if n == 1000:
                dmig_row.cpu_of = peer
                dmig_row.target += ", client CPU ≤ diesel's"

    # -- group 3b: what the guards of a psql script cost ----------------

    def guarded(self) -> None:
        for n in self.args.online_n:
            guarded = self.render(n, "upgrade")
            plain = self.render(n, "plain")
            self.add_pair(
                Variant(
                    "guarded",
                    "psql -f guarded script",
                    n,
                    False,
                    "psql -X -q -v ON_ERROR_STOP=1 -f script_N_upgrade.sql URL  (script: dmig upgrade --sql)",
                    prepare=lambda rep, n=n: self.fresh_db(f"guarded_{n}_guarded"),
                    argv=lambda url, s=guarded: self.psql_file(s, url),
                    verify=lambda url, out, n=n: self.expect(url, n, n + 1),
                    cleanup=self.drop_url,
                    target="≤ 1.05× floor" if n == 1000 else "",
                ),
                Variant(
                    "guarded",
                    "psql -f plain script (floor)",
                    n,
                    True,
                    "psql -X -q -v ON_ERROR_STOP=1 -f script_N_plain.sql URL  (script: dmig upgrade --sql --plain)",
                    prepare=lambda rep, n=n: self.fresh_db(f"guarded_{n}_plain"),
                    argv=lambda url, s=plain: self.psql_file(s, url),
                    verify=lambda url, out, n=n: self.expect(url, n, n + 1),
                    cleanup=self.drop_url,
                ),
            )

    # -- group 4: downgrade to base -------------------------------------

    def downgrade(self) -> None:
        for n in self.args.downgrade_n:
            migrations = corpus(self.work, n)
            up = self.render(n, "upgrade")
            down = self.render(n, "downgrade")
            target = "succeeds, ≤ 1.05× floor, ≤ 12 MiB" if n == 1000 else "≤ 12 MiB"
            self.add_pair(
                Variant(
                    "downgrade",
                    "dmig downgrade base",
                    n,
                    False,
                    "dmig --migration-dir corpus_N/migrations --database-url URL downgrade base --quiet"
                    "  (db at head)",
                    prepare=lambda rep, n=n, up=up: self.db_at_head(f"downgrade_{n}_dmig", up),
                    argv=lambda url, m=migrations: [
                        self.dmig,
                        "--migration-dir",
                        str(m),
                        "--database-url",
                        url,
                        "downgrade",
                        "base",
                        "--quiet",
                    ],
                    verify=lambda url, out: self.expect(url, 0, 1),
                    cleanup=self.drop_url,
                    target=target,
                ),
                Variant(
                    "downgrade",
                    "psql -f rendered downgrade (floor)",
                    n,
                    True,
                    "psql -X -q -v ON_ERROR_STOP=1 -f script_N_downgrade.sql URL"
                    "  (script: dmig downgrade --sql head:base; db at head)",
                    prepare=lambda rep, n=n, up=up: self.db_at_head(f"downgrade_{n}_psql", up),
                    argv=lambda url, s=down: self.psql_file(s, url),
                    verify=lambda url, out: self.expect(url, 0, 1),
                    cleanup=self.drop_url,
                ),
            )

    # -- group 5: status / current at head -------------------------------

    def status(self) -> None:
        for n in self.args.status_n:
            migrations = corpus(self.work, n)
            up = self.render(n, "upgrade")
            holder: dict[str, str] = {}

            def shared(rep: int, n=n, up=up, holder=holder) -> str:
                # One database at head serves every repetition (all read-only).
                if "url" not in holder:
                    holder["url"] = self.db_at_head(f"status_{n}", up)
                return holder["url"]

            target = "≤ 50 ms, ≤ 12 MiB" if n == 1000 else "≤ 12 MiB"
            floor = Variant(
                "status",
                "psql -c SELECT version (floor)",
                n,
                True,
                'psql -X -c "SELECT version FROM __diesel_schema_migrations" URL',
                prepare=shared,
                argv=lambda url: [self.pg.psql, "-X", "-c", "SELECT version FROM __diesel_schema_migrations", url],
                repeatable=True,
            )
            head = version_of(n)
            for cmd in ("status", "current"):
                v = Variant(
                    "status",
                    f"dmig {cmd}",
                    n,
                    False,
                    f"dmig --migration-dir corpus_N/migrations --database-url URL {cmd}  (db at head)",
                    prepare=shared,
                    argv=lambda url, m=migrations, cmd=cmd: [
                        self.dmig,
                        "--migration-dir",
                        str(m),
                        "--database-url",
                        url,
                        cmd,
                    ],
                    verify=(lambda url, out, head=head: expect_in(out, head)) if cmd == "current" else (lambda url, out: None),
                    repeatable=True,
                    target=target,
                )
                v.floor_of = floor
                self.variants.append(v)
            self.variants.append(floor)

    # -- group 6: autogenerate, read both sides and diff ------------------

    def autogen(self) -> None:
        for n in self.args.autogen_n:
            migrations = corpus(self.work, n)
            up = self.render(n, "upgrade")
            project = autogen_project(self.work, n)
            generated = project / "generated"
            holder: dict[str, str] = {}

            def shared(rep: int, n=n, up=up, holder=holder) -> str:
                # One database at head, read-only for dmig; diesel only writes files.
                if "url" not in holder:
                    holder["url"] = self.db_at_head(f"autogen_{n}", up)
                if generated.exists():
                    shutil.rmtree(generated)
                generated.mkdir()
                return holder["url"]

            def diesel_wrote(url: str, out: Path) -> Optional[str]:
                if not any(generated.iterdir()):
                    return "diesel wrote no migration"
                return None

            diesel = self.args.diesel
            floor = Variant(
                "autogen",
                "diesel migration generate --diff-schema",
                n,
                True,
                "diesel migration generate --diff-schema=src/schema.rs --database-url URL x  (db at head, N-table schema.rs)",
                prepare=shared,
                argv=lambda url: [diesel, "migration", "generate", "--diff-schema=src/schema.rs", "--database-url", url, "bench"],
                verify=diesel_wrote,
                cwd=project,
                failed="" if diesel else "diesel CLI not installed (cargo install diesel_cli --no-default-features --features postgres)",
            )
            target = "< 1 s, ≤ 0.5× diesel" if n == 1000 else ""
            for label, extra in (
                ("dmig check --schema", ["check", "--schema", "src/schema.rs"]),
                ("dmig revision --autogenerate", ["revision", "--autogenerate", "-m", "bench", "--schema", "src/schema.rs", "--no-verify"]),
            ):
                v = Variant(
                    "autogen",
                    label,
                    n,
                    False,
                    f"dmig --migration-dir corpus_N/migrations --database-url URL {' '.join(extra)}  (db at head, nothing to change)",
                    prepare=shared,
                    argv=lambda url, m=migrations, extra=extra: [self.dmig, "--migration-dir", str(m), "--database-url", url, *extra],
                    verify=(lambda url, out: expect_in(out, "no changes")) if "revision" in extra else (lambda url, out: None),
                    repeatable=True,
                    target=target,
                    cwd=project,
                )
                v.floor_of = floor
                self.variants.append(v)
            self.variants.append(floor)

    # -- database helpers -------------------------------------------------

    def fresh_db(self, name: str) -> str:
        url = self.pg.create(DB_PREFIX + name)
        # Start every timed online run from a clean buffer pool: flush what
        # the previous run (and this setup) dirtied. Needs superuser or
        # pg_checkpoint; without it the interleaving still spreads the noise.
        self.pg.run(self.pg.admin_url, "-c", "CHECKPOINT", check=False)
        return url

    def db_at_head(self, name: str, up_script: Path) -> str:
        url = self.pg.create(DB_PREFIX + name)
        self.pg.run(url, "-f", str(up_script))
        self.pg.run(self.pg.admin_url, "-c", "CHECKPOINT", check=False)
        return url

    def drop_url(self, url: object) -> None:
        if isinstance(url, str):
            self.pg.drop(urllib.parse.urlsplit(url).path.lstrip("/"))

    def expect(self, url: str, versions: int, tables: int) -> Optional[str]:
        got_versions, got_tables = self.pg.counts(url)
        if got_versions != versions or got_tables != tables:
            return (
                f"wrong result: {got_versions} version row(s) and {got_tables} table(s),"
                f" expected {versions} and {tables}"
            )
        return None

    # -- running ------------------------------------------------------------

    def run_once(self, v: Variant, rep: int) -> None:
        if v.failed:
            return
        tag = f"{v.group}_{v.n}_{'floor' if v.is_floor else re.sub(r'[^a-z]+', '_', v.label)}"
        out = self.scratch / f"{tag}.out"
        err = self.scratch / f"{tag}.err"
        try:
            ctx = v.prepare(rep)
        except Exception as e:  # setup failures are reported in the cell
            v.failed = f"setup: {e}"
            return
        try:
            if v.repeatable and self.args.warmup:
                # Untimed warm-up right before the timed run: the online runs
                # in between take long enough for the kernel to drop the
                # corpus's dentries and pages, and whoever ran first in a
                # repetition would pay for reloading them for the others.
                self.runner.warm(v.argv(ctx), self.scratch / "warmup.out", self.scratch / "warmup.err", v.cwd or self.work)
            sample = self.runner.measure(v.argv(ctx), out, err, v.cwd or self.work, v.repeatable)
            if sample.ok:
                problem = v.verify(ctx, out)
                if problem:
                    sample = Sample(False, sample.wall_s, sample.rss_kib, problem)
        except Exception as e:
            sample = Sample(False, 0.0, 0, str(e))
        finally:
            try:
                v.cleanup(ctx)
            except Exception as e:
                print(f"warning: cleanup after {v.label}: {e}", file=sys.stderr)
        if sample.ok:
            v.samples.append(sample)
        else:
            v.failed = sample.error
        status = "ok" if sample.ok else f"FAILED: {sample.error}"
        print(
            f"  [{rep + 1}/{self.args.runs}] {v.group:9} N={v.n:<6} {v.label:40} "
            f"{fmt_time(sample.wall_s):>10} {fmt_mib(sample.rss_kib):>9}  {status}",
            file=sys.stderr,
            flush=True,
        )

    def count_instructions(self, v: Variant) -> None:
        """One more, untimed run of `v` under callgrind, for its instruction count."""
        if v.failed:
            return
        out = self.scratch / "callgrind.out"
        err = self.scratch / "callgrind.err"
        try:
            ctx = v.prepare(self.args.runs)
        except Exception as e:
            print(f"warning: callgrind setup for {v.label}: {e}", file=sys.stderr)
            return
        try:
            count, why = self.runner.instructions(v.argv(ctx), out, err, v.cwd or self.work)
            problem = v.verify(ctx, out) if count is not None else why
        finally:
            try:
                v.cleanup(ctx)
            except Exception as e:
                print(f"warning: cleanup after {v.label}: {e}", file=sys.stderr)
        if problem:
            print(f"warning: callgrind run of {v.label}: {problem}", file=sys.stderr)
            return
        v.instructions = count
        print(f"  [callgrind] {v.group:9} N={v.n:<6} {v.label:40} {count / 1e6:,.0f} M instructions", file=sys.stderr)

    def run(self) -> None:
        self.scratch.mkdir(parents=True, exist_ok=True)
        groups = self.args.only
        # Build all variants (corpus generation and script rendering are untimed).
        for g in groups:
            try:
                if g == "offline":
                    self.offline()
                elif g == "upgrade":
                    self.upgrade(single=False)
                elif g == "single":
                    self.upgrade(single=True)
                elif g == "guarded":
                    self.guarded()
                elif g == "downgrade":
                    self.downgrade()
                elif g == "status":
                    self.status()
                elif g == "autogen":
                    self.autogen()
            except Exception as e:
                print(f"error: preparing group {g}: {e}", file=sys.stderr)
                self.variants.append(
                    Variant(g, f"(group {g})", 0, False, "", argv=lambda ctx: [], failed=f"setup: {e}")
                )
        # One group after the other; within a group, interleaved: each
        # repetition runs every variant of the group once, in table order, so
        # noise hits dmig and its floor alike. Before each group, wait (up to
        # 30 s) for the CPU to settle after the previous group's databases.
        for g in groups:
            members = [v for v in self.variants if v.group == g]
            settle()
            for rep in range(self.args.runs):
                for v in members:
                    self.run_once(v, rep)
            if self.args.callgrind:
                for v in members:
                    self.count_instructions(v)


def check_script(out: Path, n: int) -> Optional[str]:
    text = out.read_text(errors="replace")
    last = f"VALUES ('{version_of(n)}')"
    if last not in text:
        return f"rendered script lacks the insert of {version_of(n)}"
    return None


def expect_in(out: Path, needle: str) -> Optional[str]:
    if needle not in out.read_text(errors="replace"):
        return f"output does not mention head {needle}"
    return None


# --------------------------------------------------------------------------
# report


def verdict(v: Variant, by_key: dict[tuple[str, int, str], Variant]) -> str:
    """Evaluate the issue's targets for the rows they are stated for."""
    if not v.target:
        return ""
    if v.failed:
        return f"{v.target}: **missed**"
    wall = statistics.median(s.wall_s for s in v.samples)
    ok = True
    rss_cap = 10 * MIB if v.group == "offline" else 12 * MIB
    peak = max(s.rss_kib for s in v.samples)
    # The guarded group times psql against psql: its RSS is psql's.
    if v.group not in ("autogen", "guarded") and (v.group != "offline" or v.n == 1000):
        ok &= peak <= rss_cap
    floor = v.floor_of
    floor_wall = statistics.median(s.wall_s for s in floor.samples) if floor and floor.samples else None
    if v.group == "offline" and v.n == 1000:
        ok &= wall <= 0.020
    elif v.group == "offline" and v.n == 10000:
        base = by_key.get(("offline", 1000, v.label))
        if base is None or not base.samples:
            return f"{v.target}: n/a"
        ok &= wall <= 10 * statistics.median(s.wall_s for s in base.samples)
    elif v.group in ("upgrade", "single", "guarded", "downgrade") and v.n == 1000:
        limit = 1.1 if v.group == "single" else 1.05
        if floor_wall is None:
            return f"{v.target}: n/a (floor failed)"
        ok &= wall <= limit * floor_wall
    elif v.group == "status" and v.n == 1000:
        ok &= wall <= 0.050
    elif v.group == "autogen" and v.n == 1000:
        ok &= wall < 1.0
        if floor_wall is None:
            return f"{v.target}: < 1 s {'met' if ok else '**missed**'}, diesel n/a"
        ok &= wall <= 0.5 * floor_wall
    if v.cpu_of is not None:
        if v.cpu_of.failed or not v.cpu_of.samples:
            return f"{v.target}: n/a ({v.cpu_of.label} failed)"
        ok &= statistics.median(s.cpu_s for s in v.samples) <= statistics.median(
            s.cpu_s for s in v.cpu_of.samples
        )
    return f"{v.target}: {'met' if ok else '**missed**'}"


def table(variants: list[Variant]) -> str:
    by_key = {(v.group, v.n, v.label): v for v in variants}
    lines = [
        "| group | N | command | wall median | wall min–max | × floor | CPU median | instructions | peak RSS median | RSS min–max | runs | target |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for v in variants:
        if v.failed:
            lines.append(
                f"| {v.group} | {v.n:,} | {v.label} | FAILED: {md_escape(v.failed)} | | | | | | | "
                f"{len(v.samples)} | {verdict(v, by_key)} |"
            )
            continue
        wall = stats([s.wall_s for s in v.samples])
        rss = stats([float(s.rss_kib) for s in v.samples])
        if v.is_floor:
            ratio = "floor"
        elif v.floor_of is not None and v.floor_of.samples and not v.floor_of.failed:
            fw = statistics.median(s.wall_s for s in v.floor_of.samples)
            ratio = f"{wall[0] / fw:.2f}×" if fw > 0 else "n/a"
        else:
            ratio = "n/a"
        cpu = statistics.median(s.cpu_s for s in v.samples)
        instructions = f"{v.instructions / 1e6:,.0f} M" if v.instructions else ""
        lines.append(
            f"| {v.group} | {v.n:,} | {v.label} | {fmt_time(wall[0])} | {fmt_range_time(wall[1], wall[2])} | "
            f"{ratio} | {fmt_time(cpu)} | {instructions} | {fmt_mib(rss[0])} | {fmt_mib(rss[1])} – {fmt_mib(rss[2])} | "
            f"{len(v.samples)} | {verdict(v, by_key)} |"
        )
    return "\n".join(lines)


def md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")[:200]


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return [
        f"- Machine: {os.cpu_count()} cores ({usable} usable), {cpu}, {mem} memory",
        f"- OS: {platform.system()} {platform.release()} ({platform.machine()}), Python {platform.python_version()}",
    ]


def rss_note(runner: Runner) -> str:
    if runner.exact_rss:
        return (
            "Peak RSS is the command's own high-water mark (VmHWM of its image, read at its exit under ptrace). "
            "Read-only commands (offline render, cat, status, current, psql -c) are timed in a separate plain "
            "posix_spawn run; upgrade and downgrade are timed in the traced run itself "
            "(about 1 ms more on both sides, well under 0.1 % of those runs)."
        )
    return (
        "**Peak RSS is an upper bound**: ptrace was unavailable, so it is `ru_maxrss` from `wait4`, which on "
        "Linux includes the harness's own RSS at spawn time."
    )


def find_psql() -> str:
    """The real psql binary, newest major first: Debian's /usr/bin/psql is a
    Perl wrapper that adds ~20 ms to every call and would flatter dmig."""
    found = []
    for pattern in ("/usr/lib/postgresql/*/bin/psql", "/usr/pgsql-*/bin/psql"):
        for path in Path("/").glob(pattern.lstrip("/")):
            m = re.search(r"(\d+)", str(path.parent.parent.name))
            if m and os.access(path, os.X_OK):
                found.append((int(m.group(1)), str(path)))
    if found:
        return max(found)[1]
    return shutil.which("psql") or "/usr/bin/psql"


def pg_info(pg: Pg) -> list[str]:
    try:
        version = pg.query(pg.admin_url, "SHOW server_version")
        settings = []
        for name in ("fsync", "synchronous_commit", "shared_buffers", "max_locks_per_transaction", "max_connections"):
            settings.append(f"{name}={pg.query(pg.admin_url, f'SHOW {name}')}")
        client = subprocess.run([pg.psql, "--version"], capture_output=True, text=True).stdout.strip()
        parts = urllib.parse.urlsplit(pg.admin_url)
        where = f"{parts.hostname or 'socket'}:{parts.port or 5432}"
        return [
            f"- PostgreSQL: server {version} at {where}; client `{pg.psql}` ({client})",
            f"- Settings: {', '.join(settings)}",
        ]
    except RuntimeError as e:
        return [f"- PostgreSQL: unavailable ({e})"]


def git_rev() -> str:
    try:
        rev = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--", "src", "Cargo.toml", "Cargo.lock"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return rev + (" + uncommitted changes in src/" if dirty else "") if rev else "unknown"
    except OSError:
        return "unknown"


def cpu_busy(seconds: float = 0.5) -> Optional[float]:
    """Fraction of all cores busy (not idle, not iowait) over `seconds`, from
    /proc/stat: what else was running when the benchmark started."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields[:8]), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total1 - total0
    return 1.0 - (idle1 - idle0) / total if total > 0 else None


def settle(limit_s: float = 30.0) -> None:
    """Wait until less than 10 % of the CPU is busy (0.5 s samples), at most limit_s."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        busy = cpu_busy(0.5)
        if busy is None or busy < 0.10:
            return


def load_line(busy: Optional[float], before: tuple[float, float, float], after: tuple[float, float, float]) -> str:
    cores = os.cpu_count() or 1
    line = (
        f"- Load average (1/5/15 min): {before[0]:.2f}/{before[1]:.2f}/{before[2]:.2f} at the start, "
        f"{after[0]:.2f}/{after[1]:.2f}/{after[2]:.2f} at the end"
    )
    if busy is not None:
        line += f"; CPU busy just before the run: {busy * 100:.0f} % of {cores} cores"
        # Only the start counts: during the run the benchmark itself loads the machine.
        if busy > 0.25:
            line += " — **something else was running: expect noise, rerun on a quiet machine**"
    return line


def report(bench: Bench, original_argv: list[str], started: _dt.datetime, elapsed: float) -> str:
    args = bench.args
    version = subprocess.run([bench.dmig, "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# dmig benchmark results",
        "",
        "Generated by `bench/run.py`; see `bench/README.md` for what each row measures. Do not edit by hand.",
        "",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')} (took {elapsed:.0f} s)",
        f"- Command: `{' '.join(['python3', 'bench/run.py', *original_argv])}`",
        f"- dmig: {version or '?'} (git {git_rev()}), binary `{args.dmig_display}`",
        f"- Repetitions: {args.runs}, group after group, interleaved within a group (each repetition runs every variant of the group once, in table order)"
        + (
            "; read-only commands get an untimed warm-up run right before each timed run"
            if args.warmup
            else "; no warm-up runs"
        ),
        *machine(),
        load_line(bench.busy_before, bench.load_before, os.getloadavg()),
    ]
    if bench.pg is not None:
        lines += pg_info(bench.pg)
    else:
        lines.append("- PostgreSQL: not used (offline benchmarks only)")
    lines += [
        "",
        table(bench.variants),
        "",
        "`× floor` is the ratio of medians (wall time) to the floor row of the same group and N. "
        "CPU is the command's own user + system time, all its threads, from `wait4` (the server's work is not in it). "
        "Instructions (with `--callgrind`) are counted once per row under `valgrind --tool=callgrind`: "
        "user-space instructions of every thread, repeatable on a noisy machine, kernel work not included.",
        rss_note(bench.runner),
        "",
        "## Commands",
        "",
    ]
    seen = set()
    for v in bench.variants:
        if v.display and (v.group, v.label) not in seen:
            seen.add((v.group, v.label))
            lines.append(f"- {v.group} / {v.label}: `{v.display}`")
    lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# command line


def parse_ns(text: str) -> list[int]:
    return [int(x.replace("_", "").replace(",", "")) for x in text.split("+") if x]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Benchmark dmig against its floors (cat, psql). Build first: cargo build --release.",
    )
    p.add_argument("--quick", action="store_true", help="tiny N (20), 1 repetition: checks the harness works")
    p.add_argument("--runs", type=int, default=None, help="repetitions per variant (default 5; --quick: 1)")
    p.add_argument(
        "--only",
        action="append",
        default=None,
        help="run only these groups (repeatable or comma-separated): "
        + ", ".join(GROUPS)
        + ", or online (= all but offline)",
    )
    p.add_argument(
        "--database-url",
        default=os.environ.get("DMIG_BENCH_DATABASE_URL") or DEFAULT_URL,
        help="admin URL (default: $DMIG_BENCH_DATABASE_URL, else %(default)s)" % {"default": DEFAULT_URL},
    )
    p.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md", help="results file (default bench/RESULTS.md)")
    p.add_argument("--dmig", default=str(REPO / "target" / "release" / "dmig"), help="dmig binary (default target/release/dmig)")
    p.add_argument("--psql", default=None, help="psql binary (default: the newest /usr/lib/postgresql/*/bin/psql, else psql on PATH)")
    p.add_argument("--work", type=Path, default=REPO / "bench" / "work", help="corpora and scratch files (default bench/work)")
    p.add_argument("--offline-n", type=parse_ns, default=None, help="N for the offline group, e.g. 1000+10000")
    p.add_argument("--online-n", type=parse_ns, default=None, help="N for upgrade/single/guarded, e.g. 100+1000")
    p.add_argument("--downgrade-n", type=parse_ns, default=None, help="N for downgrade (default 1000)")
    p.add_argument("--status-n", type=parse_ns, default=None, help="N for status/current (default 1000)")
    p.add_argument("--autogen-n", type=parse_ns, default=None, help="tables for the autogen group (default 1000)")
    p.add_argument("--no-warmup", dest="warmup", action="store_false", help="skip the untimed offline warm-up")
    p.add_argument(
        "--callgrind",
        action="store_true",
        help="also count each command's instructions once under valgrind --tool=callgrind (slow; stable on a noisy machine)",
    )
    p.add_argument("--diesel", default=None, help="diesel CLI, the peer of the upgrade and autogen groups (default: diesel on PATH, else ~/.cargo/bin/diesel)")
    args = p.parse_args(argv)

    quick = [20] if args.quick else None
    args.runs = args.runs if args.runs is not None else (1 if args.quick else 5)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    args.offline_n = args.offline_n or quick or [1000, 10000]
    args.online_n = args.online_n or quick or [100, 1000]
    args.downgrade_n = args.downgrade_n or quick or [1000]
    args.status_n = args.status_n or quick or [1000]
    args.autogen_n = args.autogen_n or quick or [1000]
    args.diesel = args.diesel or find_diesel()
    only: list[str] = []
    for item in args.only or GROUPS:
        for g in item.split(","):
            g = g.strip()
            if not g:
                continue
            expand = ONLINE_GROUPS if g == "online" else [g]
            for x in expand:
                if x not in GROUPS:
                    p.error(f"--only: unknown group {x!r}; choose from {', '.join(GROUPS)}, online")
                if x not in only:
                    only.append(x)
    args.only = [g for g in GROUPS if g in only]

    dmig = Path(args.dmig)
    if not dmig.is_file():
        hint = " (run `cargo build --release` first)" if args.dmig.endswith("release/dmig") else ""
        print(f"error: dmig binary {dmig} not found{hint}", file=sys.stderr)
        return 2
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    args.dmig_display = os.path.relpath(dmig.resolve(), REPO) if str(dmig.resolve()).startswith(str(REPO)) else str(dmig)
    # Snapshot the binary: others may rebuild target/ while a long run is going.
    snap = args.work / "bin" / "dmig"
    snap.parent.mkdir(exist_ok=True)
    shutil.copy2(dmig, snap)
    args.dmig = str(snap)

    args.psql = args.psql or find_psql()
    bench = Bench(args)
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.monotonic()
    bench.load_before = os.getloadavg()
    bench.busy_before = cpu_busy()
    if bench.busy_before is not None and bench.busy_before > 0.25:
        print(
            f"warning: {bench.busy_before * 100:.0f} % of the CPU is busy with something else: expect noise",
            file=sys.stderr,
        )
    if any(g in ONLINE_GROUPS for g in args.only):
        pg = Pg(args.database_url, args.psql)
        try:
            pg.query(pg.admin_url, "SELECT 1")
        except (RuntimeError, OSError) as e:
            print(f"error: cannot reach PostgreSQL at the admin URL: {e}", file=sys.stderr)
            print("hint: pass --database-url or set DMIG_BENCH_DATABASE_URL", file=sys.stderr)
            return 2
        bench.pg = pg
    try:
        bench.run()
    finally:
        if bench.pg is not None:
            bench.pg.drop_all()
    text = report(bench, argv, started, time.monotonic() - t0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(args.out)
    print(table(bench.variants))
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
