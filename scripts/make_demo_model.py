"""Train the demo model (demo/digits/) and write demo/digits/examples.json. A development tool, not run by CI.

    "$SMLENS_TF_PYTHON" scripts/make_demo_model.py      # any Python with TensorFlow 2.x

Needs TensorFlow 2.x with Keras 3 and scikit-learn (`"$SMLENS_TF_PYTHON" -m pip install scikit-learn`).
A small CNN on scikit-learn's bundled 8x8 digits (1,797 images, no download), exported as a SavedModel:
serving_default takes `pixels` float32 [None, 8, 8, 1] with the data set's values 0..16 and returns
`probabilities` float32 [None, 10] (softmax). examples.json holds one real test digit per class with
TensorFlow's outputs for it, so the page and the tests can compare smlens's results with TensorFlow's.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import tensorflow as tf
import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
SEED = 0


def build_model(dropout: bool = True) -> keras.Model:
    inputs = keras.Input(shape=(8, 8, 1), name="pixels")
    x = keras.layers.Rescaling(1.0 / 16.0, name="scale")(inputs)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(64, activation="relu", name="hidden")(x)
    if dropout:
        x = keras.layers.Dropout(0.2, name="dropout")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits_cnn")


class DigitsModule(tf.Module):
    """The exported object: one signature with readable input/output names."""

    def __init__(self, model: keras.Model):
        super().__init__(name="digits")
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 1], tf.float32, name="pixels")])
    def serve(self, pixels):
        return {"probabilities": self.model(pixels, training=False)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "demo" / "digits")
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    digits = load_digits()
    x = digits.images.astype(np.float32)[..., None]  # (1797, 8, 8, 1), values 0..16
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=SEED, stratify=y)

    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=0,
              validation_split=0.1)

    # Export a fresh copy without dropout or optimizer: the checkpoint holds only the weights.
    inference = build_model(dropout=False)
    for layer in model.layers:
        if layer.weights:
            inference.get_layer(layer.name).set_weights(layer.get_weights())
    module = DigitsModule(inference)
    out: Path = args.out
    examples_path = out / "examples.json"
    if out.exists():
        shutil.rmtree(out)
    tf.saved_model.save(module, str(out), signatures={"serving_default": module.serve})

    # Everything below goes through the exported SavedModel, as a user of it would.
    serve = tf.saved_model.load(str(out)).signatures["serving_default"]
    probs = serve(pixels=tf.constant(x_test))["probabilities"].numpy()
    accuracy = float((probs.argmax(axis=1) == y_test).mean())
    print(f"test accuracy of the exported model: {accuracy:.4f} on {len(y_test)} digits")
    if accuracy < 0.95:
        raise SystemExit("accuracy below 0.95: not writing examples.json")

    examples = []
    for label in range(10):
        i = int(np.flatnonzero(y_test == label)[0])
        sample = x_test[i:i + 1]
        p = serve(pixels=tf.constant(sample))["probabilities"].numpy()
        examples.append({
            "label": label,
            "prediction": int(p[0].argmax()),
            "inputs": {"pixels": sample.astype(int).tolist()},
            "tensorflow_outputs": {"probabilities": [[float(v) for v in p[0]]]},
        })
    examples_path.write_text(json.dumps({
        "model": "digits",
        "description": ("Handwritten digit classifier (small CNN) trained on scikit-learn's 8x8 digits; "
                        "pixel values 0..16"),
        "tag_set": "serve",
        "signature_def": "serving_default",
        "input_key": "pixels",
        "input_dtype": "float32",
        "output_key": "probabilities",
        "test_accuracy": round(accuracy, 4),
        "tensorflow_version": tf.__version__,
        "examples": examples,
    }, indent=1) + "\n")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out} ({size / 1024:.0f} KiB) and {examples_path.name}")


if __name__ == "__main__":
    main()
