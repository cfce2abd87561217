""".npz archives read with every size checked first: model files, checkpoints and datasets.

np.load trusts the file: it reads a member whole before anyone sees its name, believes the shape a
`.npy` header declares (a 128-byte member may claim 4 TiB), and lets the zip and header decoders'
own exceptions escape (NotImplementedError for an unknown compression method, TokenError for a
damaged header, ...). Here the archive is opened in two steps:

1. `open_npz(path, max_bytes)` reads only the zip directory and each member's `.npy` header: the
   member names, every declared shape and dtype, and the decompressed size of each member, which
   must be exactly the header plus the declared data. The total is bounded by `max_bytes`, and
   nothing that would need pickle (object arrays), structured or exotic dtypes is accepted.
2. `Archive.read(name)` then reads one member's data, at most its checked size, in pieces.

Every problem is an ArchiveError whose message is the reason alone; the caller says which file and
turns it into its own error (ModelFileError, DataError). NotAnArchive is the one for a file that
is not a zip at all (or a lone `.npy` array).
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minigrad.text import printable

MAX_MEMBERS = 10_000      # arrays in one archive
MAX_HEADER = 10_000       # bytes of one .npy header (numpy's own default limit)
KINDS = "biufUS"          # bool, integers, floats, text: nothing else is ever needed
CHUNK = 1 << 20           # members are read in 1 MiB pieces
NPY_MAGIC = b"\x93NUMPY"


class ArchiveError(ValueError):
    """A damaged or unacceptable archive; the message is the reason (no file name)."""


class NotAnArchive(ArchiveError):
    """Not a zip archive at all: empty, truncated (the directory is at the end), another format,
    or a single .npy array."""


class SingleArray(NotAnArchive):
    """A .npy file: one array, without names."""


def size_text(n: int) -> str:
    """Bytes for people: 3221225600 -> '3.0 GiB' (never a float of a huge int)."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            whole = n // scale
            if whole >= 10**6:
                return f"more than a million {unit}"
            return f"{whole}.{(n % scale) * 10 // scale} {unit}"
    return f"{n} bytes"


@dataclass(frozen=True)
class Member:
    """One array as its headers declare it."""

    name: str                  # the array's name: the member's file name without ".npy"
    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int                # bytes of magic and header before the data

    @property
    def count(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.count * self.dtype.itemsize


class Archive:
    """An opened, checked archive: `members` by name; `read(name)` gives one array."""

    def __init__(self, zf: zipfile.ZipFile, members: dict[str, Member]):
        self._zf = zf
        self.members = members

    @property
    def names(self) -> list[str]:
        return list(self.members)

    def __contains__(self, name: str) -> bool:
        return name in self.members

    def read(self, name: str) -> np.ndarray:
        member = self.members[name]
        try:
            return _read_data(self._zf, member)
        except ArchiveError:
            raise
        except Exception as error:  # the zip and zlib decoders' own errors: CRC, bad data, ...
            raise ArchiveError(f"array '{_name_text(name)}' is damaged ({_reason(error)})") \
                from None

    def close(self) -> None:
        self._zf.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _name_text(name: str) -> str:
    """A member's name as a message shows it: escaped, and cut at 80 characters."""
    name = printable(name)
    return name if len(name) <= 80 else name[:80] + "…"


def _reason(error: BaseException) -> str:
    text = printable(str(error)) or type(error).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def open_npz(path, max_bytes: int) -> Archive:
    """Open `path` and check its directory and every member's header (no data is read).

    max_bytes bounds the decompressed size of all members together.
    """
    path = Path(path)
    if not path.is_file():
        raise NotAnArchive("not a regular file")
    size = path.stat().st_size
    # Stored members take at least their own size on disk; deflate only makes them smaller.
    if size > max_bytes + MAX_MEMBERS * 200 + (1 << 20):
        raise ArchiveError(f"the file is {size_text(size)}, above the {size_text(max_bytes)} "
                           "this kind of file may hold")
    with open(path, "rb") as handle:
        start = handle.read(len(NPY_MAGIC))
    if start == NPY_MAGIC:
        raise SingleArray("a single .npy array, not an .npz archive of named arrays")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise NotAnArchive(f"truncated or not an .npz archive ({_reason(error)})") from None
    except Exception as error:  # NotImplementedError ("zip file version 7.0"), OSError, ...
        raise ArchiveError(f"its zip directory cannot be read ({_reason(error)})") from None
    try:
        members = _check_directory(zf, max_bytes)
    except BaseException:
        zf.close()
        raise
    return Archive(zf, members)


def _check_directory(zf: zipfile.ZipFile, max_bytes: int) -> dict[str, Member]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ArchiveError(f"{len(infos):,} members, more than the {MAX_MEMBERS:,} an archive "
                           "of arrays may have")
    members: dict[str, Member] = {}
    total = 0
    for info in infos:
        filename = info.filename
        shown = _name_text(filename)
        if not filename.endswith(".npy") or len(filename) > 1000:
            raise ArchiveError(f"member '{shown}' is not an array (.npy)")
        name = filename[:-4]
        label = _name_text(name)
        if name in members:
            raise ArchiveError(f"array '{label}' appears twice")
        if info.flag_bits & 0x20:
            raise ArchiveError(f"array '{label}' uses compressed patched data (zip flag "
                               "bit 5), which no .npz writer uses")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"array '{label}' is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ArchiveError(f"array '{label}' uses zip compression method "
                               f"{info.compress_type}; .npz files are stored or deflated")
        total += info.file_size
        if total > max_bytes:
            raise ArchiveError(f"its arrays hold more than {size_text(max_bytes)} when "
                               f"unpacked (array '{label}' alone is "
                               f"{size_text(info.file_size)})")
        members[name] = _check_header(zf, info, name, max_bytes)
    return members


def _check_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str,
                  max_bytes: int) -> Member:
    shown = _name_text(name)
    try:
        with zf.open(info) as handle:
            head = handle.read(len(NPY_MAGIC) + 2)
            if len(head) < 8 or head[:6] != NPY_MAGIC:
                raise ArchiveError(f"array '{shown}' is not a .npy array (no NUMPY header)")
            major = head[6]
            if major not in (1, 2, 3) or head[7] != 0:
                raise ArchiveError(f"array '{shown}' has .npy format version {major}.{head[7]}")
            width = 2 if major == 1 else 4
            head += handle.read(width)
            if len(head) < 8 + width:
                raise ArchiveError(f"array '{shown}' is cut short inside its .npy header")
            length = int.from_bytes(head[8:8 + width], "little")
            if length > MAX_HEADER:
                raise ArchiveError(f"array '{shown}' has a .npy header of {length:,} bytes "
                                   f"(at most {MAX_HEADER:,})")
            rest = handle.read(length) if length else b""
            if len(rest) != length:
                raise ArchiveError(f"array '{shown}' is cut short inside its .npy header")
    except ArchiveError:
        raise
    except Exception as error:  # the member's local header, method or encryption
        raise ArchiveError(f"array '{shown}' cannot be opened ({_reason(error)})") from None
    shape, fortran, dtype = _parse_header(head + rest, major, shown)
    offset = 8 + width + length
    if any(d > max_bytes for d in shape):
        raise ArchiveError(f"array '{shown}' declares shape {_shape_text(shape)}, a size no "
                           "array in this file can have")
    nbytes = math.prod(shape) * dtype.itemsize
    if offset + nbytes != info.file_size:
        raise ArchiveError(f"array '{shown}' declares shape {_shape_text(shape)} of {dtype} "
                           f"({size_text(nbytes)}) but holds {size_text(info.file_size - offset)}"
                           " of data")
    return Member(name, info, shape, dtype, fortran, offset)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _parse_header(raw: bytes, major: int, shown: str):
    """numpy's own header parser, on the bounded bytes; any of its errors is a damaged header."""
    import io
    from numpy.lib import format as npy_format

    stream = io.BytesIO(raw)
    try:
        npy_format.read_magic(stream)
        if major == 1:
            shape, fortran, dtype = npy_format.read_array_header_1_0(stream,
                                                                     max_header_size=MAX_HEADER)
        else:
            shape, fortran, dtype = npy_format.read_array_header_2_0(stream,
                                                                     max_header_size=MAX_HEADER)
    except Exception as error:  # ValueError, SyntaxError, TokenError, RecursionError, ...
        raise ArchiveError(f"array '{shown}' has a damaged .npy header "
                           f"({type(error).__name__}: {_reason(error)})") from None
    if not (isinstance(shape, tuple) and all(type(d) is int and d >= 0 for d in shape)
            and len(shape) <= 32):
        raise ArchiveError(f"array '{shown}' has a damaged .npy header (shape {shape!r:.80})")
    if dtype.hasobject:
        raise ArchiveError(f"array '{shown}' holds Python objects, which would need pickle; "
                           "these files never load pickle")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in KINDS \
            or dtype.itemsize == 0:
        raise ArchiveError(f"array '{shown}' has dtype {dtype}; only numbers and text are read")
    return shape, bool(fortran), dtype


def _read_data(zf: zipfile.ZipFile, member: Member) -> np.ndarray:
    """The member's data, read in pieces into its array (never more than it declared)."""
    array = np.empty(member.count, member.dtype)
    view = memoryview(array.view(np.uint8)) if member.nbytes else memoryview(b"")
    with zf.open(member.info) as handle:
        skipped = handle.read(member.offset)
        if len(skipped) != member.offset:
            raise ArchiveError(f"array '{_name_text(member.name)}' is cut short")
        done = 0
        while done < member.nbytes:
            piece = handle.read(min(CHUNK, member.nbytes - done))
            if not piece:
                raise ArchiveError(f"array '{_name_text(member.name)}' is cut short ({done:,} of "
                                   f"{member.nbytes:,} bytes)")
            view[done:done + len(piece)] = piece
            done += len(piece)
        if handle.read(1):  # also makes zipfile check the CRC at the end
            raise ArchiveError(f"array '{_name_text(member.name)}' holds more data than it declares")
    if member.fortran_order:
        return array.reshape(member.shape[::-1]).transpose()
    return array.reshape(member.shape)


# ---------------------------------------------------------------------------------------------
# What the arrays hold: JSON text and names that may reach a terminal.
# ---------------------------------------------------------------------------------------------

MAX_INT_DIGITS = 40       # longer than any count, size or seed (a generator's state: 39 digits)


def _small_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ArchiveError(f"a number of {len(text.lstrip('-')):,} digits")
    return int(text)


def parse_json(text: str, what: str):
    """JSON text from a file: nesting too deep, an integer of thousands of digits or bad syntax is
    an ArchiveError naming `what`, never the decoder's own exception."""
    import json

    try:
        return json.loads(text, parse_int=_small_int)
    except ArchiveError as error:
        raise ArchiveError(f"{what} holds {error}") from None
    except RecursionError:
        raise ArchiveError(f"{what} is nested too deeply to be cnncalc's") from None
    except ValueError as error:  # JSONDecodeError and its kin
        raise ArchiveError(f"{what} is not valid JSON ({_reason(error)})") from None
