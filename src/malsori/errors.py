"""Errors that users see: each one prints as a single line and sets the CLI's exit status."""


class MalsoriError(Exception):
    """Base class: the message is a complete one-line explanation for the user."""

    exit_code = 1


class AudioError(MalsoriError):
    """The input is not usable audio (unreadable, empty, silent, non-finite, absurd rate)."""

    exit_code = 3


class LanguageError(MalsoriError):
    """Unknown language code, or a language/task pair that no installed model supports."""

    exit_code = 4


class ModelError(MalsoriError):
    """A model's files are missing, corrupt, or its runtime is not installed."""

    exit_code = 5


class OutputError(MalsoriError):
    """The output cannot be written."""

    exit_code = 6


class Interrupted(MalsoriError):
    """The user stopped a job (Ctrl-C); finished work was kept."""

    exit_code = 130


class DataError(MalsoriError):
    """Training data or a training run cannot be used as it is (the message says which file or
    line and why)."""
