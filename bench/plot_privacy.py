#!/usr/bin/env python3
"""Plots `medshare bench privacy`: plot_privacy.py privacy.json out.png

Held-out accuracy (mean over the splits, the minimum as the lower whisker) against ε, for
medshare and for IBM diffprivlib (with medshare's clipping bound, and with the bound the public
ranges imply), on a log ε axis; ε = ∞ drawn at the right edge. Run by `medshare bench` with the
pinned packages of bench/requirements.txt.
"""
import json
import sys


def main():
    results, out = sys.argv[1], sys.argv[2]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = json.load(open(results))
    # The report's keys are Rust's shortest form of each ε ("1", "0.1", "inf").
    keys = ["%g" % e if e != "inf" else "inf" for e in r["epsilons"]]
    finite = [float(k) for k in keys if k != "inf"]
    inf_x = max(finite) * 3
    xs = [float(k) if k != "inf" else inf_x for k in keys]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for name, label, style in [
        ("medshare", "medshare", "o-"),
        ("diffprivlib", "diffprivlib (same clipping bound)", "s--"),
        ("diffprivlib_range_bound", "diffprivlib (bound of the ranges, √d)", "^:"),
    ]:
        means = [r[name][k]["mean"] for k in keys]
        mins = [r[name][k]["min"] for k in keys]
        ax.errorbar(xs, means, yerr=[[m - n for m, n in zip(means, mins)], [0] * len(means)],
                    fmt=style, capsize=3, label=label)
    ax.set_xscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels([k if k != "inf" else "∞" for k in keys])
    ax.set_xlabel("ε (δ = %g)" % r["delta"])
    ax.set_ylabel("held-out accuracy (mean, min)")
    ax.set_title("Breast cancer data, %d random splits" % r["splits"])
    ax.set_ylim(0, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    main()
