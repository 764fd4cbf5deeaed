"""Recommender models: one module per model family, each registered by name."""

from recrepro.models.base import Recommender
from recrepro.models.registry import available_models, build_model, get_model_class, register

__all__ = ["Recommender", "available_models", "build_model", "get_model_class", "register"]
