"""The one error type every layer of nndsl raises for a user's mistake.

A `NNDSLError` knows where the mistake is (path, line, column) and renders itself the
way compilers do: ``file:line:col: error: message``, the source line, a caret, a hint.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable


class NNDSLError(Exception):
    """A mistake in a `.nn` file, its data or its use; never a bug in nndsl itself."""

    severity = "error"  # the word after `file:line:col:` when rendered

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        end_column: int | None = None,
        path: str | None = None,
        source: str | None = None,
        hint: str | None = None,
    ) -> None:
        # the message and hint quote user text (names, strings, paths): a control
        # character written in a string escape must not reach the terminal raw
        message = printable(message, keep="\n")
        hint = printable(hint, keep="\n") if hint is not None else None
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.end_column = end_column
        self.path = path
        self.source = source
        self.hint = hint

    def located(self, path: str | None, source: str | None) -> NNDSLError:
        """Fill in the file this error belongs to, when the raiser did not know it."""
        if self.path is None:
            self.path = path
        if self.source is None:
            self.source = source
        return self

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        # an error that points nowhere (a weights file, a flag, a diverged run) has no place
        where = self.path or ("<string>" if self.line is not None else "")
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        head = f"{self.severity}: {self.message}"
        lines = [f"{where}: {head}" if where else head]
        snippet = self._snippet()
        if snippet:
            lines.extend(snippet)
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def _snippet(self) -> list[str]:
        if self.source is None or self.line is None:
            return []
        # lines as the parser counts them: only "\n" ends one (not \f, \x1c, U+2028...)
        src_lines = self.source.split("\n")
        if not 1 <= self.line <= len(src_lines):
            return []
        text = display_line(src_lines[self.line - 1])
        gutter = f"{self.line:>4} | "
        out = [gutter + text]
        if self.column is not None:
            col = max(1, self.column)
            width = 1
            if self.end_column is not None and self.end_column > col:
                width = min(self.end_column - col, max(1, len(text) - col + 1))
            out.append(" " * (len(gutter) + col - 1) + "^" * width)
        return out


class NNDSLWarning(NNDSLError, UserWarning):
    """Something that will run but is probably not what was meant (nndsl.lint): located
    and rendered like an error (`file:line:col: warning: ...`), never raised by nndsl;
    `Model.fit` hands it to Python's `warnings`."""

    severity = "warning"


def display_line(text: str) -> str:
    """A source line as an error shows it: tabs as spaces, and control characters (a
    terminal escape smuggled into a file) as '?', one column each so the caret fits."""
    text = text.rstrip("\r").replace("\t", " ")
    return "".join("?" if unicodedata.category(c)[0] == "C" else c for c in text)


def printable(text: str, keep: str = "") -> str:
    """User text as a message shows it: control, format and line-separator characters
    (a NUL, an escape sequence, a right-to-left override, a lone surrogate) written as
    Python escapes (`\\x00`, `\\u202e`); characters in `keep` stay as they are."""
    if text.isprintable() or all(c.isprintable() or c in keep for c in text):
        return text
    return "".join(c if c.isprintable() or c in keep else _escape(c) for c in text)


_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(c: str) -> str:
    if c in _SHORT:
        return _SHORT[c]
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean' hint for an unknown name, or None when nothing is close."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    return None
