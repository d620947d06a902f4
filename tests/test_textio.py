"""UTF-8 readers that name the file, line and byte of undecodable bytes (issue 14 finding 9)."""

from __future__ import annotations

import pytest

from rlrec.textio import TextEncodingError, read_utf8, utf8_lines


def test_lines_round_trip_with_their_newlines(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("één\r\ntwo\nthree".encode())
    assert list(utf8_lines(path)) == [(1, "één\r\n"), (2, "two\n"), (3, "three")]
    assert read_utf8(path) == "één\r\ntwo\nthree"


def test_the_line_and_byte_are_those_of_the_file_not_of_a_read_buffer(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"x" * 9000 + b"\n" + b"ab\xe9cd\n")  # past Python's 8 KiB buffer
    for read in (lambda: list(utf8_lines(path)), lambda: read_utf8(path)):
        with pytest.raises(TextEncodingError) as err:
            read()
        assert f"{path}, line 2, byte 3: not UTF-8 (bytes b'\\xe9cd'" in str(err.value)
        assert f"iconv -f latin1 -t utf-8 {path} > {path}.utf8" in str(err.value)


def test_the_error_class_is_the_callers(tmp_path):
    class Mine(ValueError):
        pass

    path = tmp_path / "a.txt"
    path.write_bytes(b"\xff\n")
    with pytest.raises(Mine, match="line 1, byte 1"):
        list(utf8_lines(path, error=Mine))
