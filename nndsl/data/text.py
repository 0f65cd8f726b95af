"""Text as data: a UTF-8 file read as characters or words, a vocabulary fitted on the
training split only, and language-model windows.

    text("shakespeare.txt", tokenizer=char, context=128)

The text is split by position, not shuffled: the last `test` fraction of its tokens is
the test split, the `validation` fraction before it the validation split, the rest the
training split; so validation text is text the model never saw. The vocabulary holds
the training split's tokens (ids from 2, the most frequent first when `vocab_size` cuts
it, then in sorted order); id 0 is `<pad>`, id 1 `<unk>`, which every other token reads
as (counted in a warning for the validation and test splits).

Windows: training sample k reads the `context` tokens from position k * stride (the
validation and test windows lie side by side, stride = context, each token read once,
except with targets=next) and, with
`targets=sequence` (the default, for a model giving scores at every position: shape
(context, vocab)), is trained on the same window shifted by one token: targets (context,),
the next token at every position, under sparse_categorical_crossentropy over the last
axis. `targets=next` gives the one token after the window, shape () (for a model that
gives one distribution, shape (vocab,)). Tokens after the last whole window are left out.

Tokenizers: `char` (every character, line ends included) and `word` (runs of letters,
digits and underscores, and each other non-space character; spaces and line ends are not
tokens). Subword (BPE) tokenizers are left for later, as an optional extra (Hugging Face
`tokenizers`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from nndsl.data.dataset import Dataset
from nndsl.errors import NNDSLError
from nndsl.files import decode_utf8, read_regular, show_path
from nndsl.ir.check import human_bytes, machine_memory

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
TOKENIZERS = ("char", "word")
# a text of 32 MiB is some 260,000 windows of 128 characters (stride 128): 540 MB as
# int64 inputs and targets
TEXT_LIMIT = 32 << 20
WINDOWS_LIMIT = 4 << 30  # bytes of windows (inputs and targets); a small stride multiplies them
_WORD = re.compile(r"\w+|[^\w\s]")
_ATTACHED = re.compile(r"[.,;:!?)\]}'%]")  # joined to the word before, when words are joined


def split_tokens(text: str, tokenizer: str) -> list[str]:
    """The tokens of `text` (see the module's docstring)."""
    if tokenizer == "char":
        return list(text)
    if tokenizer == "word":
        return _WORD.findall(text)
    raise NNDSLError(f"unknown tokenizer '{tokenizer}'", hint="one of: " + ", ".join(TOKENIZERS))


@dataclass
class Vocabulary:
    """Token ids: id i is tokens[i]; tokens[0] is <pad>, tokens[1] <unk>."""

    tokenizer: str
    tokens: list[str]

    def __post_init__(self) -> None:
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def fit(cls, tokens: list[str], tokenizer: str, size: int | None = None) -> Vocabulary:
        """The vocabulary of `tokens` (a training split): at most `size` entries, <pad>
        and <unk> included, keeping the most frequent (ties: in sorted order)."""
        counts = Counter(tokens)
        kept = sorted(counts)
        if size is not None and len(kept) > size - 2:
            kept = sorted(sorted(counts, key=lambda t: (-counts[t], t))[: max(size - 2, 0)])
        return cls(tokenizer, [PAD, UNK, *kept])

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: list[str]) -> tuple[np.ndarray, Counter]:
        """(ids, int64; the tokens not in the vocabulary with their counts: read as <unk>)."""
        get = self.index.get
        ids = np.fromiter((get(t, UNK_ID) for t in tokens), dtype=np.int64, count=len(tokens))
        unknown = Counter(t for t, i in zip(tokens, ids) if i == UNK_ID and t != UNK)
        return ids, unknown

    def split(self, text: str) -> list[str]:
        """The tokens of `text`, by this vocabulary's tokenizer."""
        return split_tokens(text, self.tokenizer)

    def unknown(self, text: str) -> list[str]:
        """The distinct tokens of `text` this vocabulary lacks, in order of appearance."""
        return list(dict.fromkeys(t for t in self.split(text) if t not in self.index))

    def decode(self, ids: Any) -> str:
        """The text of `ids` (<pad> dropped); words are joined by spaces, punctuation
        attached to the word before."""
        out = ""
        for i in np.asarray(ids).reshape(-1):
            out += self.piece(int(i), first=not out)
        return out

    def piece(self, i: int, first: bool = False) -> str:
        """The text token id `i` adds to a text (`first`: to an empty one): a word after
        a space, unless it is punctuation attached to the word before; <pad>: nothing."""
        if i == PAD_ID:
            return ""
        token = self.tokens[i]
        if self.tokenizer == "char" or first or _ATTACHED.fullmatch(token):
            return token
        return " " + token

    def to_dict(self) -> dict[str, Any]:
        return {"tokenizer": self.tokenizer, "tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, d: Any, where: str = "the saved vocabulary") -> Vocabulary:
        """A vocabulary read back from a run folder or weights file, checked."""
        ok = (
            isinstance(d, dict)
            and d.get("tokenizer") in TOKENIZERS
            and isinstance(d.get("tokens"), list)
            and all(isinstance(t, str) for t in d["tokens"])
            and d["tokens"][:2] == [PAD, UNK]
            and len(set(d["tokens"])) == len(d["tokens"])
        )
        if not ok:
            raise NNDSLError(f"{where} is damaged (not a vocabulary nndsl wrote)")
        return cls(d["tokenizer"], list(d["tokens"]))


def read_text(path: str, shown: str | None = None) -> str:
    """The UTF-8 text of file `path`, refused (with its line) when binary, not UTF-8,
    empty, or larger than TEXT_LIMIT."""
    shown = show_path(shown or path)
    data = read_regular(
        path,
        "data file",
        shown,
        limit=TEXT_LIMIT,
        hint="paths are relative to the folder of the .nn file",
    )
    zero = data.find(b"\0")
    if zero >= 0:
        line = data.count(b"\n", 0, zero) + 1
        raise NNDSLError(
            f"{shown} is a binary file, not text (a NUL byte on line {line}, byte {zero})",
            hint="text() reads a UTF-8 text file",
        )
    text = decode_utf8(data, path, shown, hint="save it as UTF-8")
    if not text.strip():
        raise NNDSLError(f"data file {shown} is empty", hint="text() needs a file of text")
    return text


def windows(
    ids: np.ndarray, context: int, stride: int, targets: str
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs (n, context), targets (n, context) or (n,)), int64, of the windows of
    `ids` starting at 0, stride, 2 * stride, ... that have a next token."""
    starts = np.arange(0, len(ids) - context, stride)
    take = ids[starts[:, None] + np.arange(context + 1)]
    return take[:, :-1], (take[:, 1:] if targets == "sequence" else take[:, -1])


@dataclass
class TextSplits:
    train: Dataset
    validation: Dataset | None
    test: Dataset | None
    vocab: Vocabulary
    unknown: dict[str, Counter]  # split name -> the tokens read as <unk> there
    note: str | None = None  # the warning about them


def text_splits(
    path: str,
    shown: str,
    *,
    tokenizer: str = "char",
    context: int = 128,
    stride: int | None = None,
    targets: str = "sequence",
    vocab_size: int | None = None,
    validation: float = 0.0,
    test: float = 0.0,
) -> TextSplits:
    """The text of `path` as training, validation and test windows (see the module)."""
    shown = show_path(shown)
    tokens = split_tokens(read_text(path, shown), tokenizer)
    n = len(tokens)
    n_val, n_test = round(n * validation), round(n * test)
    n_train = n - n_val - n_test
    parts = {
        "train": tokens[:n_train],
        "validation": tokens[n_train : n_train + n_val] if validation > 0 else None,
        "test": tokens[n_train + n_val :] if test > 0 else None,
    }
    for name, part in parts.items():
        if part is not None and len(part) <= context:
            raise NNDSLError(
                f"the {name} part of {shown} holds {len(part)} {tokenizer} tokens, too few for "
                f"one window of context={context} and its next token",
                hint="use a smaller context, more text"
                + (", or a larger fraction" if name != "train" else ""),
            )
    sizes = {name: len(part) for name, part in parts.items() if part is not None}
    _check_window_memory(shown, sizes["train"], context, stride or context, targets)
    vocab = Vocabulary.fit(parts["train"], tokenizer, vocab_size)
    out: dict[str, Dataset | None] = {}
    unknown: dict[str, Counter] = {}
    for name, part in parts.items():
        if part is None:
            out[name] = None
            continue
        ids, missing = vocab.encode(part)
        if missing and name != "train":
            unknown[name] = missing
        # held-out text is read once, window after window (stride only multiplies the
        # training windows), unless each window has one target (targets=next)
        step = stride or context if name == "train" or targets == "next" else context
        x, y = windows(ids, context, step, targets)
        out[name] = Dataset(
            x=x,
            y=y,
            feature_names=[],
            target_names=[],
            source=f"text {shown}: {len(part)} {tokenizer} tokens, {len(x)} windows of {context}",
        )
    note = unknown_note(shown, unknown, sizes)
    return TextSplits(out["train"], out["validation"], out["test"], vocab, unknown, note)


def _check_window_memory(shown: str, n: int, context: int, stride: int, targets: str) -> None:
    """Refuse, before allocating them, training windows of `n` tokens that would not fit
    in memory (a small stride copies each token into up to context / stride windows)."""
    per_window = 8 * (context + (context if targets == "sequence" else 1))
    total = (n - context + stride - 1) // stride * per_window
    limit = min(WINDOWS_LIMIT, machine_memory() // 2)
    if total > limit:
        raise NNDSLError(
            f"the windows of {shown} would take {human_bytes(total)} "
            f"(context={context}, stride={stride}), more than the {human_bytes(limit)} "
            "nndsl allocates for them",
            hint="use a larger stride (the default is the context: windows side by side)",
        )


def unknown_note(shown: str, unknown: dict[str, Counter], splits: dict[str, int]) -> str | None:
    """The warning's text for tokens read as <unk> outside the training split."""
    if not unknown:
        return None
    parts = []
    for name, counts in unknown.items():
        total = sum(counts.values())
        listed = ", ".join(repr(t) for t, _ in counts.most_common(8))
        more = f", ... ({len(counts)} distinct)" if len(counts) > 8 else ""
        parts.append(f"{total} of the {splits[name]} {name} tokens ({listed}{more})")
    return (
        f"{shown}: " + "; ".join(parts) + " are not in the training split's vocabulary and "
        "read as <unk>"
    )
