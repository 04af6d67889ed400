#!/usr/bin/env python3
"""Times Evidently's DataDriftPreset against `modelwatch drift` on the same files.

Usage (see README.md in this folder):
    python compare.py --reference reference.csv --current current.csv [--stattest wasserstein] [--modelwatch "node dist/cli/main.js"]

Both tools read the files themselves (pandas for Evidently; the embedded engine for modelwatch),
so each time covers reading, computing and reporting. Prints one JSON line with both timings
and their ratio, and how many columns each found drifted.

Three ratios: Evidently timed inside its process from reading the files to the report (its
interpreter start and imports left out) against the whole `modelwatch drift` process (Node's and
the engine's start included); the same against `modelwatch drift` without its start (Node, its
modules and the engine library's load, from its `--timings`); and both timed as whole processes,
from spawn to exit.
"""
import argparse
import json
import resource
import shlex
import subprocess
import sys
import time

import pandas as pd


def read(path: str) -> pd.DataFrame:
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    if path.endswith(".jsonl") or path.endswith(".ndjson"):
        return pd.read_json(path, lines=True)
    return pd.read_csv(path)


def run_evidently(reference: str, current: str, stattest: str) -> dict:
    from evidently.legacy.metric_preset import DataDriftPreset
    from evidently.legacy.pipeline.column_mapping import ColumnMapping
    from evidently.legacy.report import Report

    started = time.perf_counter()
    cpu = time.process_time()
    ref = read(reference)
    cur = read(current)
    loaded = time.perf_counter()
    mapping = ColumnMapping(numerical_features=list(ref.columns), categorical_features=[])
    report = Report(metrics=[DataDriftPreset(stattest=stattest)])
    report.run(reference_data=ref, current_data=cur, column_mapping=mapping)
    result = report.as_dict()
    finished = time.perf_counter()
    drift = result["metrics"][0]["result"]
    return {
        "seconds": finished - started,
        "cpu_seconds": time.process_time() - cpu,
        "read_seconds": loaded - started,
        "drifted": drift["number_of_drifted_columns"],
        "columns": drift["number_of_columns"],
    }


def timed_process(argv: list[str]) -> tuple[subprocess.CompletedProcess, dict]:
    """Runs a command to its end: its output, and its wall and CPU seconds from spawn to exit."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(argv, check=True, capture_output=True, text=True)
    finished = time.perf_counter()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, {"seconds": finished - started, "cpu_seconds": cpu}


def run_evidently_process(reference: str, current: str, stattest: str) -> tuple[dict, dict]:
    """Evidently in a process of its own: the in-process timing it prints, and spawn to exit."""
    out, timing = timed_process(
        [sys.executable, __file__, "--evidently-only", "--reference", reference, "--current", current, "--stattest", stattest]
    )
    return json.loads(out.stdout), timing


def run_modelwatch(command: str, reference: str, current: str, stattest: str) -> dict:
    out, timing = timed_process(
        [*shlex.split(command), "drift", "--reference", reference, "--current", current, "--method", stattest, "--format", "json", "--timings"]
    )
    bucket = json.loads(out.stdout)["buckets"][0]
    features = [c for c in bucket["columns"] if c["role"] == "feature"]
    phases = next(json.loads(line)["timings_ms"] for line in out.stderr.splitlines() if line.startswith('{"timings_ms"'))
    return {
        **timing,
        "after_start_seconds": phases["after_start"] / 1000,
        "phases_ms": phases,
        "drifted": sum(c["drifted"] for c in features),
        "columns": len(features),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--current", required=True)
    parser.add_argument("--stattest", default="wasserstein", choices=["wasserstein", "ks", "psi", "jensenshannon"])
    parser.add_argument("--modelwatch", default="node dist/cli/main.js", help="how to run the modelwatch CLI")
    parser.add_argument("--evidently-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.evidently_only:
        print(json.dumps(run_evidently(args.reference, args.current, args.stattest)))
        return
    modelwatch = run_modelwatch(args.modelwatch, args.reference, args.current, args.stattest)
    evidently, evidently_process = run_evidently_process(args.reference, args.current, args.stattest)
    print(json.dumps({
        "reference": args.reference,
        "current": args.current,
        "stattest": args.stattest,
        "modelwatch": modelwatch,
        "evidently": evidently,
        "evidently_over_modelwatch": evidently["seconds"] / modelwatch["seconds"],
        "evidently_over_modelwatch_cpu": evidently["cpu_seconds"] / modelwatch["cpu_seconds"],
        "evidently_over_modelwatch_after_start": evidently["seconds"] / modelwatch["after_start_seconds"],
        "evidently_process": evidently_process,
        "evidently_process_over_modelwatch": evidently_process["seconds"] / modelwatch["seconds"],
        "evidently_process_over_modelwatch_cpu": evidently_process["cpu_seconds"] / modelwatch["cpu_seconds"],
    }))


if __name__ == "__main__":
    main()
