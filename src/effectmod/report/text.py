"""User text made safe for the files it is written into.

Labels, level names and titles come from the plan and the data as they are: they may hold
control characters (a pasted escape sequence, a NUL from a binary export) or lone surrogates
(text decoded with errors='surrogateescape', or a YAML "\\udc80" escape). XML 1.0, hence Word
files and SVG, forbids the first, and UTF-8 cannot encode the second; each is written as the
replacement character U+FFFD, so the reader sees that something was there.
"""
from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
# everything XML 1.0 does not allow in a document: C0 controls other than tab, newline and
# carriage return; lone surrogates; and the non-characters U+FFFE and U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def printable(text) -> str:
    """``text`` as a string every writer (XML, HTML, UTF-8, a terminal) accepts."""
    s = str(text)
    return _NOT_XML.sub(REPLACEMENT, s) if _NOT_XML.search(s) else s


_SURROGATE = re.compile("[\ud800-\udfff]")


def utf8(text: str) -> str:
    """``text`` with lone surrogates replaced, so that it encodes as UTF-8 (for CSV and JSON files,
    which keep every other character as it is)."""
    return _SURROGATE.sub(REPLACEMENT, text) if _SURROGATE.search(text) else text


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def visible(text) -> str:
    """``text`` for a plain-text summary a terminal prints: control characters (C0, DEL and C1) and
    lone surrogates shown as visible escapes ('\\x7f', '\\x9b', '\\udc80'), as the console does, so that a
    label from the data can neither drive the terminal nor break a line of the summary."""
    s = str(text)
    if not _CONTROL.search(s):
        return s
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", s)
