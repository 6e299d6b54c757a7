#!/usr/bin/env bash
# Training speed, digitscope's trainer (burn-flex, 2 threads) against the notebook's Keras code
# (tensorflow-cpu from PyPI, pinned below) on this machine, one after the other in one run:
# recipe 1 (small net, 10 epochs, batch 100, Adam) on the same data (MNIST + 6,000 near-black
# background images). Prints seconds per epoch, final accuracy, and the training time each needs
# to reach test-accuracy thresholds (the notebook's own recipe-1 figure among them); writes
# out/bench/training.json. Needs `make mnist`; installs TensorFlow into out/keras-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
TF_VERSION=2.21.0
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
mkdir -p out/bench
if ! out/keras-venv/bin/python -c "import tensorflow as tf; assert tf.__version__ == '$TF_VERSION'" 2>/dev/null; then
  python3 -m venv out/keras-venv
  out/keras-venv/bin/pip install -q "tensorflow-cpu==$TF_VERSION"
fi
cargo build --release -p digitscope-trainer
echo "digitscope trainer, recipe small:"
"$TARGET_DIR/release/trainer" train --recipe small --out out/bench/train 2>&1 | grep -E "epoch +[0-9]+:"
echo "Keras (tensorflow-cpu $TF_VERSION), recipe 1:"
out/keras-venv/bin/python bench/keras_train.py data/mnist out/bench/keras-small.json 10 2>&1 | grep "keras epoch"
python3 - <<'PY'
import json
ours = json.load(open("out/bench/train/report-small.json"))
ours = ours["recipes"][0]["epochs"] if "recipes" in ours else ours["epochs"] if "epochs" in ours else ours[0]["epochs"]
keras = json.load(open("out/bench/keras-small.json"))["epochs"]
NOTEBOOK = 0.9847  # the notebook's printed recipe-1 test accuracy

def reach(epochs, target):
    total = 0.0
    for e in epochs:
        total += e["train_seconds"]
        if e["test_accuracy"] >= target:
            return total
    return None

rows = []
for name, epochs in (("digitscope (burn-flex)", ours), ("Keras (tensorflow-cpu)", keras)):
    per_epoch = sum(e["train_seconds"] for e in epochs) / len(epochs)
    rows.append({"trainer": name, "s/epoch": round(per_epoch, 2), "final accuracy %": round(epochs[-1]["test_accuracy"] * 100, 2),
                 "best accuracy %": round(max(e["test_accuracy"] for e in epochs) * 100, 2)})
thresholds = {}
for target in (0.975, 0.98, NOTEBOOK):
    a, b = reach(ours, target), reach(keras, target)
    thresholds[f"{target * 100:.2f} %"] = {"digitscope s": a, "keras s": b, "ratio": round(a / b, 2) if a and b else None}
report = {"trainers": rows, "time_to_accuracy": thresholds, "epoch_ratio": round(rows[0]["s/epoch"] / rows[1]["s/epoch"], 2)}
json.dump(report, open("out/bench/training.json", "w"), indent=2)
for r in rows:
    print(f"{r['trainer']:24} {r['s/epoch']:6.2f} s/epoch   final {r['final accuracy %']:.2f} %   best {r['best accuracy %']:.2f} %")
print(f"seconds per epoch, digitscope / Keras: {report['epoch_ratio']}")
for t, v in thresholds.items():
    fmt = lambda s: f"{s:6.1f} s" if s is not None else "not reached"
    print(f"time to {t}: digitscope {fmt(v['digitscope s'])}, Keras {fmt(v['keras s'])}, ratio {v['ratio']}")
print("written to out/bench/training.json")
PY
