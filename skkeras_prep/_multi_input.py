"""Kept for pickles written before version 0.3: they name
``skkeras_prep._multi_input._InputRecord``, the per-input check record that now lives in
``skkeras_prep._inputs.named`` (``InputRecord``). Nothing in the package imports this module."""

from ._inputs.named import InputRecord as _InputRecord

__all__ = ["_InputRecord"]
