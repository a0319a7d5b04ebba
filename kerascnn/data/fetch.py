"""Fetching a named dataset that no local place holds: Keras' own files, into the Keras cache.

The last place a named set (``fashion_mnist``, ``mnist``, ``cifar10``, ``cifar100``) looks, after
every folder :mod:`kerascnn.data.datasets` and :mod:`kerascnn.data.cifar` search: the files
``keras.datasets`` downloads, from the same hosts (:data:`KERAS_MIRROR`, :data:`CIFAR_MIRROR`),
or from ``$KERASCNN_DOWNLOAD_URL`` when it is set: a base URL (``http://``, ``https://`` or
``file://``) that serves the same files under their own names, e.g. a local mirror (the tests
point it at an unresolvable ``.invalid`` host or a closed port). Nothing is fetched when a
``--data-dir`` is given or ``$KERASCNN_NO_DOWNLOAD`` is set.

Offline it fails fast: before anything is written, the host (or the proxy urllib would use) must
resolve and accept a connection within :data:`PROBE_SECONDS`; a download that stalls for
:data:`READ_SECONDS` is abandoned; nothing is retried. The files go to a temporary folder in the
Keras cache, are checked (SHA-256 where Keras publishes one, then read as the dataset) and only
then moved to where the search looks (``fashion-mnist/``, ``mnist.npz``, ``cifar-10-batches-py/``,
``cifar-100-python/``). A failed or interrupted fetch leaves nothing behind: the temporary folder
and the folders it had to create are removed, and nothing else is touched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kerascnn.data.dataset import Dataset, downloads_allowed, keras_cache, not_found
from kerascnn.errors import KerasCNNError

KERAS_MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CIFAR_MIRROR = "https://www.cs.toronto.edu/~kriz/"
URL_ENV = "KERASCNN_DOWNLOAD_URL"
PROBE_SECONDS = 3.0  # resolve the host and connect to it, together
READ_SECONDS = 10.0  # the longest a download may stall


@dataclass(frozen=True)
class Remote:
    """What a named set fetches: ``files`` (name: SHA-256, or None where Keras publishes none)
    from ``base``; then ``keep`` (the files when empty) is moved to the Keras cache's ``into``."""

    base: str
    files: dict[str, str | None]
    into: str = ""
    keep: tuple[str, ...] = ()


_IDX = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte")
REMOTES = {  # keras.datasets' files and checksums (keras/src/datasets/*.py)
    "fashion_mnist": Remote(
        KERAS_MIRROR,
        {f"{stem}.gz": None for stem in (*_IDX, "t10k-labels-idx1-ubyte")},
        into="fashion-mnist",
    ),
    "mnist": Remote(
        KERAS_MIRROR,
        {"mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"},
    ),
    "cifar10": Remote(
        CIFAR_MIRROR,
        {
            "cifar-10-python.tar.gz": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
        },
        keep=("cifar-10-batches-py",),
    ),
    "cifar100": Remote(
        CIFAR_MIRROR,
        {
            "cifar-100-python.tar.gz": "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"
        },
        keep=("cifar-100-python",),
    ),
}


class FetchError(KerasCNNError):
    """Why a fetch failed, as the end of a sentence (``could not resolve HOST (...)``)."""


def _why(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)  # URLError wraps the socket error
    inner = reason if isinstance(reason, BaseException) else exc
    text = getattr(inner, "strerror", None) or str(inner) or type(inner).__name__
    return f"{type(inner).__name__}: {text}"


# --------------------------------------------------------------------------- probing


def base_url(remote: Remote) -> str:
    """``$KERASCNN_DOWNLOAD_URL`` (with a trailing ``/``) when set, else the set's own host."""
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        return remote.base
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "file") or (
        parts.scheme != "file" and not parts.hostname
    ):
        raise FetchError(
            f"${URL_ENV}={url!r} is not an http://, https:// or file:// URL (the folder that "
            f"holds the dataset's files)"
        )
    return url if url.endswith("/") else url + "/"


def endpoint(url: str) -> tuple[str, int] | None:
    """The ``(host, port)`` a download of ``url`` connects to first (its proxy, when urllib would
    use one); None for a ``file://`` URL."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return None
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        proxied = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        return proxied.hostname or "", proxied.port or 80
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def _resolve(host: str, port: int, seconds: float) -> list:
    """``socket.getaddrinfo`` given at most ``seconds`` (it has no timeout of its own)."""
    found: dict = {}

    def work():
        try:
            found["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            found["error"] = exc

    thread = threading.Thread(target=work, name="kerascnn-resolve", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise FetchError(f"could not resolve {host} within {seconds:g} s (no network or no DNS)")
    if "error" in found:
        raise FetchError(f"could not resolve {host} ({_why(found['error'])})")
    return found["infos"]


def probe(host: str, port: int, seconds: float | None = None) -> None:
    """FetchError unless ``host`` resolves and accepts a TCP connection on ``port``, both within
    ``seconds`` (default :data:`PROBE_SECONDS`) in all."""
    seconds = PROBE_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    infos = _resolve(host, port, seconds)
    error: BaseException | None = None
    for family, kind, proto, _, address in infos:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.settimeout(left)
                sock.connect(address)
                return
        except OSError as exc:
            error = exc
    why = _why(error) if error else f"no answer within {seconds:g} s"
    raise FetchError(f"could not connect to {host} port {port} ({why})")


# --------------------------------------------------------------------------- downloading


def _download(url: str, path: Path, sha256: str | None) -> None:
    """``url`` into ``path``, checked against ``sha256``; FetchError on any failure."""
    request = urllib.request.Request(url, headers={"User-Agent": "kerascnn"})
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(request, timeout=READ_SECONDS) as answer:
            size = answer.headers.get("Content-Length")
            mb = f" ({int(size) / 1e6:.1f} MB)" if size and size.isdigit() else ""
            print(f"Downloading {url}{mb}", file=sys.stderr, flush=True)
            with open(path, "wb") as out:
                while chunk := answer.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url} answered HTTP {exc.code} {exc.reason}") from None
    except (OSError, ValueError) as exc:  # URLError, timeouts, resets, IncompleteRead, ...
        raise FetchError(f"downloading {url} failed ({_why(exc)})") from None
    if sha256 and digest.hexdigest() != sha256:
        raise FetchError(
            f"{url} has SHA-256 {digest.hexdigest()}, not {sha256} (the file keras.datasets "
            f"publishes)"
        )


def _new_dirs(folder: Path) -> list[Path]:
    """Create ``folder``; return the folders that did not exist, deepest first."""
    missing, path = [], folder
    while not path.exists():
        missing.append(path)
        path = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _move(src: Path, dst: Path) -> None:
    """``src`` to ``dst``; a folder is merged into an existing one, file by file."""
    if src.is_dir() and dst.is_dir():
        for child in src.iterdir():
            _move(child, dst / child.name)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)


def fetch(name: str, read: Callable[[Path], Dataset]) -> Dataset:
    """Download the files of named set ``name`` and return it, read by ``read(folder)`` from the
    download folder before its files are moved into the Keras cache; FetchError on failure, with
    nothing left behind."""
    remote = REMOTES[name]
    base = base_url(remote)
    where = endpoint(base)
    if where is not None:
        probe(*where)
    cache = keras_cache()
    created = _new_dirs(cache)
    tmp = Path(tempfile.mkdtemp(prefix=f".kerascnn-fetch-{name}-", dir=cache))
    done = False
    try:
        for file, sha256 in remote.files.items():
            _download(base + file, tmp / file, sha256)
        try:
            ds = read(tmp)
        except KerasCNNError as exc:
            raise FetchError(f"the downloaded files are not {name}: {exc}") from None
        target = cache / remote.into
        for entry in remote.keep or tuple(remote.files):
            _move(tmp / entry, target / entry)
        ds.source = ds.source.replace(str(tmp), str(target))
        print(f"Saved {name} in {target}", file=sys.stderr, flush=True)
        done = True
        return ds
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in created if not done else ():
            try:
                folder.rmdir()  # only if empty: never what another process put there
            except OSError:
                break


def fetch_or_fail(
    name: str, data_dir, tried: list[str], how: str, read: Callable[[Path], Dataset]
) -> Dataset:
    """The last resort of a named set that no place in ``tried`` holds: fetched (see the module
    docstring), or DatasetNotFoundError listing ``tried``, ``how`` to get it, and why the fetch
    failed. Nothing is fetched with a ``data_dir`` or when downloads are off."""
    if data_dir is not None or not downloads_allowed():
        raise not_found(name, tried, how, data_dir=data_dir)
    remote = REMOTES[name]
    try:
        return fetch(name, read)
    except FetchError as exc:
        try:
            origin = base_url(remote)
        except FetchError:
            origin = f"${URL_ENV}"
        target = keras_cache() / remote.into
        failed = f"Fetching it from {origin} into {target} failed: {exc}; nothing was kept."
        raise not_found(name, tried, how, failed, data_dir=data_dir) from None
