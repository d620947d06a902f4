"""UTF-8 text files read with an error that names the file, line and byte, and says how to convert it.

Python's own ``UnicodeDecodeError`` gives a position inside an 8 KiB read buffer ("position 172") and no file
name. Every reader of user-supplied or cached text (data loaders, cached splits, the distillation store) goes
through :func:`utf8_lines` / :func:`read_utf8` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

__all__ = ["TextEncodingError", "utf8_lines", "read_utf8", "encoding_problem"]


class TextEncodingError(ValueError):
    """A text file is not valid UTF-8; the message names the file, line and byte, and the conversion command."""


def encoding_problem(path: Path, line: int, column: int, bad: bytes) -> str:
    """The message for undecodable ``bad`` bytes at ``line`` / byte ``column`` (1-based) of ``path``."""
    bad = bad.split(b"\n")[0].rstrip(b"\r")  # the bytes from the bad one to the end of the line, at most 4
    return (f"{path}, line {line}, byte {column}: not UTF-8 (bytes {bad!r}; latin-1 or Windows-1252 text?). "
            f"Convert the file, e.g. `iconv -f latin1 -t utf-8 {path} > {path}.utf8 && mv {path}.utf8 {path}` "
            "(-f cp1252 for Windows text)")


def utf8_lines(path: str | Path, error: type[ValueError] = TextEncodingError) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of a UTF-8 text file, 1-based, each line with its newline; raises ``error``
    naming the line and byte of the first undecodable bytes."""
    path = Path(path)
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise error(encoding_problem(path, number, err.start + 1, raw[err.start:err.end + 3])) from None


def read_utf8(path: str | Path, error: type[ValueError] = TextEncodingError) -> str:
    """The whole of a UTF-8 text file; raises ``error`` naming the line and byte of undecodable bytes."""
    path = Path(path)
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise error(encoding_problem(path, line, column, data[err.start:err.end + 3])) from None
