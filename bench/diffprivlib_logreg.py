#!/usr/bin/env python3
"""IBM diffprivlib's side of the private logistic regression comparison.

Usage: python3 bench/diffprivlib_logreg.py SPLITS.json [DATA_NORM]   (or the JSON on stdin)

SPLITS.json is what `medshare bench privacy` writes: the CSV path, the feature and label columns, each feature's
public range, the clipping norm (`data_norm`), delta, the list of epsilons ("inf" for none) and
the held-out row indices of every split. Each feature is clipped to its range and scaled to
[-1, 1] exactly as medshare scales it; diffprivlib's LogisticRegression then gets the same
`data_norm` as medshare's clipping norm (it clips each row to that L2 norm itself), unless
DATA_NORM is given (e.g. sqrt(30), the bound the ranges alone imply, which suits diffprivlib
better since it does not centre the data). At
epsilon = "inf" scikit-learn's LogisticRegression (C = 1) is used.

Prints JSON: {epsilon: {"mean", "min", "accuracies"}}.

Run by `medshare bench privacy` with the pinned packages of bench/requirements.txt
(diffprivlib needs scikit-learn < 1.6).
"""
import csv
import json
import sys
import warnings

import numpy as np


def main():
    spec = json.load(open(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "-" else sys.stdin)
    if len(sys.argv) > 2:
        spec["data_norm"] = float(sys.argv[2])
    with open(spec["csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    x = np.array([[float(r[c]) for c in spec["features"]] for r in rows])
    y = np.array([int(float(r[spec["label"]])) for r in rows])
    lo = np.array([r[0] for r in spec["ranges"]])
    hi = np.array([r[1] for r in spec["ranges"]])
    z = 2.0 * (np.clip(x, lo, hi) - lo) / (hi - lo) - 1.0

    from diffprivlib.models import LogisticRegression as DpLogisticRegression
    from sklearn.linear_model import LogisticRegression

    warnings.filterwarnings("ignore")
    out = {}
    for eps in spec["epsilons"]:
        accuracies = []
        for k, test in enumerate(spec["test"]):
            mask = np.zeros(len(y), dtype=bool)
            mask[test] = True
            if eps == "inf":
                model = LogisticRegression(C=1.0, max_iter=1000)
            else:
                model = DpLogisticRegression(
                    epsilon=float(eps), data_norm=spec["data_norm"], C=1.0, random_state=k
                )
            model.fit(z[~mask], y[~mask])
            accuracies.append(float((model.predict(z[mask]) == y[mask]).mean()))
        out[str(eps)] = {
            "mean": float(np.mean(accuracies)),
            "min": float(np.min(accuracies)),
            "accuracies": accuracies,
        }
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
