"""Writing output files safely: atomically, in strict JSON, and never over a file by surprise.

Every file clvmodels writes goes first to a temporary file in the destination's folder (a
hidden ``.tmp-XXXXXXXX-<name>`` file: same file system, same extension, so writers that pick a
format or a compression by extension behave as for the final name), is flushed to disk, and
is then moved over the final name with :func:`os.replace`, which is atomic on POSIX and
Windows. A failure midway (a full disk, an exception in the writer, Ctrl-C) removes the
temporary file and leaves the old file, or nothing, under the final name; never a truncated
file. Two processes writing the same output at once each write their own temporary file, so
the result is one complete output (the last one to finish), never an interleaving of both.

:func:`atomic_paths` does the same for files that belong together (the HTML report and its
CSV): all are written to temporary files first and moved into place only when every one is
complete, under a lock on the folder so that two concurrent runs cannot mix their pairs.

The Python API overwrites existing files, as APIs usually do; the command line passes
``overwrite=False`` unless ``--force`` is given (see :func:`check_output_path`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "OutputExistsError",
    "atomic_path",
    "atomic_paths",
    "write_text_atomic",
    "write_bytes_atomic",
    "write_json_atomic",
    "strict_json",
    "check_output_path",
]

_TMP_PREFIX = ".tmp-"


class OutputExistsError(FileExistsError):
    """An output file exists and overwriting it was not allowed; ``path`` is the file.

    Examples
    --------
    >>> err = OutputExistsError("out.csv")
    >>> isinstance(err, FileExistsError), err.path
    (True, 'out.csv')
    """

    def __init__(self, path: str | os.PathLike, flag: str | None = None) -> None:
        super().__init__(_exists_message(Path(path), flag))
        self.path = str(path)


# --------------------------------------------------------------------------- permissions and sync
def _umask() -> int:
    """The process umask, read without changing it where the OS allows (os.umask is not thread safe)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); folders cannot be opened on Windows, where the rename is journalled."""
    if os.name == "nt":  # pragma: no cover - not run on the CI platform
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems (e.g. some network mounts) refuse fsync on folders
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An advisory lock on the folder itself (nothing is left behind); a no-op where flock is missing."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _new_temp(path: Path) -> Path:
    # mkstemp gives a unique name atomically (O_EXCL), so concurrent writers never share a file
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=_TMP_PREFIX, suffix=f"-{path.name}")
    os.close(fd)
    return Path(name)


def _discard(temp: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if temp.is_dir():  # a writer may have made a folder under the temporary name
            import shutil

            shutil.rmtree(temp, ignore_errors=True)
        else:
            temp.unlink()


def _commit(temp: Path, path: Path, overwrite: bool) -> None:
    """Move a complete temporary file to its final name, refusing an existing file unless ``overwrite``."""
    _fsync_file(temp)
    # mkstemp creates the file readable by its owner only; give it the permissions a plain open() would
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
    os.chmod(temp, mode)
    if overwrite:
        os.replace(temp, path)
    else:
        try:
            # a hard link never replaces an existing name: the refusal is atomic, not check-then-write
            os.link(temp, path)
        except FileExistsError:
            raise OutputExistsError(path) from None
        except OSError:  # the file system has no hard links (FAT, some network mounts)
            if path.exists():
                raise OutputExistsError(path) from None
            os.replace(temp, path)
        else:
            temp.unlink()
    _fsync_dir(path.parent)


def _exists_message(path: Path, flag: str | None) -> str:
    fix = f"pass {flag} to overwrite it" if flag else "remove it, or allow overwriting (overwrite=True)"
    return f"The output file '{path}' already exists; {fix}, or choose another name."


# --------------------------------------------------------------------------- context managers
@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; moved to ``path`` only when the block succeeds.

    The temporary file exists (empty) when the block starts and keeps ``path``'s name as its
    ending, so writers that choose the format by extension (pandas' compression, NetCDF) see
    the right one. On success it is flushed to disk and renamed over ``path`` atomically;
    on any exception, including ``KeyboardInterrupt``, it is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or path-like
        The final file.
    overwrite : bool
        Replace an existing ``path`` (default, as Python APIs do). ``False`` raises
        :class:`OutputExistsError` when ``path`` exists at the moment of the rename.

    Yields
    ------
    Path
        The temporary file to write.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp(), "scores.csv")
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("customer_id,clv\\n1,2.5\\n")
    ...     target.exists()  # nothing under the final name until the block ends
    False
    >>> target.read_text()
    'customer_id,clv\\n1,2.5\\n'
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("half a fil")
    ...     raise OSError("No space left on device")
    Traceback (most recent call last):
    ...
    OSError: No space left on device
    >>> target.read_text()  # the old file, untouched
    'customer_id,clv\\n1,2.5\\n'
    """
    with atomic_paths(path, overwrite=overwrite) as (temp,):
        yield temp


@contextlib.contextmanager
def atomic_paths(*paths: str | os.PathLike, overwrite: bool = True) -> Iterator[tuple[Path, ...]]:
    """Temporary paths for files that belong together, all moved into place only when every one is written.

    The files are renamed in the order given, under an exclusive lock on each folder, so two
    runs writing the same set at once leave one run's complete set (give the file that says
    the set is complete, e.g. the HTML report, last). With ``overwrite=False`` every file is
    checked before any is moved.

    Parameters
    ----------
    *paths : str or path-like
        The final files (distinct).
    overwrite : bool
        As in :func:`atomic_path`.

    Yields
    ------
    tuple of Path
        One temporary file per path, in the same order.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic_paths(folder / "r.html", folder / "r.customers.csv") as (html, csv):
    ...     _ = csv.write_text("id\\n1\\n")
    ...     _ = html.write_text("<html></html>")
    >>> sorted(p.name for p in folder.iterdir())
    ['r.customers.csv', 'r.html']
    """
    finals = [Path(p) for p in paths]
    if not finals:
        raise TypeError("atomic_paths needs at least one path.")
    if len({p.resolve() for p in finals}) != len(finals):
        raise ValueError(f"atomic_paths got the same file twice: {[str(p) for p in finals]}.")
    for p in finals:
        if p.is_dir():
            raise IsADirectoryError(f"The output '{p}' is a folder, not a file; give a file name.")
        if not p.parent.is_dir():
            raise FileNotFoundError(f"The folder of the output file '{p}' does not exist; create it first.")
    temps: list[Path] = []
    try:
        for p in finals:
            temps.append(_new_temp(p))
        yield tuple(temps)
        folders = sorted({p.parent.resolve() for p in finals})
        with contextlib.ExitStack() as locks:
            for folder in folders:
                locks.enter_context(_folder_lock(folder))
            if not overwrite:
                for p in finals:
                    if p.exists():
                        raise OutputExistsError(p)
            for temp, p in zip(temps, finals):
                _commit(temp, p, overwrite)
    finally:
        for temp in temps:
            _discard(temp)


# --------------------------------------------------------------------------- writers
def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`); return the path.

    Examples
    --------
    >>> import tempfile
    >>> p = write_bytes_atomic(Path(tempfile.mkdtemp(), "x.bin"), b"\\x00\\x01")
    >>> p.read_bytes()
    b'\\x00\\x01'
    """
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as temp:
        with open(temp, "wb") as fh:
            fh.write(data)
    return path


def write_text_atomic(path: str | os.PathLike, text: str, *, encoding: str = "utf-8",
                      overwrite: bool = True) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`); return the path.

    Examples
    --------
    >>> import tempfile
    >>> p = write_text_atomic(Path(tempfile.mkdtemp(), "note.txt"), "café\\n")
    >>> p.read_text(encoding="utf-8")
    'café\\n'
    """
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as temp:
        # newline="" keeps the text's own line endings on every platform
        with open(temp, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
    return path


def _field(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


def strict_json(payload: Any, *, null_ok: Collection[str] | bool = (), _where: str = "") -> Any:
    """A copy of ``payload`` that :func:`json.dumps` writes as strict JSON (RFC 8259: no NaN, no Infinity).

    NumPy scalars and arrays become Python numbers and lists, tuples become lists and mapping
    keys strings. A non-finite number raises a ``ValueError`` naming its field (``params.b``,
    ``cov[1][0]``), unless the field is allowed to be missing: then it becomes ``null``.

    Parameters
    ----------
    payload : object
        Nested dicts, lists, numbers, strings, booleans, None, NumPy values.
    null_ok : collection of str, or bool
        Fields whose non-finite numbers are written as ``null``: a top-level key
        (``"se"``) covers everything under it; ``True`` allows it everywhere.

    Returns
    -------
    object
        The JSON-ready copy (the input is not modified).

    Examples
    --------
    >>> strict_json({"params": {"r": 0.24}, "se": {"r": float("nan")}}, null_ok={"se"})
    {'params': {'r': 0.24}, 'se': {'r': None}}
    >>> strict_json({"params": {"b": float("inf")}})
    Traceback (most recent call last):
    ...
    ValueError: The field 'params.b' is inf, which strict JSON cannot hold; ...
    """
    allowed = null_ok is True or (not isinstance(null_ok, bool) and _where.split(".")[0].split("[")[0] in null_ok)
    if isinstance(payload, Mapping):
        return {str(k): strict_json(v, null_ok=null_ok, _where=_field(_where, k)) for k, v in payload.items()}
    if hasattr(payload, "tolist") and callable(payload.tolist) and not isinstance(payload, (str, bytes)):
        payload = payload.tolist()  # NumPy scalar or array
    if isinstance(payload, (list, tuple)):
        return [strict_json(v, null_ok=null_ok, _where=f"{_where}[{i}]") for i, v in enumerate(payload)]
    if isinstance(payload, float) and not math.isfinite(payload):
        if allowed:
            return None
        raise ValueError(
            f"The field '{_where or '<root>'}' is {payload!r}, which strict JSON cannot hold; a fitted value must be "
            f"finite (refit, or check the data), or the writer must allow null for this field."
        )
    if payload is None or isinstance(payload, (str, bool, int, float)):
        return payload
    raise TypeError(f"The field '{_where or '<root>'}' holds a {type(payload).__name__}, which JSON cannot hold.")


def write_json_atomic(path: str | os.PathLike, payload: Any, *, null_ok: Collection[str] | bool = (),
                      indent: int | None = 2, overwrite: bool = True) -> Path:
    """Write ``payload`` as strict JSON (no ``NaN``/``Infinity`` literals), atomically; return the path.

    Non-finite numbers raise a ``ValueError`` naming the field before anything is written,
    except in the fields of ``null_ok``, where they are written as ``null`` (see :func:`strict_json`).

    Examples
    --------
    >>> import tempfile
    >>> p = write_json_atomic(Path(tempfile.mkdtemp(), "m.json"), {"loglik": float("nan")}, null_ok={"loglik"})
    >>> p.read_text()
    '{\\n  "loglik": null\\n}'
    """
    # serialise first: a value JSON cannot hold fails before any file is touched
    text = json.dumps(strict_json(payload, null_ok=null_ok), indent=indent, allow_nan=False)
    return write_text_atomic(path, text, overwrite=overwrite)


# --------------------------------------------------------------------------- checks before long work
def check_output_path(path: str | os.PathLike, *, force: bool = False, flag: str = "--force",
                      option: str = "--output", suffixes: Collection[str] | None = None,
                      error: Callable[[str], Exception] = ValueError) -> Path:
    """Check, before any long computation, that ``path`` can be written as a new (or, with ``force``, replaced) file.

    The folder must exist and accept new files (checked by creating and removing a temporary
    file there, which also catches read-only mounts and ACLs); ``path`` must not be a folder;
    an existing file is refused unless ``force``.

    Parameters
    ----------
    path : path-like
        The output file.
    force : bool
        Whether an existing file may be replaced.
    flag, option : str
        Names used in the messages (the command-line flag that allows overwriting, and the option that gave ``path``).
    suffixes : collection of str, optional
        Accepted file extensions (lower case, with the dot).
    error : callable
        Builds the exception raised from the message (the CLI passes its one-line error type).

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> check_output_path(folder / "scores.csv").name
    'scores.csv'
    >>> _ = (folder / "scores.csv").write_text("old")
    >>> check_output_path(folder / "scores.csv")
    Traceback (most recent call last):
    ...
    ValueError: The output file '...scores.csv' already exists; pass --force to overwrite it, or choose another name.
    """
    path = Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise error(f"Cannot write '{path}' (given by {option}): use a file name ending in "
                    f"{', '.join(sorted(suffixes))}.")
    if path.is_dir():
        raise error(f"The output '{path}' (given by {option}) is a folder; give a file name inside it.")
    folder = path.parent
    if not folder.exists():
        raise error(f"The folder of the output file '{path}' (given by {option}) does not exist; create it first.")
    if not folder.is_dir():
        raise error(f"The output '{path}' (given by {option}) is inside '{folder}', which is a file, not a folder.")
    if path.exists() and not force:
        raise error(_exists_message(path, flag))
    try:
        _discard(_new_temp(path))
    except OSError as exc:
        raise error(f"Cannot write to the folder '{folder}' of the output file '{path}' (given by {option}): "
                    f"{exc.strerror or exc}. Choose a folder you can write to.") from None
    return path
