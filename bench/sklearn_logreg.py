#!/usr/bin/env python3
"""scikit-learn's side of `medshare bench paper`'s training comparison.

Reads the synthetic cohort CSV written by the benchmark (30 feature columns, then the 0/1 label),
holds out 25 % (stratified, seeded), standardizes with the training split's statistics, fits
LogisticRegression (lbfgs, C = 1, the same L2 penalty and tolerance as medshare's spec) and
prints {"seconds": ..., "accuracy": ..., "records": ...} as JSON, seconds being the median of
REPEATS runs. The timed part is what medshare's `train` does too: split, standardize, fit,
predict the held-out split.
Run by `medshare bench` with the pinned packages of bench/requirements.txt.
"""
import json
import sys
import time



def main():
    path, seed, tol, max_iter = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    data = np.loadtxt(path, delimiter=",", skiprows=1)
    x, y = data[:, :-1], data[:, -1]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=0.25, random_state=seed, stratify=y
        )
        scaler = StandardScaler().fit(x_train)
        model = LogisticRegression(C=1.0, tol=tol, max_iter=max_iter, solver="lbfgs")
        model.fit(scaler.transform(x_train), y_train)
        accuracy = float((model.predict(scaler.transform(x_test)) == y_test).mean())
        times.append(time.perf_counter() - start)
    seconds = sorted(times)[len(times) // 2]
    print(json.dumps({"seconds": seconds, "accuracy": accuracy, "records": int(len(y))}))


if __name__ == "__main__":
    main()
