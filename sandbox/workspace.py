"""Session working directories on the host, and safe file transfer in and out of them.

Sandboxed code can leave anything in its directory: symlinks to host files, FIFOs, deep
trees. Everything here runs on the host with the host's permissions, so no path is ever
resolved by the kernel in one go: each component is opened relative to its parent with
``O_NOFOLLOW``, and only regular files are read.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox.errors import FileAccessError, FileTooLarge, SessionError
from sandbox.types import FileInfo

_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_LISTED_FILES = 1000
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

Snapshot = dict[str, tuple[int, int]]


class Workspaces:
    """``<root>/sessions/<id>`` for sessions, ``<root>/runs/<uuid>`` for one-off runs.

    ``owner`` is the host uid/gid that sandboxed code runs as, when that is not ours (we run as
    root and drop privileges): its directories and uploaded files are handed to it.
    """

    def __init__(
        self, root: Path, *, owner: tuple[int, int] | None, max_transfer_bytes: int
    ) -> None:
        self.root = root
        self.owner = owner
        self.max_transfer_bytes = max_transfer_bytes

    def session_dir(self, session: str) -> Path:
        """The session's directory, created on first use."""
        if not _SESSION_ID.fullmatch(session):
            raise SessionError(
                f"invalid session id {session!r}: use 1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return self._make(self.root / "sessions" / session)

    @contextmanager
    def ephemeral(self) -> Iterator[Path]:
        """A fresh directory for one run, removed afterwards."""
        path = self._make(self.root / "runs" / uuid.uuid4().hex)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    @contextmanager
    def meta(self, name: str, content: str) -> Iterator[Path]:
        """``<fresh dir>/program/<name>`` holding ``content``, outside every workspace.

        The program folder is shown read-only to the code; the fresh directory beside it is
        free for the run's own use (a mount point). Removed afterwards.
        """
        folder = self._make(self.root / "meta" / uuid.uuid4().hex, give=False)
        program = folder / "program" / name
        program.parent.mkdir()
        program.write_text(content, encoding="utf-8")
        for path, mode in ((folder, 0o755), (program.parent, 0o755), (program, 0o444)):
            path.chmod(mode)
        try:
            yield program
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def reset(self, session: str) -> None:
        """Delete everything in the session (rmtree never follows symlinks)."""
        path = self.session_dir(session)
        shutil.rmtree(path)
        self._make(path)

    def _make(self, path: Path, *, give: bool = True) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        if give and self.owner is not None:
            os.chown(path, *self.owner)
        return path

    # -- files -------------------------------------------------------------------------

    def upload(self, session: str, path: str, data: bytes) -> FileInfo:
        """Write ``data`` to ``path`` inside the session, creating folders as needed."""
        if len(data) > self.max_transfer_bytes:
            raise FileTooLarge(
                f"{path}: {len(data)} bytes is over the {self.max_transfer_bytes}-byte limit"
            )
        parts = _split(path)
        root = self.session_dir(session)
        with _open_dir(root, parts[:-1], create=True, owner=self.owner) as parent:
            try:
                fd = os.open(
                    parts[-1],
                    os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                    0o644,
                    dir_fd=parent,
                )
            except OSError as exc:
                raise FileAccessError(f"{path}: cannot write ({exc.strerror})") from exc
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise FileAccessError(f"{path}: not a regular file")
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if self.owner is not None:
                    os.fchown(fd, *self.owner)
            finally:
                os.close(fd)
        return FileInfo("/".join(parts), len(data))

    def download(self, session: str, path: str) -> bytes:
        """The bytes of the regular file at ``path`` inside the session."""
        parts = _split(path)
        root = self.session_dir(session)
        with _open_dir(root, parts[:-1], create=False, owner=None) as parent:
            try:
                # O_NONBLOCK: a FIFO left by sandboxed code must not hang us.
                fd = os.open(
                    parts[-1],
                    os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                    dir_fd=parent,
                )
            except FileNotFoundError as exc:
                raise FileAccessError(f"{path}: no such file") from exc
            except OSError as exc:
                raise FileAccessError(f"{path}: cannot read ({exc.strerror})") from exc
            try:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode):
                    raise FileAccessError(f"{path}: not a regular file")
                if info.st_size > self.max_transfer_bytes:
                    raise FileTooLarge(
                        f"{path}: {info.st_size} bytes is over the "
                        f"{self.max_transfer_bytes}-byte limit"
                    )
                chunks = []
                remaining = self.max_transfer_bytes + 1
                while remaining > 0 and (chunk := os.read(fd, min(remaining, 1 << 20))):
                    chunks.append(chunk)
                    remaining -= len(chunk)
            finally:
                os.close(fd)
        data = b"".join(chunks)
        if len(data) > self.max_transfer_bytes:
            raise FileTooLarge(f"{path}: over the {self.max_transfer_bytes}-byte limit")
        return data

    def list_files(self, session: str) -> list[FileInfo]:
        """Regular files in the session, sorted by path (at most MAX_LISTED_FILES)."""
        snap = snapshot(self.session_dir(session))
        return [FileInfo(p, size) for p, (size, _) in sorted(snap.items())]


def snapshot(root: Path) -> Snapshot:
    """``{relative path: (size, mtime_ns)}`` of regular files under root, never following links."""
    found: Snapshot = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(folder, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                found[os.path.relpath(full, root)] = (info.st_size, info.st_mtime_ns)
                if len(found) >= MAX_LISTED_FILES:
                    return found
    return found


def changed_files(before: Snapshot, after: Snapshot) -> tuple[FileInfo, ...]:
    """Files that are new or modified between two snapshots."""
    return tuple(
        FileInfo(path, meta[0]) for path, meta in sorted(after.items()) if before.get(path) != meta
    )


def _split(path: str) -> list[str]:
    """The components of a relative path, rejecting anything that could leave the root."""
    if not path or "\x00" in path:
        raise FileAccessError("empty path or NUL byte in path")
    if path.startswith(("/", "\\")):
        raise FileAccessError(f"{path}: absolute paths are not allowed; give one relative to it")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts:
        raise FileAccessError(f"{path}: names no file")
    if ".." in parts:
        raise FileAccessError(f"{path}: '..' is not allowed")
    return parts


@contextmanager
def _open_dir(
    root: Path, parts: list[str], *, create: bool, owner: tuple[int, int] | None
) -> Iterator[int]:
    """An fd of root/parts..., walked one component at a time without following links."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts:
            if create:
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                    if owner is not None:
                        os.chown(part, *owner, dir_fd=fd, follow_symlinks=False)
                except FileExistsError:
                    pass
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError as exc:
                raise FileAccessError(f"{'/'.join(parts)}: no such folder") from exc
            except OSError as exc:
                # ELOOP / ENOTDIR: a symlink or a file where a folder should be.
                raise FileAccessError(f"{part}: not a folder inside the workspace") from exc
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)
