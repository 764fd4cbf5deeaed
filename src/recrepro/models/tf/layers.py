"""Generic tower pieces of the TF models (imports TensorFlow: import only inside ``fit``).

Shapes: ``B`` rows, ``d`` output size of a part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

#: Buckets of a time feature (timestamps, release years) in [0, 1].
TIME_BUCKETS = 100


def dense_stack(units: Sequence[int], activation: str | None = None) -> list[tf.keras.layers.Layer]:
    """Dense layers of ``units`` with ReLU between them; the last one uses ``activation``
    (linear by default). Empty ``units`` give no layers."""
    return [
        tf.keras.layers.Dense(n, activation=activation if i == len(units) - 1 else "relu")
        for i, n in enumerate(units)
    ]


def rating_head(hidden_units: Sequence[int]) -> tf.keras.Sequential:
    """The TFRS ranking tutorials' rating model, ``[B, d] -> [B, 1]``: ReLU Dense
    ``hidden_units`` then a linear ``Dense(1)`` on the concatenated user and movie embeddings."""
    return tf.keras.Sequential(dense_stack([*hidden_units, 1]))


class FeatureTower(tf.keras.Model):
    """Concatenates one sub-model per input feature, then applies a Dense head (if any).

    ``{name: [B, ...]} -> [B, d]`` (``d``: the head's output, or the sum of the parts' sizes).
    """

    def __init__(self, parts: dict[str, Any], head: list[Any]) -> None:
        super().__init__()
        self.parts = parts
        self.head = head

    def call(self, features: dict[str, tf.Tensor]) -> tf.Tensor:
        outputs = [part(features[name]) for name, part in self.parts.items()]
        x = outputs[0] if len(outputs) == 1 else tf.concat(outputs, axis=1)
        for layer in self.head:
            x = layer(x)
        return x


class Concat(tf.keras.Model):
    """Applies every part to the same input ``[B, ...]``, concatenates the outputs, then the
    head: ``[B, d]``."""

    def __init__(self, parts: list[Any], head: list[Any] | None = None) -> None:
        super().__init__()
        self.parts = parts
        self.head = head or []

    def call(self, inputs: Any) -> tf.Tensor:
        x = tf.concat([part(inputs) for part in self.parts], axis=1)
        for layer in self.head:
            x = layer(x)
        return x


class Lookup(tf.keras.Model):
    """``StringLookup`` of the raw ids ``[B]`` (feature ``key`` of a dict input, or the input
    itself) to contiguous indices, then ``tower`` on the indices."""

    def __init__(self, vocabulary: list[str], key: str, tower: Any) -> None:
        super().__init__()
        # No mask or OOV token: vocabulary[i] -> i, so index-based layers work unchanged.
        self.lookup = tf.keras.layers.StringLookup(
            vocabulary=vocabulary, mask_token=None, num_oov_indices=0
        )
        self.key = key
        self.tower = tower

    def call(self, inputs: Any) -> tf.Tensor:
        if isinstance(inputs, dict):
            return self.tower({**inputs, self.key: self.lookup(inputs[self.key])})
        return self.tower(self.lookup(inputs))


class TimeFeature(tf.keras.layers.Layer):
    """A value in [0, 1] (a timestamp, a release year), ``[B]`` -> ``[B, dim + 1]``: the
    embedding of its bucket (``buckets`` equal-width buckets) concatenated with the raw value
    (TFRS featurization tutorial)."""

    def __init__(self, dim: int, buckets: int = TIME_BUCKETS) -> None:
        super().__init__()
        bounds = np.linspace(0.0, 1.0, buckets + 1)[1:-1].tolist()
        self.bucket = tf.keras.layers.Discretization(bin_boundaries=bounds)
        self.embedding = tf.keras.layers.Embedding(buckets, dim)

    def call(self, t: tf.Tensor) -> tf.Tensor:
        t = tf.cast(t, tf.float32)
        return tf.concat([self.embedding(self.bucket(t)), t[:, None]], axis=1)
