"""netflash: the flash file system and boot images of the lab's simulated network devices.

TEST INFRASTRUCTURE ONLY (standard library). Both simulators, ``iosgw.py``
(the voice gateway) and ``voiceswitch.py`` (the access switch), keep their
flash in ``<state-dir>/flash``: one plain file per flash file, so a device's
images survive a reload and a container restart as they do on a router.

An *image* is a file whose first line is::

    VOIPLAB-NETDEV-IMAGE platform=<platform> version=<version> [state=broken]

followed by filler bytes. It boots into that version; ``state=broken`` boots
too (the SSH server comes back) but the device's services stay down, so a
release's health gate has something real to catch. Any other file is data
and does not boot.

Boot choice, as IOS does it: the ``boot system`` entries of the saved
configuration in order, the first that names an image on flash; else the
factory image; else the first image on flash by name.

``fetch`` copies ``http://`` URLs only (the lab's provisioning server), to a
temporary file first, bounded by the flash's free space; a file name is a
plain name (letters, digits, ``.``, ``_``, ``-``), never a path.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

MAGIC = "VOIPLAB-NETDEV-IMAGE"
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_HEADER_RE = re.compile(
    MAGIC + r" platform=(?P<platform>[A-Za-z0-9._-]+) version=(?P<version>[A-Za-z0-9.()_-]+)"
    r"(?P<broken> state=broken)?"
)
FETCH_TIMEOUT = 30
ALGORITHMS = ("md5", "sha512")


class FlashError(Exception):
    """A flash operation that failed; the message is what the device prints."""


@dataclass(frozen=True)
class Image:
    platform: str
    version: str
    broken: bool = False


def image_bytes(platform: str, version: str, broken: bool = False, size: int = 65536) -> bytes:
    """An image file for ``platform`` at ``version`` (``size`` bytes, deterministic filler)."""
    head = f"{MAGIC} platform={platform} version={version}{' state=broken' if broken else ''}\n".encode()
    filler = hashlib.sha256(head).digest()
    body = (filler * (size // len(filler) + 1))[: max(size - len(head), 0)]
    return head + body


def read_image(data: bytes) -> Image | None:
    """The image ``data`` holds, or None when it is not one."""
    first = data.split(b"\n", 1)[0][:256].decode("ascii", "replace")
    found = _HEADER_RE.fullmatch(first)
    if not found:
        return None
    return Image(found["platform"], found["version"], bool(found["broken"]))


class Flash:
    """One device's flash: ``directory`` holds the files, ``capacity`` bounds their total size."""

    def __init__(self, directory: str | os.PathLike, prefixes: tuple[str, ...], capacity: int) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefixes = prefixes  # e.g. ("bootflash:", "flash:"); the first is shown
        self.capacity = capacity

    @property
    def shown(self) -> str:
        return self.prefixes[0]

    def name(self, text: str) -> str:
        """The plain file name of ``flash:NAME`` (or ``NAME``); FlashError when it is not one."""
        low = text.lower()
        rest = text
        for prefix in self.prefixes:
            if low.startswith(prefix):
                rest = text[len(prefix) :]
                break
        rest = rest.removeprefix("/")
        if not NAME_RE.fullmatch(rest):
            raise FlashError(f"%Error opening {text} (Invalid argument)")
        return rest

    def files(self) -> list[tuple[str, int, float]]:
        """(name, size, modification time) of every file, by name."""
        out = []
        for path in sorted(self.directory.iterdir()):
            if path.is_file() and NAME_RE.fullmatch(path.name):
                stat = path.stat()
                out.append((path.name, stat.st_size, stat.st_mtime))
        return out

    def used(self) -> int:
        return sum(size for _, size, _ in self.files())

    def free(self) -> int:
        return max(self.capacity - self.used(), 0)

    def exists(self, name: str) -> bool:
        return (self.directory / name).is_file()

    def image(self, name: str) -> Image | None:
        path = self.directory / name
        if not path.is_file():
            return None
        with path.open("rb") as handle:
            return read_image(handle.read(256))

    def digest(self, name: str, algorithm: str) -> str:
        if algorithm not in ALGORITHMS:
            raise FlashError(f"%Error: unknown hash algorithm {algorithm}")
        path = self.directory / name
        if not path.is_file():
            raise FlashError(f"%Error opening {self.shown}{name} (No such file or directory)")
        digest = hashlib.new(algorithm)
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def write(self, name: str, data: bytes) -> None:
        """Put ``data`` on flash as ``name`` (the factory image, tests)."""
        if len(data) > self.free() + self._size(name):
            raise FlashError(f"%Error copying {self.shown}{name} (Not enough space on device)")
        self._replace(name, [data])

    def _size(self, name: str) -> int:
        path = self.directory / name
        return path.stat().st_size if path.is_file() else 0

    def delete(self, name: str) -> None:
        path = self.directory / name
        if not path.is_file():
            raise FlashError(f"%Error deleting {self.shown}{name} (No such file or directory)")
        path.unlink()

    def fetch(self, url: str, name: str) -> tuple[int, float]:
        """Copy ``url`` (http only) to ``name``; returns (bytes, seconds)."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() != "http" or not parts.hostname:
            raise FlashError(f"%Error opening {url} (Invalid argument)")
        started = time.monotonic()
        budget = self.free() + self._size(name)
        try:
            with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as answer:
                chunks, size = [], 0
                for chunk in iter(lambda: answer.read(1 << 20), b""):
                    size += len(chunk)
                    if size > budget:
                        raise FlashError(f"%Error copying {self.shown}{name} (Not enough space on device)")
                    chunks.append(chunk)
        except urllib.error.HTTPError as exc:
            raise FlashError(f"%Error opening {url} (No such file or directory: HTTP {exc.code})") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise FlashError(f"%Error opening {url} (Timed out or refused: {exc})") from exc
        self._replace(name, chunks)
        return size, time.monotonic() - started

    def _replace(self, name: str, chunks: list[bytes]) -> None:
        handle, tmp = tempfile.mkstemp(dir=self.directory, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
            os.replace(tmp, self.directory / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def boot(self, entries: list[str], factory: str) -> tuple[str, Image] | None:
        """The image to boot: the first of ``entries`` (flash names) that is one, the factory image, the
        first image by name; None when flash holds no image at all."""
        for name in [*entries, factory, *(n for n, _, _ in self.files())]:
            image = self.image(name) if NAME_RE.fullmatch(name) else None
            if image is not None:
                return name, image
        return None
