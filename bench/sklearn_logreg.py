#!/usr/bin/env python3
"""scikit-learn's side of `medshare bench paper`'s training comparison.

    sklearn_logreg.py COHORT.csv CONFIG.json

COHORT.csv holds the records (feature columns, then the 0/1 label) in the order of medshare's own
split: the first `test_records` rows are held out, the rest trained on. CONFIG.json gives that
count, the features' public ranges, the L2 penalty, the tolerance, the iteration cap and the
repeats. Each timed run does what medshare's `train` does to the same rows: clip every feature to
its range and map it to [-1, 1], fit LogisticRegression (lbfgs, C = 1/l2) on the training rows,
predict the held-out rows. The native thread pools are whatever OMP_NUM_THREADS /
OPENBLAS_NUM_THREADS / MKL_NUM_THREADS allow (the caller sets them); threadpoolctl reports them.
Prints {"seconds" (median), "accuracy", "iterations", "records", "versions", "threadpools"} as JSON.
Run by `medshare bench` with the pinned packages of bench/requirements.txt.
"""
import json
import platform
import sys
import time


def main():
    path, config_path = sys.argv[1], sys.argv[2]
    import numpy as np
    import scipy
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_info

    with open(config_path) as f:
        config = json.load(f)
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    x, y = data[:, :-1], data[:, -1]
    n_test = config["test_records"]
    ranges = np.asarray(config["ranges"], dtype=float)
    low, high = ranges[:, 0], ranges[:, 1]
    x_test, y_test = x[:n_test], y[:n_test]
    x_train, y_train = x[n_test:], y[n_test:]

    def scale(rows):
        return 2.0 * (np.clip(rows, low, high) - low) / (high - low) - 1.0

    times = []
    for _ in range(config["repeats"]):
        start = time.perf_counter()
        model = LogisticRegression(
            C=1.0 / config["l2"],
            tol=config["tolerance"],
            max_iter=config["max_iterations"],
            solver="lbfgs",
        )
        model.fit(scale(x_train), y_train)
        accuracy = float((model.predict(scale(x_test)) == y_test).mean())
        times.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "seconds": sorted(times)[len(times) // 2],
                "accuracy": accuracy,
                "iterations": int(model.n_iter_[0]),
                "records": int(len(y)),
                "versions": {
                    "python": platform.python_version(),
                    "numpy": np.__version__,
                    "scipy": scipy.__version__,
                    "scikit-learn": sklearn.__version__,
                },
                "threadpools": [
                    {
                        "api": p.get("internal_api"),
                        "library": p.get("prefix"),
                        "num_threads": p.get("num_threads"),
                    }
                    for p in threadpool_info()
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
