"""Code bytes per crate of a wasm module, from its name section (use rustc's raw output:
wasm-bindgen drops the names).

Usage: python3 benches/wasm-code-size.py ~/.cache/genlab/target/wasm32-unknown-unknown/release/genlab.wasm
"""
import collections
import re
import sys


def leb(data, i):
    result = shift = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def sections(data):
    i, found = 8, {}
    while i < len(data):
        sid = data[i]
        size, i = leb(data, i + 1)
        if sid == 0:
            length, j = leb(data, i)
            found[data[j:j + length].decode()] = (j + length, i + size)
        else:
            found[sid] = (i, i + size)
        i += size
    return found


def imported_functions(data, start):
    count, j = leb(data, start)
    functions = 0
    for _ in range(count):
        for _ in range(2):  # module and field names
            length, j = leb(data, j)
            j += length
        kind = data[j]
        j += 1
        if kind == 0:
            _, j = leb(data, j)
            functions += 1
        elif kind == 1:
            j += 1
            flags, j = leb(data, j)
            _, j = leb(data, j)
            if flags & 1:
                _, j = leb(data, j)
        elif kind == 2:
            flags, j = leb(data, j)
            _, j = leb(data, j)
            if flags & 1:
                _, j = leb(data, j)
        elif kind == 3:
            j += 2
        else:
            j += 1
            _, j = leb(data, j)
    return functions


def crate_of(name):
    match = re.match(r"_ZN(\d+)", name)
    if not match:
        return name[:25]
    part = name[match.end():match.end() + int(match.group(1))]
    if part.startswith("_$LT$"):
        inner = re.findall(r"([a-z_][a-z0-9_]*)\.\.", part)
        return inner[0] if inner else part[:20]
    return part


def main(path):
    data = open(path, "rb").read()
    found = sections(data)
    offset = imported_functions(data, found[2][0]) if 2 in found else 0
    count, j = leb(data, found[10][0])
    sizes = []
    for _ in range(count):
        size, j = leb(data, j)
        sizes.append(size)
        j += size
    names = {}
    if "name" in found:
        j, end = found["name"]
        while j < end:
            sub = data[j]
            size, j = leb(data, j + 1)
            stop = j + size
            if sub == 1:
                entries, j = leb(data, j)
                for _ in range(entries):
                    index, j = leb(data, j)
                    length, j = leb(data, j)
                    names[index] = data[j:j + length].decode("utf8", "replace")
                    j += length
            j = stop
    per_crate = collections.Counter()
    for k, size in enumerate(sizes):
        per_crate[crate_of(names.get(k + offset, "?"))] += size
    print(f"code: {sum(sizes) / 1e6:.2f} MB in {len(sizes)} functions")
    for crate, size in per_crate.most_common(25):
        print(f"{size / 1e6:7.2f} MB  {crate}")


if __name__ == "__main__":
    main(sys.argv[1])
