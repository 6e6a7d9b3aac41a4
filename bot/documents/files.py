"""Writing a document where the command was told to (`--out`): whole or not at all, and only
over a regular file or at a new name.

The file is written under a temporary name beside the target and renamed onto it, so the
target never holds half a file. A rename replaces whatever has the name: a device such as
/dev/full, a directory entry, a symbolic link. So the target must be a new name or a regular
file; anything else is refused before anything is written.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path


class NotARegularFile(OSError):
    """The target exists and is not a regular file (a device, a directory, a link...); an
    OSError, so that a command that reports OSErrors in one line reports this one too."""

    def __init__(self, path: Path):
        super().__init__(errno.EEXIST, "not a regular file; give a new name or a file's", str(path))


def check_target(path: Path) -> None:
    """Raise NotARegularFile unless `path` is a new name or a regular file (not followed if a
    symbolic link: the link itself would be replaced)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise NotARegularFile(path)


def write_atomically(path: Path, write: Callable[[str], None]) -> None:
    """Call `write(temporary)` for a temporary name beside `path`, then rename it onto `path`.

    Raises NotARegularFile (nothing written) or OSError (nothing left behind)."""
    path = Path(path)
    check_target(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(temporary)
        check_target(path)  # still so: nothing else took the name meanwhile
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
