"""Syntax highlighting of `.nn` files: a Pygments lexer (registered as the `nndsl` lexer,
so `pygmentize -l nndsl FILE` works) and ANSI colouring of an error's source line.

Needs Pygments (the `highlight` extra). The names it colours come from the declarations
the compiler reads (nndsl.ir.vocabulary): the one module of syntax/ that reads ir/, so that
a new layer is coloured without being listed here.
"""

from __future__ import annotations

import re

from pygments.lexer import RegexLexer, bygroups, include, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

from nndsl.ir.vocabulary import vocabulary

_V = vocabulary()
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = _IDENT + r"(?:\." + _IDENT + r")+"  # `enc.mean`: a layer inside a block instance
# `output a, b` (a statement) but not `output = dense(1)` or `add(output)` (a layer's name)
_OUTPUT = r"\boutput\b(?=\s+[A-Za-z_])"


class NNDSLLexer(RegexLexer):
    """Lexer for nndsl's `.nn` model files."""

    name = "nndsl"
    aliases = ["nndsl", "nn"]
    filenames = ["*.nn"]
    mimetypes = ["text/x-nndsl"]
    url = "https://github.com/nndsl/nndsl"

    # states: a model body names layers (`h = dense(8)`), a train body sets keys
    # (`epochs = 10`), parentheses hold keyword arguments (`lr=0.01`), a block's header
    # its parameters (`units: int = 8`)
    tokens = {
        "root": [
            include("space"),
            (
                r"\b(block)(\s+)(" + _IDENT + r")\b",
                bygroups(Keyword.Declaration, Whitespace, Name.Function),
                "block-head",
            ),
            (r"\b(use)(\s+)(std)\b", bygroups(Keyword.Namespace, Whitespace, Name.Namespace)),
            (r"\buse\b", Keyword.Namespace),
            (
                r"\b(model)(\s+)(" + _IDENT + r")\b",
                bygroups(Keyword.Declaration, Whitespace, Name.Class),
                "model-head",
            ),
            (
                r"\b(train)(\s+)(" + _IDENT + r")\b",
                bygroups(Keyword.Declaration, Whitespace, Name.Class),
                "train-head",
            ),
            (r"\btrain\b", Keyword.Declaration, "train-head"),
            (words(_V["arguments"], suffix=r"(?=\s*=)"), Name.Attribute),
            (_IDENT + r"(?=\s*=)", Name.Variable),
            include("values"),
        ],
        "model-head": [
            include("space"),
            (r"\{", Punctuation, ("#pop", "model")),
            include("values"),
        ],
        "train-head": [
            include("space"),
            (r"\{", Punctuation, ("#pop", "train")),
            include("values"),
        ],
        "block-head": [
            include("space"),
            (r"\(", Punctuation, "parameter"),
            (r"\{", Punctuation, ("#pop", "model")),  # the body: statements as in a model
            include("values"),
        ],
        "parameter": [  # a name, or the `)` that ends the list
            include("space"),
            (r"\)", Punctuation, "#pop"),
            (_IDENT, Name.Variable, "parameter-rest"),
        ],
        "parameter-rest": [  # `: kind`, `= default`, then `,` or `)`
            include("space"),
            (r"(:)(\s*)(" + _IDENT + r")", bygroups(Punctuation, Whitespace, Keyword.Type)),
            (r",", Punctuation, "#pop"),
            (r"(?=\))", Punctuation, "#pop"),
            (r"\[", Punctuation, "list"),
            include("values"),
        ],
        "list": [
            include("space"),
            (r"\[", Punctuation, "#push"),
            (r"\]", Punctuation, "#pop"),
            include("values"),
        ],
        "model": [
            include("space"),
            (r"\}", Punctuation, "#pop"),
            (r"\{", Punctuation, "#push"),  # a repeat's body
            (_OUTPUT, Keyword),
            (_IDENT + r"(?=\s*=)", Name.Variable),  # `h = dense(8)`: a named layer
            include("values"),
        ],
        "train": [
            include("space"),
            (r"\}", Punctuation, "#pop"),
            (_IDENT + r"(?=\s*=)", Name.Attribute),  # `epochs = 10`
            include("values"),
        ],
        "arguments": [
            include("space"),
            (r"\)", Punctuation, "#pop"),
            (_IDENT + r"(?=\s*=)", Name.Attribute),  # `lr=0.01`
            include("values"),
        ],
        "space": [
            (r"[ \t\f]+|\r?\n", Whitespace),
            (r"#[^\n]*", Comment.Single),
        ],
        "values": [
            (r"\(", Punctuation, "arguments"),
            (words(_V["keywords"], suffix=r"\b"), Keyword),
            (words(_V["constants"], suffix=r"\b"), Keyword.Constant),
            (r'"([^"\\\n]|\\.)*"', String.Double),
            (r"[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?|[+-]?\d+[eE][+-]?\d+", Number.Float),
            (r"[+-]?\d+", Number.Integer),
            (r"//|[-+*/%]", Operator),
            (_DOTTED, Name),
            (words(_V["layers"], suffix=r"\b"), Name.Builtin),
            (words(_V["entries"], suffix=r"\b"), Name.Function),
            (_IDENT, Name),
            (r"=", Operator),
            (r"[{}\[\],]", Punctuation),
        ],
    }


def colour_line(text: str) -> str:
    """One line of `.nn` source with ANSI colours (Pygments' terminal palette)."""
    from pygments import highlight
    from pygments.formatters import TerminalFormatter

    return highlight(text, NNDSLLexer(), TerminalFormatter()).rstrip("\n")


def colour_snippet(rendered: str, line: int | None) -> str:
    """An error as `NNDSLError.render()` wrote it, with its source line coloured."""
    if line is None:
        return rendered
    gutter = re.compile(rf"^( *{line} \| )(.*)$", re.M)
    return gutter.sub(lambda m: m.group(1) + colour_line(m.group(2)), rendered, count=1)
