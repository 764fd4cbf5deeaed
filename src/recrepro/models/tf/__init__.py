"""The TensorFlow (TFRS) model family: everything the TF models share, one idea per module.

Importable without TensorFlow (the registered model files and the workflow's light steps import
only these):

* :mod:`.runtime`: lazy, seeded, deterministic TensorFlow import; optimisers by name;
* :mod:`.training`: mini-batches, the compiled optimiser step, the epoch loop with early
  stopping, the per-epoch validation callback;
* :mod:`.bases`: the retrieval bases (:class:`~.bases.RetrievalRecommender`,
  :class:`~.bases.IndexRetrieval`), their ``objective`` and ``l2`` hyperparameters and the item
  sampling probabilities of the logQ correction;
* :mod:`.joint`: :class:`~.joint.JointRecommender`, the rating + retrieval base.

Module-level Keras classes, imported only inside ``fit`` (importing them imports TensorFlow):

* :mod:`.objectives`: the retrieval losses (in-batch softmax over distinct candidates, with or
  without the logQ correction; full softmax over the catalogue);
* :mod:`.layers`: generic tower pieces (feature towers, lookups, time features, dense stacks);
* :mod:`.graph`, :mod:`.knn`, :mod:`.towers`: the towers of gnn, knn_embedding, wide_deep,
  session and multitask;
* :mod:`.keras_models`: the ``tfrs.Model`` subclasses whose ``compute_loss`` is trained.
"""
