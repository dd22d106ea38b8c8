"""The one exception family of nnqg (shared by every subpackage)."""

from __future__ import annotations


class NnqgError(Exception):
    """Base class of every error nnqg raises on purpose."""


class InvalidArgument(NnqgError, ValueError):
    """A user-supplied argument is wrong; the message names it, its value and the fix."""


class DerivationError(NnqgError):
    """A symbolic derivation could not be carried out (e.g. an action with no stationary form)."""
