"""The HTML report against the Markdown report, rendered from the same decisions in one run.

Two decisions: the bundled blocked example (16 evidence items, 15 findings), and a 200-evidence-item
release made from it (the example's items repeated under new origins: 36 load-test runs with their
series, 36 data-quality sources, 48 drills, 24 accountability maps, ...). For each, times --repeat renders
of each format (median, after one warm-up render; the first HTML render of a process also pays for
importing matplotlib, printed apart) and prints the sizes. The issue's target: the blocked example's
HTML report under 1.5 MB.

With --libraries, also measures one representative plot (three runs' latency against request rate, with a
limit line) in each candidate plotting library installed here: import time, render time and SVG size,
and the size of what a self-contained page would have to inline (plotly's JavaScript bundle).

    python benchmarks/html_report.py [--repeat 5] [--libraries] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "plugins")]
BLOCKED = REPO / "examples" / "claims-triage" / "blocked" / "gate.yaml"
NOW = "2026-11-26T12:00:00Z"


def blocked_decision():
    import argparse as ap

    from gate import plugins, runner
    from gate.config import load_config

    plugins.reset_manager()
    config = load_config(BLOCKED)
    context = runner.make_context(config, ap.Namespace(version=None, commit=None, now=NOW), environ={})
    return runner.evaluate(config, context, "embedded")


def two_hundred_items(decision):
    """The example's evidence repeated under new origins until there are 200 items."""
    items = []
    while len(items) < 200:
        for e in decision.evidence:
            if len(items) == 200:
                break
            n = len(items) // len(decision.evidence)
            data = dict(e.data)
            if e.kind == "data_quality":
                data["source"] = f"{data['source']}-{n}"
            items.append(replace(e, origin=f"{e.origin.removesuffix('.yaml')}-{n}.yaml", data=data))
    return replace(decision, evidence=tuple(items))


def timed(render, decision, repeat: int) -> tuple[float, float, str]:
    """Median wall and CPU seconds of one render: CPU time holds steady on a shared, loaded machine."""
    walls, cpus, text = [], [], ""
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        text = render(decision)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), text


def compare(decisions, repeat: int, keep: Path | None) -> None:
    from gate.render.html import render_html
    from gate.render.markdown import render_markdown

    start = time.perf_counter()
    render_html(decisions[0][1])  # warm-up: imports matplotlib, builds its font cache entries
    print(f"first HTML render of the process (imports matplotlib): {time.perf_counter() - start:.2f} s")
    print(f"{'release':<28}{'markdown ms (cpu)':>19}{'html ms (cpu)':>17}{'cpu ratio':>10}{'markdown KB':>13}"
          f"{'html KB':>10}")
    for name, decision in decisions:
        md_wall, md_cpu, md = timed(render_markdown, decision, repeat)
        html_wall, html_cpu, page = timed(render_html, decision, repeat)
        md_kb, html_kb = len(md.encode()) / 1024, len(page.encode()) / 1024
        print(f"{name:<28}{md_wall * 1000:>10.1f} ({md_cpu * 1000:.1f}){html_wall * 1000:>9.0f} "
              f"({html_cpu * 1000:.0f})"
              f"{html_cpu / md_cpu:>9.0f}x{md_kb:>13.1f}{html_kb:>10.1f}")
        if keep:
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"{name.split()[0]}.html").write_text(page, encoding="utf-8")
    size = len(render_html(decisions[0][1]).encode())
    print(f"blocked example: {size / 1e6:.3f} MB against the 1.5 MB target: "
          f"{'met' if size < 1.5e6 else 'MISSED'}")


def libraries() -> None:
    """One representative plot in each candidate library that is installed."""
    x, lines = [39.6, 84.2, 126.4], {"p50": [182, 402, 264], "p95": [338, 934, 612], "p99": [517, 1712, 1124]}

    def with_matplotlib() -> str:
        import matplotlib
        from matplotlib.figure import Figure

        with matplotlib.rc_context({"svg.fonttype": "none"}):
            fig = Figure(figsize=(7, 3.5))
            ax = fig.subplots()
            for name, y in lines.items():
                ax.plot(x, y, marker="o", label=name)
            ax.axhline(800, linestyle="--")
            ax.legend()
            out = io.StringIO()
            fig.savefig(out, format="svg")
            return out.getvalue()

    def with_pygal() -> str:
        import pygal

        chart = pygal.XY(js=[], width=700, height=350)
        for name, y in lines.items():
            chart.add(name, list(zip(x, y)))
        chart.add("limit", [(0, 800), (130, 800)])
        return chart.render(is_unicode=True)

    def with_plotly() -> str:
        import plotly.graph_objects as go

        fig = go.Figure([go.Scatter(x=x, y=y, name=name) for name, y in lines.items()])
        fig.add_hline(y=800)
        return fig.to_html(include_plotlyjs=True, full_html=False)

    print(f"{'library':<12}{'import s':>10}{'first ms':>10}{'next ms':>9}{'bytes':>10}  note")
    for name, draw, note in (("matplotlib", with_matplotlib, "static SVG, no script"),
                             ("pygal", with_pygal, "static SVG with js=[]; LGPL-3.0"),
                             ("plotly", with_plotly, "needs its JavaScript bundle inlined to work offline")):
        try:
            start = time.perf_counter()
            __import__(name)
            imported = time.perf_counter() - start
        except ImportError:
            print(f"{name:<12}{'not installed':>20}")
            continue
        start = time.perf_counter()
        draw()
        first = time.perf_counter() - start
        start = time.perf_counter()
        out = draw()
        print(f"{name:<12}{imported:>10.2f}{first * 1000:>10.0f}{(time.perf_counter() - start) * 1000:>9.0f}"
              f"{len(out.encode()):>10}  {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--libraries", action="store_true")
    parser.add_argument("--keep", type=Path, help="write the HTML reports here")
    args = parser.parse_args()
    if args.libraries:  # first, so that each library's import is timed cold
        libraries()
    decision = blocked_decision()
    compare([("blocked example (16 items)", decision), ("200 evidence items", two_hundred_items(decision))],
            args.repeat, args.keep)


if __name__ == "__main__":
    main()
