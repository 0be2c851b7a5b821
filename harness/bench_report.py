#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The report of make bench: the Rust core against the C core, operation by operation.

Reads out/bench/CORE-MODE-RUN/{kernel,user}.txt (tests/bench's lines, harness/guest/bench.sh), where
MODE is `icount` (QEMU -icount shift=0: 1/100 ns is 1/100 instruction) or `wall` (plain TCG:
the host's time, emulation included). Per operation and core: the median over the boots of
each boot's median batch, with the range across boots; the Rust/C ratio of the whole
operation and of the operation minus its floor (the exporter callbacks called directly, or
the empty loop where an operation has no floor of its own); geometric means. Writes
report.md and chart.svg next to the runs and prints the table, then the BPF buffer
iterator's checks (bpf.txt, tests/bpf/) per core. Fails (exit 1) when a boot reported an
error, an operation is missing from a boot, the calibration is off by more than 1%, or a
boot's BPF iterator check failed or did not run.
"""

import argparse
import math
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

FIGURE = re.compile(r"dma_buf_bench: (.+?): (\d+) min (\d+) max (\d+) \(")
CALIBRATION = re.compile(r"dma_buf_bench: calibration: (\d+) instructions in (\d+) ns")
DONE = re.compile(r"dma_buf_bench: done: (-?\d+)")
USER_EXIT = re.compile(r"dma_buf_bench: user exit status (\d+)")
MEMORY = re.compile(r"dma_buf_bench: memory: (\w+): (\d+) bytes \((.*)\)")
BPF_CHECK = re.compile(r"^(ok|not ok) \d+ - (.*)$")
BPF_EXIT = re.compile(r"^dmabuf_bpf_iter: (.*)$")
RUN_DIR = re.compile(r"^(c|rust)-(icount|wall)-(\d+)$")
CORES = ("c", "rust")


def load(bench):
    """{mode: {core: [ {op: value} per boot ]}}, calibrations, {core: {object: (bytes,
    what)}}, {core: [ (passed, failed) per boot ]} of the BPF iterator check, problems."""
    runs = defaultdict(lambda: defaultdict(list))
    calibrations, problems = [], []
    memory, bpf = defaultdict(dict), defaultdict(list)
    for d in sorted(p for p in bench.iterdir() if p.is_dir()):
        m = RUN_DIR.match(d.name)
        if not m:
            continue
        core, mode = m.group(1), m.group(2)
        text = "".join((d / f).read_text(errors="replace") if (d / f).exists() else ""
                       for f in ("kernel.txt", "user.txt"))
        figures, done, user_exit = {}, None, None
        for line in text.splitlines():
            if fm := FIGURE.search(line):
                figures[fm.group(1)] = int(fm.group(2)) / 100
            elif cm := CALIBRATION.search(line):
                if mode == "icount":
                    calibrations.append((d.name, int(cm.group(1)), int(cm.group(2))))
            elif mm := MEMORY.search(line):
                memory[core][mm.group(1)] = (int(mm.group(2)), mm.group(3))
            elif dm := DONE.search(line):
                done = int(dm.group(1))
            elif um := USER_EXIT.search(line):
                user_exit = int(um.group(1))
        if done != 0:
            problems.append(f"{d.name}: the bench module reported "
                            + ("nothing" if done is None else f"error {done}"))
        if user_exit != 0:
            problems.append(f"{d.name}: the bench program "
                            + ("did not run" if user_exit is None else f"exited with {user_exit}"))
        runs[mode][core].append(figures)
        bpf_text = (d / "bpf.txt").read_text(errors="replace") if (d / "bpf.txt").exists() else ""
        results = [m.group(1) for m in map(BPF_CHECK.match, bpf_text.splitlines()) if m]
        ended = [m.group(1) for m in map(BPF_EXIT.match, bpf_text.splitlines()) if m]
        for m in map(BPF_CHECK.match, bpf_text.splitlines()):
            if m and m.group(1) == "not ok":
                problems.append(f"{d.name}: BPF iterator: not ok: {m.group(2)}")
        if ended != ["exit status 0"] or not results:
            problems.append(f"{d.name}: BPF iterator check: "
                            + (ended[-1] if ended else "did not run"))
        bpf[core].append((results.count("ok"), results.count("not ok")))
    return runs, calibrations, memory, bpf, problems


def floor_of(op, ops):
    """The floor tests/bench printed for @op ("OP floor"), else the empty loop (in-kernel)."""
    if op == "empty" or op.endswith(" floor"):
        return None
    if op + " floor" in ops:
        return op + " floor"
    # A system call without a floor of its own has none: the module's empty loop is no floor.
    return None if op.startswith("user ") else "empty"


def summarize(boots, op):
    values = [b[op] for b in boots if op in b]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def chart(rows, path):
    """A horizontal bar per operation: Rust/C instructions, a line at 1.0."""
    bar_h, gap, label_w, plot_w = 16, 6, 300, 420
    top = 30
    height = top + len(rows) * (bar_h + gap) + 40
    vmax = max([r["ratio"] for r in rows if r["ratio"]] + [1.5])
    scale = plot_w / vmax
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 80}" '
           f'height="{height}" font-family="sans-serif" font-size="12">',
           f'<text x="10" y="18" font-weight="bold">Rust/C instructions per operation '
           f'(make bench, lower is better)</text>']
    for i, r in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = (r["ratio"] or 0) * scale
        colour = "#3a7d44" if r["ratio"] and r["ratio"] <= 1.0 else "#b5452b"
        out.append(f'<text x="{label_w - 6}" y="{y + bar_h - 4}" text-anchor="end">'
                   f'{r["op"]}</text>')
        out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                   f'fill="{colour}"/>')
        out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 4}">{r["ratio"]:.2f}</text>')
    x1 = label_w + scale
    out.append(f'<line x1="{x1:.1f}" y1="{top - 4}" x2="{x1:.1f}" '
               f'y2="{height - 30}" stroke="black" stroke-dasharray="4 3"/>')
    out.append(f'<text x="{x1:.1f}" y="{height - 14}" text-anchor="middle">1.0 (C)</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


def fmt(s):
    if s is None:
        return "-"
    med, lo, hi = s
    return f"{med:.1f}" if lo == hi else f"{med:.1f} ({lo:.1f}-{hi:.1f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", type=Path, help="out/bench")
    args = ap.parse_args()
    runs, calibrations, memory, bpf, problems = load(args.bench)
    icount = runs.get("icount", {})
    if not all(icount.get(c) for c in CORES):
        problems.append("no icount boot of " + " and ".join(c for c in CORES if not icount.get(c)))
    for name, want, got in calibrations:
        if abs(got - want) > want / 100:
            problems.append(f"{name}: calibration: {want} instructions took {got} ns "
                            "(-icount shift=0 should give 1 ns each)")
    ops = []
    for core in CORES:
        for b in icount.get(core, []):
            ops += [op for op in b if op not in ops]
    for core in CORES:
        for i, b in enumerate(icount.get(core, [])):
            for op in ops:
                if op not in b:
                    problems.append(f"{core} icount boot {i + 1}: no figure for {op}")
    rows = []
    for op in ops:
        if op.endswith(" floor"):
            continue
        r = {"op": op}
        for core in CORES:
            r[core] = summarize(icount.get(core, []), op)
            r[core + "_wall"] = summarize(runs.get("wall", {}).get(core, []), op)
        fl = floor_of(op, ops)
        r["floor"] = fl
        r["ratio"] = r["rust"][0] / r["c"][0] if r["c"] and r["rust"] and r["c"][0] else None
        if fl and r["c"] and r["rust"]:
            fc, fr = summarize(icount["c"], fl), summarize(icount["rust"], fl)
            dc, dr = r["c"][0] - fc[0], r["rust"][0] - fr[0]
            r["c_net"], r["rust_net"] = dc, dr
            r["net_ratio"] = dr / dc if dc > 0 else None
        else:
            r["c_net"] = r["rust_net"] = r["net_ratio"] = None
        cw, rw = r["c_wall"], r["rust_wall"]
        r["wall_ratio"] = rw[0] / cw[0] if cw and rw and cw[0] else None
        rows.append(r)

    measured = [r for r in rows if r["op"] != "empty"]
    groups = (("in-kernel operations", [r for r in measured if not r["op"].startswith("user ")]),
              ("system calls", [r for r in measured if r["op"].startswith("user ")]))
    n_boots = {c: len(icount.get(c, [])) for c in CORES}
    n_wall = {c: len(runs.get("wall", {}).get(c, [])) for c in CORES}

    def ratio(x):
        return f"{x:.2f}" if x and not math.isnan(x) else "-"

    head = ("| operation | C insn/op | Rust insn/op | Rust/C | C net | Rust net | Rust/C net "
            "| C ns/op (wall) | Rust ns/op (wall) | Rust/C wall |")
    lines = [head, "|" + " --- |" * 10]
    for r in rows:
        net = (f"{r['c_net']:.1f}" if r["c_net"] is not None else "-",
               f"{r['rust_net']:.1f}" if r["rust_net"] is not None else "-")
        lines.append(f"| {r['op']} | {fmt(r['c'])} | {fmt(r['rust'])} | {ratio(r['ratio'])} "
                     f"| {net[0]} | {net[1]} | {ratio(r['net_ratio'])} | {fmt(r['c_wall'])} "
                     f"| {fmt(r['rust_wall'])} | {ratio(r['wall_ratio'])} |")
    for label, group in groups:
        gm = geomean([r["ratio"] for r in group])
        gm_net = geomean([r["net_ratio"] for r in group])
        gm_wall = geomean([r["wall_ratio"] for r in group])
        lines.append(f"| geometric mean, {label} | | | {ratio(gm)} | | | {ratio(gm_net)} "
                     f"| | | {ratio(gm_wall)} |")
    helpers = args.bench / "rust-inline-helpers"
    helpers = helpers.read_text().strip() if helpers.exists() else "?"
    helpers = {"y": "inlined into Rust code (CONFIG_RUST_INLINE_HELPERS=y)",
               "n": "called from Rust code (CONFIG_RUST_INLINE_HELPERS off)"}.get(
                   helpers, "inlined or not: unknown")
    report = [
        "# make bench: the Rust core against the C core",
        "",
        f"The Rust kernel's C helpers are {helpers}.",
        "",
        f"Instructions per operation (QEMU TCG, -icount shift=0), median of the boots' medians "
        f"with the range across boots: {n_boots['c']} C and {n_boots['rust']} Rust boots; "
        f"wall time from {n_wall['c']} and {n_wall['rust']} plain TCG boots. `net` is the "
        f"operation minus its floor (its exporter callbacks called directly, or the empty "
        f"loop).",
        "",
        *lines,
        "",
        "![Rust/C per operation](chart.svg)",
        "",
    ]
    mem = ["| object | C bytes | Rust bytes | what |", "| --- | --- | --- | --- |"]
    for obj in sorted({o for core in CORES for o in memory.get(core, {})}):
        c, rust = memory.get("c", {}).get(obj), memory.get("rust", {}).get(obj)
        mem.append(f"| {obj} | {c[0] if c else '-'} | {rust[0] if rust else '-'} "
                   f"| {(rust or c)[1]} |")
        if c and rust and rust[0] > c[0]:
            problems.append(f"memory: a {obj} takes {rust[0]} bytes on Rust, {c[0]} on C")
    lines += ["", "Memory per object (slab bytes, ksize()):", "", *mem]
    report += ["Memory per object (slab bytes, ksize()):", "", *mem, ""]
    it = ["The BPF buffer iterator (tests/bpf/: bpf_iter_dmabuf over dma_buf_iter_begin/next, "
          "checked against bufinfo), checks passed per boot:", ""]
    for core in CORES:
        it.append(f"- {core}: " + (", ".join(f"{ok}/{ok + bad}" for ok, bad in bpf[core])
                                    if bpf.get(core) else "no boot"))
    lines += ["", *it]
    report += [*it, ""]
    if calibrations:
        report.append("Calibration (2 instructions per round): " + ", ".join(
            f"{n}: {want} in {got} ns" for n, want, got in calibrations))
    (args.bench / "report.md").write_text("\n".join(report) + "\n")
    chart([r for r in measured if r["ratio"]], args.bench / "chart.svg")
    print(f"The Rust kernel's C helpers are {helpers}.")
    print("\n".join(lines))
    for p in problems:
        print("problem: " + p)
    print(f"report: {args.bench / 'report.md'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
