"""Errors a user can act on. The CLI prints them as one line and exits with their code."""

from __future__ import annotations


class DiffchatError(Exception):
    """An error with a one-line message meant for the user."""

    exit_code = 1


class BadInput(DiffchatError):
    """The user gave something we cannot use: bad text, a bad file, a bad value."""

    exit_code = 2


class ModelError(DiffchatError):
    """A model could not be found, downloaded or loaded."""

    exit_code = 2


class GenerationError(DiffchatError):
    """The model ran but gave nothing usable."""

    exit_code = 1


class StoreError(DiffchatError):
    """The session database cannot be read or written: full, locked, damaged, or from a newer diffchat."""

    exit_code = 2
