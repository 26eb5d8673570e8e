#!/usr/bin/env bash
# Builds www/data/air-pm10.csv, the real multivariate time series of the CSDI demo: daily mean
# PM10 (µg/m³) at German rural background stations (AirBase), from the `air` matrix that the R
# package spacetime ships in data/air.rda (Debian r-cran-spacetime 1.2-8+dfsg-1).
# Subset: 2005-01-01 … 2009-12-31 and the stations with under 10 % missing days in that span.
# Output: first column `date` (YYYY-MM-DD), then one column per station named by its AirBase code
# (the order of the source matrix), an empty cell where the value is missing.
# No R is needed: the R serialization format (XDR, version 2 or 3, gzip/bzip2/xz compressed) is
# read below with the Python standard library. air.rda is pinned by SHA-256, and so is the CSV
# (the conversion is deterministic). The CSV is a build product: never edit it, rerun this script.
# Where air.rda comes from: $AIR_RDA, else the installed r-cran-spacetime, else the package's
# .deb fetched with `apt-get download` (2.8 MB, no dependencies, nothing installed) and cached
# under $GENLAB_CACHE/data/air. A warm run re-hashes the CSV in the clone and copies it if needed.
# Usage: scripts/fetch-air.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

command -v python3 >/dev/null || apt_install python3
export GENLAB_CACHE REPO_ROOT
export AIR_RDA="${AIR_RDA:-/usr/lib/R/site-library/spacetime/data/air.rda}"
export FETCH_AIR_SCRIPT="$REPO_ROOT/scripts/fetch-air.sh"
AIR_CACHE="$GENLAB_CACHE/data/air"

# Exit status 42: a build is needed and no air.rda with the pinned SHA-256 is at hand.
convert() {
  python3 - <<'PY'
import bz2, datetime, gzip, hashlib, json, lzma, os, struct, sys

# ---- pinned input and output ---------------------------------------------------------------
RDA_SHA256 = "1fb2eb299947fd525069b865d48fa88efd3dc8d2307e8779fe005b63eaa53981"  # air.rda, 711800 bytes
CSV_SHA256 = "34d8171994e23207176d23b6611935b073749458a92d1b3db433422f67086caa"
FIRST_DAY, LAST_DAY = datetime.date(2005, 1, 1), datetime.date(2009, 12, 31)
MAX_MISSING = 0.10  # a station is kept when strictly less than this fraction of its days is missing
OUT_REL = "www/data/air-pm10.csv"

CACHE = os.path.join(os.environ["GENLAB_CACHE"], "data", "air")
REPO = os.environ["REPO_ROOT"]
sys.path.insert(0, os.path.dirname(os.environ["FETCH_AIR_SCRIPT"]))
from fetch_common import Reporter, copy_atomic, program_id, sha256_file, write_atomic  # noqa: E402

PROGRAM_ID = program_id(os.environ["FETCH_AIR_SCRIPT"])  # any change to this script rebuilds
log, fail = Reporter("fetch-air").log, Reporter("fetch-air").fail


# ---- a reader of R's serialization format ---------------------------------------------------
# R Internals, "Serialization formats"; R's src/main/serialize.c is the reference. An .rda file is
# a compressed stream: "RDX2\n" or "RDX3\n", then one serialized pairlist whose tags are the
# object names. Serialized: "X\n" (XDR: big-endian), the format version (2 or 3), the writer's
# and the minimal reader's R versions, for version 3 the native encoding, then one item. An
# item starts with a 32-bit flags word: type in bits 0-7, "is object" bit 8, "has attributes"
# bit 9, "has tag" bit 10, and the "levels" (gp field; for strings the encoding) in bits 12-27.
# Items carry no length, so the whole stream is read in order, also the objects we do not need
# (the maps DE and DE_NUTS1: sp's S4 classes). Only the types this pinned file holds are read:
# symbols, pairlists, strings, logical/integer/double/raw vectors, lists, S4 objects and
# references to earlier symbols; any other type stops the script with its type code.
NILSXP, SYMSXP, LISTSXP, CHARSXP, LGLSXP, INTSXP, REALSXP = 0, 1, 2, 9, 10, 13, 14
STRSXP, VECSXP, RAWSXP, S4SXP, REFSXP, NILVALUE_SXP = 16, 19, 24, 25, 255, 254
HAS_ATTR, HAS_TAG = 1 << 9, 1 << 10
NA_INTEGER = -(1 << 31)
LATIN1_MASK = 1 << 2


class RObject:
    """One R value: `type` (an SEXP type code), `value` (a list for vectors, a list of
    (tag, value) for pairlists, a str for symbols and strings, None for NULL and S4 objects) and
    `attrs` (attribute name -> RObject)."""
    __slots__ = ("type", "value", "attrs")

    def __init__(self, type_, value=None, attrs=None):
        self.type, self.value, self.attrs = type_, value, attrs or {}

    def attr(self, name):
        return self.attrs.get(name)

    def classes(self):
        c = self.attr("class")
        return list(c.value) if c is not None else []


NULL = RObject(NILSXP)


class RReader:
    def __init__(self, data):
        self.data, self.pos, self.refs = data, 0, []

    def raw(self, n):
        if self.pos + n > len(self.data):
            fail(f"air.rda: the R stream ends early (byte {self.pos}, {n} more wanted)")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def int(self):
        return struct.unpack(">i", self.raw(4))[0]

    def length(self):
        n = self.int()
        if n == -1:  # a long vector: two more words, upper and lower half
            hi, lo = struct.unpack(">II", self.raw(8))
            n = (hi << 32) | lo
        if n < 0:
            fail(f"air.rda: negative length {n} at byte {self.pos}")
        return n

    def header(self):
        if self.raw(2) != b"X\n":
            fail("air.rda: not R's XDR serialization format")
        version, _writer, _min_reader = self.int(), self.int(), self.int()
        if version == 3:
            self.raw(self.int())  # the native encoding of the writer, e.g. "UTF-8"
        elif version != 2:
            fail(f"air.rda: serialization format version {version} (2 or 3 are read)")

    def attributes(self, flags):
        """The attributes that follow an item whose flags say it has some: a tagged pairlist."""
        if not flags & HAS_ATTR:
            return {}
        return dict(self.item().value)

    def item(self):
        flags = self.int()
        t = flags & 0xFF
        if t == REFSXP:  # an earlier symbol again: its 1-based index, inline or in the next word
            return self.refs[(flags >> 8 or self.int()) - 1]
        if t in (NILVALUE_SXP, NILSXP):
            return NULL
        if t == SYMSXP:  # its name (a CHARSXP); later uses are references
            obj = RObject(SYMSXP, self.item().value)
            self.refs.append(obj)
            return obj
        if t == LISTSXP:
            return self.pairlist(flags)
        if t == CHARSXP:
            n = self.int()
            if n == -1:
                return RObject(CHARSXP, None)  # NA_character_
            b = self.raw(n)
            latin1 = (flags >> 12) & LATIN1_MASK
            return RObject(CHARSXP, b.decode("latin-1") if latin1 else b.decode("utf-8"))
        if t in (LGLSXP, INTSXP):
            n = self.length()
            v = [None if x == NA_INTEGER else x for x in struct.unpack(f">{n}i", self.raw(4 * n))]
            if t == LGLSXP:
                v = [None if x is None else bool(x) for x in v]
        elif t == REALSXP:
            n = self.length()
            v = list(struct.unpack(f">{n}d", self.raw(8 * n)))  # NA_real_ is a NaN
        elif t == RAWSXP:
            v = self.raw(self.length())
        elif t in (STRSXP, VECSXP):
            v = [self.item() for _ in range(self.length())]
            if t == STRSXP:
                v = [s.value for s in v]
        elif t == S4SXP:
            v = None  # all of an S4 object is in its attributes (the slots)
        else:
            fail(f"air.rda: R type {t} at byte {self.pos - 4} is not read by this script")
        return RObject(t, v, self.attributes(flags))

    def pairlist(self, flags):
        """A pairlist, read iteratively (a long one would overflow Python's stack): each cell is
        [attributes] [tag] value, then the next cell's flags or the NULL that ends the list."""
        cells, attrs = [], None
        while True:
            a = self.attributes(flags)
            attrs = a if attrs is None else attrs  # those of the first cell are the list's
            tag = self.item().value if flags & HAS_TAG else None
            cells.append((tag, self.item()))
            flags = self.int()
            if flags & 0xFF in (NILVALUE_SXP, NILSXP):
                return RObject(LISTSXP, cells, attrs)
            if flags & 0xFF != LISTSXP:
                fail(f"air.rda: a pairlist ends in type {flags & 0xFF} at byte {self.pos - 4}")


def read_rda(raw):
    if raw[:2] == b"\x1f\x8b":
        data = gzip.decompress(raw)
    elif raw[:3] == b"BZh":
        data = bz2.decompress(raw)
    elif raw[:6] == b"\xfd7zXZ\x00":
        data = lzma.decompress(raw)
    else:
        data = raw
    if data[:5] not in (b"RDX2\n", b"RDX3\n"):
        fail("air.rda: not an R data file (RDX2/RDX3)")
    r = RReader(data[5:])
    r.header()
    top = r.item()
    if r.pos != len(r.data):
        fail(f"air.rda: {len(r.data) - r.pos} bytes after the saved objects")
    if top.type != LISTSXP:
        fail("air.rda: the saved objects are not a pairlist")
    return dict(top.value)


# ---- the PM10 subset -----------------------------------------------------------------------
def extract(objects):
    for name in ("air", "dates", "stations"):
        if name not in objects:
            fail(f"air.rda has no object {name!r} (it has {', '.join(objects)})")
    air, dates, stations = objects["air"], objects["dates"], objects["stations"]
    # air: numeric matrix [station, day], column-major, rownames = station codes.
    dim = air.attr("dim")
    if air.type != REALSXP or dim is None or len(dim.value) != 2:
        fail("air.rda: `air` is not a numeric matrix")
    n_st, n_days = dim.value
    codes = air.attr("dimnames").value[0].value
    if len(air.value) != n_st * n_days or len(codes) != n_st:
        fail("air.rda: `air` has inconsistent dimensions")
    # dates: class Date, days since 1970-01-01, one per column of air.
    if "Date" not in dates.classes() or len(dates.value) != n_days:
        fail("air.rda: `dates` is not a Date vector with one date per column of `air`")
    epoch = datetime.date(1970, 1, 1)
    days = [epoch + datetime.timedelta(days=int(d)) for d in dates.value]
    if any((b - a).days != 1 for a, b in zip(days, days[1:])):
        fail("air.rda: `dates` are not consecutive days")
    # stations: sp SpatialPoints; its coordinates' rownames must be the same codes.
    if stations.type != S4SXP or "SpatialPoints" not in stations.classes():
        fail("air.rda: `stations` is not an sp SpatialPoints object")
    coords = stations.attr("coords")
    if coords.attr("dimnames").value[0].value != codes:
        fail("air.rda: the station codes of `air` and `stations` differ")

    first, last = days.index(FIRST_DAY), days.index(LAST_DAY)
    span = range(first, last + 1)
    column = lambda s: [air.value[s + d * n_st] for d in span]  # column-major
    keep = []
    for s in range(n_st):
        values = column(s)
        missing = sum(v != v for v in values)  # NaN != NaN (NA_real_ is a NaN)
        if missing < MAX_MISSING * len(values):
            keep.append((codes[s], values))
    if any(v < 0 for _, values in keep for v in values if v == v):
        fail("air.rda: negative PM10 values")
    n_missing = sum(v != v for _, values in keep for v in values)
    return [days[d] for d in span], keep, n_missing


def number(v):
    if v != v:
        return ""
    s = repr(v)  # the shortest text that reads back to the same double
    return s[:-2] if s.endswith(".0") else s


def build():
    candidates = [os.environ["AIR_RDA"], os.path.join(CACHE, "air.rda")]
    path = next((p for p in candidates if os.path.isfile(p) and sha256_file(p) == RDA_SHA256), None)
    if path is None:
        for p in candidates:
            if os.path.isfile(p):
                log(f"{p}: SHA-256 {sha256_file(p)}, expected {RDA_SHA256}; not used")
        sys.exit(42)
    log(f"reading {path}")
    with open(path, "rb") as f:
        objects = read_rda(f.read())
    days, stations, n_missing = extract(objects)
    lines = [",".join(["date"] + [code for code, _ in stations])]
    for k, day in enumerate(days):
        lines.append(",".join([day.isoformat()] + [number(values[k]) for _, values in stations]))
    csv = ("\n".join(lines) + "\n").encode()
    got = hashlib.sha256(csv).hexdigest()
    if got != CSV_SHA256:
        fail(f"{OUT_REL}: SHA-256 {got}, expected {CSV_SHA256} (the conversion changed)")
    n_cells = len(days) * len(stations)
    summary = (f"{len(stations)} stations × {len(days)} days ({days[0]} … {days[-1]}), "
               f"{n_missing} of {n_cells} values missing ({100 * n_missing / n_cells:.2f} %)")
    write_atomic(os.path.join(CACHE, "air-pm10.csv"), csv)
    stamp = {"program": PROGRAM_ID, "sha256": got, "size": len(csv), "summary": summary}
    write_atomic(os.path.join(CACHE, "stamp.json"), json.dumps(stamp, indent=1).encode())
    return stamp


def cached_stamp():
    try:
        with open(os.path.join(CACHE, "stamp.json")) as f:
            stamp = json.load(f)
    except (OSError, ValueError):
        return None
    cache = os.path.join(CACHE, "air-pm10.csv")
    if stamp.get("program") != PROGRAM_ID or not os.path.isfile(cache) \
            or os.path.getsize(cache) != stamp.get("size"):
        return None
    return stamp


def main():
    stamp = cached_stamp() or build()
    dst, cache = os.path.join(REPO, OUT_REL), os.path.join(CACHE, "air-pm10.csv")
    if os.path.isfile(dst) and os.path.getsize(dst) == stamp["size"] and sha256_file(dst) == stamp["sha256"]:
        log(f"{OUT_REL} is up to date: {stamp['summary']}")
        return
    if sha256_file(cache) != stamp["sha256"]:
        os.remove(os.path.join(CACHE, "stamp.json"))
        stamp = build()
    copy_atomic(cache, dst)
    log(f"wrote {OUT_REL}: {stamp['summary']}")


main()
PY
}

# air.rda from the Debian package's .deb, without installing it (r-cran-spacetime would pull in
# R and some 600 other packages).
download_rda() {
  local tmp
  mkdir -p "$AIR_CACHE"
  tmp="$(mktemp -d "$AIR_CACHE/deb.XXXXXX")"
  echo "fetch-air: downloading the Debian package r-cran-spacetime (apt-get download)"
  if ! (cd "$tmp" && apt-get download -qq r-cran-spacetime 2>/dev/null); then
    as_root apt-get update -qq
    (cd "$tmp" && apt-get download -qq r-cran-spacetime)
  fi
  dpkg-deb --fsys-tarfile "$tmp"/r-cran-spacetime_*.deb \
    | tar -xO ./usr/lib/R/site-library/spacetime/data/air.rda >"$tmp/air.rda"
  mv "$tmp/air.rda" "$AIR_CACHE/air.rda"
  rm -rf "$tmp"
}

rc=0
convert || rc=$?
if [ "$rc" = 42 ]; then
  download_rda
  convert
elif [ "$rc" != 0 ]; then
  exit "$rc"
fi
