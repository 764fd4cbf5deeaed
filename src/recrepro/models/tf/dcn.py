"""The Deep & Cross Network rating model of :mod:`recrepro.models.dcn` (imports TensorFlow:
import only inside ``fit``).

Shapes: ``B`` rows, ``F`` features, ``d`` embedding size, so the network's input is ``[B, F * d]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf
import tensorflow_recommenders as tfrs


class DCNModel(tfrs.Model):
    """Embeddings of the categorical ``features`` (``{name: [B]}`` int32 indices), concatenated,
    then ``cross_layers`` ``tfrs.layers.dcn.Cross`` layers (each crossing with the embeddings,
    ``x_{l+1} = x_0 * (W x_l + b) + x_l``, ``W`` of rank ``projection_dim`` when given), then ReLU
    Dense ``deep_layers`` and a linear ``Dense(1)``: the predicted rating ``[B, 1]``. The loss is
    the MSE of ``features["rating"]`` (``tfrs.tasks.Ranking``), as in the TFRS DCN tutorial.

    Args:
      vocabularies: ``(name, size)`` of each feature, in the order they are concatenated.
      embedding_dim: size of every feature's embedding.
      cross_layers: number of stacked cross layers (0: a plain DNN).
      projection_dim: rank of the cross layers' ``W`` (None: full rank).
      deep_layers: units of the ReLU layers after the cross layers.
    """

    def __init__(
        self,
        vocabularies: Sequence[tuple[str, int]],
        embedding_dim: int,
        cross_layers: int,
        projection_dim: int | None,
        deep_layers: Sequence[int],
    ) -> None:
        super().__init__()
        self.feature_names = [name for name, _ in vocabularies]
        self.embeddings = [tf.keras.layers.Embedding(size, embedding_dim) for _, size in vocabularies]
        self.cross = [
            tfrs.layers.dcn.Cross(projection_dim=projection_dim, kernel_initializer="glorot_uniform")
            for _ in range(cross_layers)
        ]
        self.deep = [tf.keras.layers.Dense(units, activation="relu") for units in deep_layers]
        self.logit = tf.keras.layers.Dense(1)
        self.task = tfrs.tasks.Ranking(loss=tf.keras.losses.MeanSquaredError())

    def call(self, features: dict[str, tf.Tensor]) -> tf.Tensor:
        x0 = tf.concat(
            [emb(features[name]) for name, emb in zip(self.feature_names, self.embeddings, strict=True)],
            axis=1,
        )
        x = x0
        for cross in self.cross:
            x = cross(x0, x)
        for layer in self.deep:
            x = layer(x)
        return self.logit(x)

    def compute_loss(self, features: dict[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        predicted = self(features)
        return self.task(
            labels=features["rating"], predictions=predicted[:, 0], compute_metrics=False
        )
