"""River's Page-Hinkley on the streams modelwatch's change-detection tests generate.

Writes test/fixtures/change-detection/river-page-hinkley.json: per parameter set and scenario,
River's detection indices on every run, for the unit test that holds modelwatch's detector to
the same indices and the same figures. The project never runs this (no Python needed); rerun
it by hand after changing the scenarios:

    python3 -m venv /tmp/river && /tmp/river/bin/pip install river==0.26.1
    /tmp/river/bin/python bench/tools/river_page_hinkley.py

The streams are src/change-detection/streams.ts's: mulberry32 reimplemented bit for bit.
"""

import json
import pathlib
import sys

import river
from river.drift import PageHinkley

RUNS = 100

SCENARIOS = [
    ("stationary error rate 0.1", 10_000, None, ("bernoulli", 0.1), None),
    ("stationary error rate 0.3", 10_000, None, ("bernoulli", 0.3), None),
    ("stationary absolute error U(0, 2)", 10_000, None, ("uniform", 0.0, 2.0), None),
    ("error rate 0.1 -> 0.2", 10_000, 5_000, ("bernoulli", 0.1), ("bernoulli", 0.2)),
    ("error rate 0.1 -> 0.3", 10_000, 5_000, ("bernoulli", 0.1), ("bernoulli", 0.3)),
    ("error rate 0.3 -> 0.1 (better)", 10_000, 5_000, ("bernoulli", 0.3), ("bernoulli", 0.1)),
    ("absolute error U(0, 2) -> U(0.5, 2.5)", 10_000, 5_000, ("uniform", 0.0, 2.0), ("uniform", 0.5, 2.5)),
]

PARAMETERS = [
    {"min_instances": 30, "delta": 0.005, "threshold": 50.0, "alpha": 1 - 0.0001, "mode": "both"},
    {"min_instances": 30, "delta": 0.005, "threshold": 20.0, "alpha": 1 - 0.0001, "mode": "both"},
    {"min_instances": 30, "delta": 0.01, "threshold": 10.0, "alpha": 1 - 0.0001, "mode": "up"},
]

M32 = 0xFFFFFFFF


def imul(a, b):
    r = (a * b) & M32
    return r - (1 << 32) if r >= 1 << 31 else r


def s32(x):
    x &= M32
    return x - (1 << 32) if x >= 1 << 31 else x


def mulberry32(seed):
    state = [s32(seed)]

    def nxt():
        a = s32(state[0] + 0x6D2B79F5)
        state[0] = a
        ua = a & M32
        t = imul(s32(ua ^ (ua >> 15)), 1 | a)
        ut = t & M32
        t = s32(s32(t + imul(s32(ut ^ (ut >> 7)), 61 | t)) ^ t)
        ut = t & M32
        return ((ut ^ (ut >> 14)) & M32) / 4294967296

    return nxt


def draw(d, u):
    if d[0] == "bernoulli":
        return 1 if u < d[1] else 0
    return d[1] + (d[2] - d[1]) * u


def stream(scenario, seed):
    _, length, change_at, before, after = scenario
    nxt = mulberry32(seed)
    for i in range(length):
        d = after if change_at is not None and i >= change_at and after is not None else before
        yield draw(d, nxt())


def main():
    out_path = pathlib.Path(__file__).resolve().parents[2] / "test/fixtures/change-detection/river-page-hinkley.json"
    results = []
    for params in PARAMETERS:
        for scenario in SCENARIOS:
            runs = []
            for seed in range(1, RUNS + 1):
                ph = PageHinkley(**params)
                found = []
                for i, x in enumerate(stream(scenario, seed)):
                    ph.update(x)
                    if ph.drift_detected:
                        found.append(i)
                runs.append(found)
            results.append({"parameters": params, "scenario": scenario[0], "detections": runs})
            print(params["threshold"], scenario[0], sum(len(r) for r in runs), file=sys.stderr)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps({"river": river.__version__, "runs": RUNS, "results": results}) + "\n")
    # First values of seed 1, to check the generator against the TypeScript one.
    first = mulberry32(1)
    print("mulberry32(1):", [first() for _ in range(3)])


if __name__ == "__main__":
    main()
