"""The model catalog: what each model is, where its files come from, and how to check them."""

from malsori.models.catalog import CATALOG, ModelCard, get_card, malsori_home, resolve

__all__ = ["CATALOG", "ModelCard", "get_card", "malsori_home", "resolve"]
