"""The notebook's recipe 1 in Keras (tensorflow-cpu), timed the way digitscope's trainer times it.

Small net: Conv 3x3 stride 2 (16, 32, 64, swish, 'same') -> GlobalMaxPool -> Dense 64 swish ->
Dense 11 softmax; Adam (learning rate 1e-3, epsilon 1e-7), batch 100, 10 epochs, shuffled; the
training set is MNIST's 60,000 digits plus 6,000 near-black background images
(randint(0, 5) / 255, label 10), the test set MNIST's 10,000 plus 1,000 such images. Per epoch:
training seconds (evaluation excluded) and 11-class test accuracy. Writes JSON to argv[2].
Usage: python bench/keras_train.py MNIST_DIR OUT.json [EPOCHS]
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def idx_images(path):
    data = np.fromfile(path, dtype=np.uint8)
    n = int.from_bytes(data[4:8].tobytes(), "big")
    return data[16:].reshape(n, 28, 28, 1).astype(np.float32) / 255.0


def idx_labels(path):
    return np.fromfile(path, dtype=np.uint8)[8:].astype(np.int64)


def main():
    mnist, out = sys.argv[1], sys.argv[2]
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    rng = np.random.default_rng(0)
    tf.keras.utils.set_random_seed(0)

    def with_background(x, y, n):
        bg = rng.integers(0, 5, size=(n, 28, 28, 1)).astype(np.float32) / 255.0
        return np.concatenate([x, bg]), np.concatenate([y, np.full(n, 10)])

    x_train, y_train = with_background(idx_images(f"{mnist}/train-images-idx3-ubyte"), idx_labels(f"{mnist}/train-labels-idx1-ubyte"), 6000)
    x_test, y_test = with_background(idx_images(f"{mnist}/t10k-images-idx3-ubyte"), idx_labels(f"{mnist}/t10k-labels-idx1-ubyte"), 1000)

    conv = lambda n: tf.keras.layers.Conv2D(n, 3, strides=2, padding="same", activation="swish")  # noqa: E731
    model = tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)),
        conv(16), conv(32), conv(64),
        tf.keras.layers.GlobalMaxPooling2D(),
        tf.keras.layers.Dense(64, activation="swish"),
        tf.keras.layers.Dense(11, activation="softmax"),
    ])
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3, epsilon=1e-7), loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    reports = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        history = model.fit(x_train, y_train, batch_size=100, epochs=1, shuffle=True, verbose=0)
        seconds = time.perf_counter() - start
        loss, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
        reports.append({"epoch": epoch, "train_loss": float(history.history["loss"][0]), "test_accuracy": float(accuracy), "test_loss": float(loss), "train_seconds": seconds})
        print(f"  keras epoch {epoch:2}: test accuracy {accuracy * 100:.2f} % ({seconds:.1f} s)", flush=True)
    report = {
        "framework": f"tensorflow {tf.__version__} (keras {tf.keras.__version__})",
        "threads": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(), "inter_op": tf.config.threading.get_inter_op_parallelism_threads(), "cpus": os.cpu_count()},
        "parameters": int(model.count_params()),
        "epochs": reports,
    }
    with open(out, "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
