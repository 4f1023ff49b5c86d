#!/usr/bin/env python3
"""Plots Table 3 of `medshare bench paper` beside the paper's figures: plot_table3.py paper.json out.png

Average time of the whole flow for one record, per record size, on a log scale, in pairs: the
paper's non-SGX row beside medshare with the enclave in the benchmark's process, the paper's SGX
row beside medshare with the enclave in its own process. Run by `medshare bench` with the pinned packages of bench/requirements.txt.
"""
import json
import sys



def main():
    results, out = sys.argv[1], sys.argv[2]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = json.load(open(results))["table3"]
    kb = [r["size_kb"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    ax.plot(kb, [r["paper_sgx"]["avg_us"] / 1000 for r in rows], "o--", color="C0", label="paper, SGX (Table 3)")
    ax.plot(kb, [r["process_avg_us"] / 1000 for r in rows], "s-", color="C0", label="medshare, enclave in its own process")
    ax.plot(kb, [r["paper_nosgx"]["avg_us"] / 1000 for r in rows], "o--", color="C1", label="paper, non-SGX (Table 3)")
    ax.plot(kb, [r["avg_us"] / 1000 for r in rows], "^-", color="C1", label="medshare, enclave in process")
    ax.set_yscale("log")
    ax.set_xlabel("record size (kB)")
    ax.set_ylabel("average time of the whole flow (ms, log scale)")
    ax.set_title("Sharing one record end to end: paper vs medshare")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    main()
