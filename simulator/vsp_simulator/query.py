"""Validation of query-string parameters, with the array's KART errors."""

from __future__ import annotations

from flask import request

from . import errors


def int_arg(name, lo, hi, default=None):
    """The integer query parameter ``name`` (``default`` when absent); 400 outside lo..hi."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        val = int(raw)
    except ValueError:
        raise errors.invalid(name, f"Specify an integer from {lo} to {hi}.") from None
    if not lo <= val <= hi:
        raise errors.invalid(name, f"Specify an integer from {lo} to {hi}.")
    return val
