"""What ``sh -c SCRIPT`` would print, for the emulated tasks' log lines (tasklogs.py).

A small, documented subset of the POSIX shell (see ``script_output``): nothing
is run, the script is read. Pure.
"""

from __future__ import annotations

from typing import Any

SHELLS = ("sh", "bash", "ash", "dash")


def _tokens(script: str) -> list[tuple[str, str]]:
    """POSIX shell tokens: ("word", text) and ("op", one of ; & && | || < >).

    Quotes and backslashes as sh reads them (single quotes literal; in double
    quotes a backslash escapes only $ ` " \\ and a newline), ``#`` at the
    start of a word comments to the end of the line, a newline ends a
    command like ``;``. ValueError for an unterminated quote (sh: a syntax
    error, nothing runs).
    """
    out: list[tuple[str, str]] = []
    word: list[str] | None = None
    i, n = 0, len(script)

    def flush() -> None:
        nonlocal word
        if word is not None:
            out.append(("word", "".join(word)))
            word = None

    while i < n:
        c = script[i]
        if c in " \t\r":
            flush()
            i += 1
        elif c in "\n;":
            flush()
            out.append(("op", ";"))
            i += 1
        elif c in "&|":
            flush()
            op = c * 2 if script.startswith(c * 2, i) else c
            out.append(("op", op))
            i += len(op)
        elif c in "<>":
            flush()
            out.append(("op", c))
            i += 1
        elif c == "#" and word is None:
            while i < n and script[i] != "\n":
                i += 1
        elif c == "'":
            end = script.find("'", i + 1)
            if end < 0:
                raise ValueError("unterminated single quote")
            word = (word or []) + [script[i + 1:end]]
            i = end + 1
        elif c == '"':
            word = word or []
            i += 1
            while True:
                if i >= n:
                    raise ValueError("unterminated double quote")
                d = script[i]
                if d == '"':
                    i += 1
                    break
                if d == "\\" and i + 1 < n and script[i + 1] in '$`"\\\n':
                    if script[i + 1] != "\n":
                        word.append(script[i + 1])
                    i += 2
                    continue
                word.append(d)
                i += 1
        elif c == "\\":
            if i + 1 < n and script[i + 1] != "\n":
                word = (word or []) + [script[i + 1]]
            i += 2
        else:
            word = (word or []) + [c]
            i += 1
    flush()
    return out


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "r": "\r", "a": "\a", "b": "\b", "f": "\f",
            "v": "\v", '"': '"'}


def _printf(args: list[str]) -> str:
    """POSIX printf with %s, %d/%i (as given), %% and backslash escapes in the format.

    The format is reused while arguments remain; a missing argument is empty.
    Other conversions (%x, %5s, ...) are printed as they are written.
    """
    if not args:
        return ""
    fmt, rest = args[0], list(args[1:])
    out: list[str] = []
    while True:
        used = 0
        i = 0
        while i < len(fmt):
            c = fmt[i]
            if c == "\\" and i + 1 < len(fmt):
                out.append(_ESCAPES.get(fmt[i + 1], "\\" + fmt[i + 1]))
                i += 2
            elif c == "%" and i + 1 < len(fmt):
                conv = fmt[i + 1]
                if conv == "%":
                    out.append("%")
                elif conv in "sdi":
                    out.append(rest[used] if used < len(rest) else "")
                    used += 1
                else:
                    out.append(fmt[i:i + 2])
                i += 2
            else:
                out.append(c)
                i += 1
        rest = rest[used:]
        if not rest or not used:
            return "".join(out)


def _echo(args: list[str]) -> str:
    """echo as bash and busybox sh run it: ``-n`` drops the newline; no escapes."""
    newline = True
    if args and args[0] == "-n":
        newline, args = False, args[1:]
    return " ".join(args) + ("\n" if newline else "")


def script_output(command: Any) -> list[str]:
    """The lines ``sh -c SCRIPT`` would print to stdout, for the interpreted subset.

    Interpreted: simple commands separated by ``;``, newlines, ``&&``,
    ``||`` and ``&``, run in order (every command succeeds, so ``a || b``
    runs both); ``echo [-n] ARGS`` and ``printf FORMAT [ARGS]`` (see
    ``_printf``) print; ``exit [N]`` ends the script. Quotes, backslashes and
    comments as sh reads them.

    Not interpreted (documented limits): variables, ``$(...)`` and
    backquotes (printed as written), globs, ``if``/``for``/functions,
    pipelines and redirections (a command with ``|``, ``<`` or ``>`` prints
    nothing here), and every other command (prints nothing). A script with
    an unterminated quote prints nothing, as sh refuses to run it.
    """
    if (not isinstance(command, list) or len(command) < 3
            or not all(isinstance(part, str) for part in command)
            or command[0].rsplit("/", 1)[-1] not in SHELLS or command[1] != "-c"):
        return []
    try:
        tokens = _tokens(command[2])
    except ValueError:
        return []
    statements: list[tuple[list[str], bool]] = [([], False)]
    for kind, text in tokens:
        words, plumbed = statements[-1]
        if kind == "word":
            words.append(text)
        elif text in (";", "&", "&&", "||"):
            statements.append(([], False))
        else:  # a pipe or a redirection: its output goes elsewhere
            statements[-1] = (words, True)
    text = ""
    for words, plumbed in statements:
        if not words:
            continue
        name, args = words[0], words[1:]
        if name == "exit":
            break
        if plumbed:
            continue
        if name == "echo":
            text += _echo(args)
        elif name == "printf":
            text += _printf(args)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
