"""Exceptions and warnings raised by clvmodels.

Every message names the thing that is wrong, the rule it breaks, the offending values and
the fix, in the manner of scikit-learn's parameter validation.
"""

from __future__ import annotations

import textwrap

__all__ = [
    "WARNING_WIDTH",
    "warning_text",
    "ClvDataError",
    "NotFittedError",
    "ConvergenceWarning",
    "IdentificationWarning",
    "ConvergenceError",
    "DataWarning",
    "ModelFileError",
    "DrawsTooLargeError",
    "UnitMismatchError",
]


class ClvDataError(ValueError):
    """Input data that clvmodels cannot use as given; the message says how to fix it."""


class NotFittedError(ValueError, AttributeError):
    """A prediction was asked of a model that has no parameters yet (scikit-learn's wording)."""


#: Longest line of a warning's text: 100 on a terminal after the CLI's ``Note: `` prefix.
WARNING_WIDTH = 94


def warning_text(headline: str, *paragraphs: str) -> str:
    """A warning as a short first line (what is wrong) and indented detail lines, wrapped at
    :data:`WARNING_WIDTH` characters: readable in a log or a terminal, unlike one 700-character line.

    Examples
    --------
    >>> print(warning_text("BG/NBD did not converge.", "Try other starting values."))
    BG/NBD did not converge.
      Try other starting values.
    """
    lines = [headline]
    for text in paragraphs:
        lines.extend(textwrap.wrap(text, width=WARNING_WIDTH, initial_indent="  ", subsequent_indent="  ",
                                   break_on_hyphens=False, break_long_words=False))
    return "\n".join(lines)


class _CliMessage:
    """A message with a second wording for the command line (``cli_message``): the same facts, with the
    advice in options (``--init r=0.5``) instead of Python arguments (``fit(..., init={...})``)."""

    def __init__(self, message: str = "", *args: object, cli_message: str | None = None):
        super().__init__(message, *args)
        self.cli_message = str(message) if cli_message is None else cli_message


class ConvergenceError(_CliMessage, RuntimeError):
    """The optimiser did not reach a maximum of the likelihood."""


class ConvergenceWarning(_CliMessage, UserWarning):
    """A fit finished but its convergence checks are not all satisfied: one warning per problem, a short
    first line saying what, indented lines with the details and what helps."""


class IdentificationWarning(ConvergenceWarning):
    """The fit converged, but the data hardly constrain some parameters (a 95 % interval spanning
    more than a factor of 100): one warning per problem, in plain language (clvmodels.identification)."""


class DataWarning(UserWarning):
    """Input rows that were left out or adjusted, with the count and the reason."""


class ModelFileError(ValueError):
    """A saved model file of another model, another format version, or corrupted."""


class DrawsTooLargeError(ValueError, MemoryError):
    """The draws asked for (``return_draws=True``) would exceed the size cap: ask for fewer customers.

    A ``ValueError`` (the request is too large, not the interpreter out of memory); also a
    ``MemoryError`` for code written against earlier versions.
    """


class UnitMismatchError(ClvDataError):
    """A summary in one time unit given to a model fitted in another (weeks vs days...).

    Rates per week applied to times in days (or the reverse) give numbers that look
    plausible and are wrong by the ratio of the units, so the mismatch is an error.
    """
