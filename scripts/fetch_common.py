"""What scripts/fetch-data.sh and scripts/fetch-air.sh share: logging under the script's name,
SHA-256 of files, atomic writes and copies, and the program id that invalidates their caches.
Standard library only."""
import hashlib
import os
import shutil
import sys


class Reporter:
    def __init__(self, name):
        self.name = name

    def log(self, msg):
        print(f"{self.name}: {msg}", flush=True)

    def fail(self, msg):
        print(f"{self.name}: error: {msg}", file=sys.stderr)
        sys.exit(1)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def program_id(script):
    """The SHA-256 of `script` and of this module: any change to either rebuilds its cache."""
    return hashlib.sha256((sha256_file(script) + sha256_file(__file__)).encode()).hexdigest()


def write_atomic(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def copy_atomic(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    tmp = f"{dst}.tmp{os.getpid()}"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
