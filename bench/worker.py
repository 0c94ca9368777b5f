"""The PyTorch side of the benchmarks: times each workload's `py` code and prints one result line per workload
in the format of bench/harness.lua. Started by bench/run.lua with the thread count in the environment:
    /usr/bin/python3 bench/worker.py SPEC_JSON
SPEC_JSON holds {"threads": n, "min_time": s, "trials": k, "workloads": [{"name", "setup", "code"}, ...]}.
The timing rules mirror harness.measure: calibrate (and warm up) until one run takes min_time, then `trials`
runs; report the median and the minimum seconds per iteration."""
import gc
import json
import sys
import textwrap
import time

import torch


def make_loop(setup, code, cuda=False):
    """Runs `setup` once, then builds `_loop(_n)`, which runs `code` _n times with the loop variable `i`.
    The names setup defines become the loop function's locals (default arguments), as timeit does,
    so that looking them up costs what it costs in a user's function. GPU work is asynchronous: with
    `cuda`, a run ends when the device is done."""
    ns = {"torch": torch}
    exec(compile(setup or "", "<setup>", "exec"), ns)
    names = [k for k in ns if k.isidentifier() and not k.startswith("__")]
    params = "".join(f", {k}=_ns[{k!r}]" for k in names)
    src = (
        "def _make(_ns):\n"
        f"    def _loop(_n{params}):\n"
        "        for i in range(_n):\n"
        f"{textwrap.indent(code.strip() or 'pass', ' ' * 12)}\n"
        + ("        torch.cuda.synchronize()\n" if cuda else "")
        + "    return _loop\n"
    )
    scope = {}
    exec(compile(src, "<workload>", "exec"), scope)
    return scope["_make"](ns)


def measure(loop, min_time, trials):
    now = time.perf_counter
    n = 1
    while True:
        t0 = now()
        loop(n)
        elapsed = now() - t0
        if elapsed >= min_time:
            break
        grow = 1.2 * min_time / elapsed if elapsed > 0 else 10
        n = int(-(-n * max(2, min(10, grow)) // 1))
    times = []
    for _ in range(trials):
        t0 = now()
        loop(n)
        times.append((now() - t0) / n)
    times.sort()
    mid = len(times) // 2
    median = times[mid] if len(times) % 2 == 1 else (times[mid - 1] + times[mid]) / 2
    return median, times[0], n


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    torch.set_num_threads(spec["threads"])
    print(f"info\tversion\t{torch.__version__}", flush=True)
    for w in spec["workloads"]:
        name = w["name"]
        try:
            loop = make_loop(w.get("setup"), w["code"], w.get("cuda", False))
            median, least, n = measure(loop, w.get("min_time") or spec["min_time"], spec["trials"])
            print(f"ok\t{name}\t{median:.6e}\t{least:.6e}\t{n}", flush=True)
        except Exception as exc:  # report and go on with the next workload
            message = " ".join(f"{type(exc).__name__}: {exc}".split())
            print(f"error\t{name}\t{message}", flush=True)
        loop = None
        gc.collect()


if __name__ == "__main__":
    main()
