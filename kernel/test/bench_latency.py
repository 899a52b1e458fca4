"""Kernel latency benchmark (not a test): startup to kernel_info, first cell, warm cells, first Table/chart.

Run with the kernelspec installed and JUPYTER_PATH pointing at it, e.g.
    bin/ctlab kernel install --prefix /tmp/k && JUPYTER_PATH=/tmp/k/share/jupyter .kernel-venv/bin/python kernel/test/bench_latency.py [RUNS] [IDLE_S]
IDLE_S: seconds to wait after kernel_info before the first cell (default 0: send it at once).
"""
import statistics
import sys
import time

from jupyter_client.manager import KernelManager


def cell(kc, code):
    t = time.perf_counter()
    reply = kc.execute_interactive(code, timeout=120, output_hook=lambda m: None)
    assert reply["content"]["status"] == "ok", reply["content"]
    return time.perf_counter() - t


def one_session(idle_before_first=0.0):
    km = KernelManager(kernel_name="ctlab")
    t0 = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)           # sends kernel_info until it is answered
    ready = time.perf_counter() - t0
    time.sleep(idle_before_first)           # a user reading the notebook: JShell warms up meanwhile
    first = cell(kc, "1 + 1")
    warm = [cell(kc, f"{i} + 1") for i in range(20)]
    decl = [cell(kc, f"int v{i} = {i};") for i in range(10)]
    table = cell(kc, 'Table.create("t").addColumns(IntColumn.create("a", 1, 2, 3))')
    chart = cell(kc, 'var c = new XYChartBuilder().width(400).height(300).build();\n'
                     'c.addSeries("s", new double[]{1, 2}, new double[]{1, 2});\nc')
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return ready, first, statistics.median(warm), statistics.median(decl), table, chart


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    idle = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    rows = [one_session(idle) for _ in range(n)]
    names = ["kernel_info ready", f"first cell (1+1) after {idle:g}s", "warm expression (median)", "warm declaration (median)",
             "first Table render", "first XChart PNG"]
    print(f"{'measure':28s} " + " ".join(f"run{i + 1:>2d}" for i in range(n)) + "   median")
    for j, name in enumerate(names):
        vals = [r[j] for r in rows]
        print(f"{name:28s} " + " ".join(f"{v:5.2f}" for v in vals) + f"   {statistics.median(vals):5.2f} s")


if __name__ == "__main__":
    main()
