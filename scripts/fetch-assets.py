#!/usr/bin/env python3
"""Extract named files from downloaded wheels/sdists and check them against a sha256 list.

usage: fetch-assets.py SHA256_LIST DEST_DIR ARCHIVE...

Every file named in SHA256_LIST is looked up by basename inside the archives
(.whl/.zip or .tar.gz), written to DEST_DIR, and its sha256 compared with the
list. A file already in DEST_DIR with the right hash is left alone. Exits 1
with one line per problem when something is missing or does not match.
"""
import hashlib
import os
import sys
import tarfile
import zipfile


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def members(archive):
    """Yields (basename, reader) for every regular file in the archive."""
    if archive.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if not info.is_dir():
                    yield os.path.basename(info.filename), (lambda i=info: z.read(i))
    elif archive.endswith((".tar.gz", ".tgz")):
        with tarfile.open(archive, "r:gz") as t:
            for m in t.getmembers():
                if m.isfile():
                    yield os.path.basename(m.name), (lambda m=m: t.extractfile(m).read())


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    listing, dest, archives = sys.argv[1], sys.argv[2], sys.argv[3:]
    want = {}
    with open(listing) as f:
        for line in f:
            if line.strip():
                digest, name = line.split()
                want[name] = digest
    os.makedirs(dest, exist_ok=True)
    todo = {n for n, d in want.items() if not (os.path.exists(os.path.join(dest, n)) and sha256(os.path.join(dest, n)) == d)}
    for archive in archives:
        if not todo:
            break
        for name, read in members(archive):
            if name in todo:
                tmp = os.path.join(dest, "." + name + ".part")
                with open(tmp, "wb") as out:
                    out.write(read())
                os.replace(tmp, os.path.join(dest, name))
                todo.discard(name)
    problems = []
    for name, digest in want.items():
        path = os.path.join(dest, name)
        if not os.path.exists(path):
            problems.append(f"setup: {name}: not found in {', '.join(os.path.basename(a) for a in archives) or 'any archive'}; delete .cache/setup and re-run scripts/setup")
        else:
            got = sha256(path)
            if got != digest:
                problems.append(f"setup: {path}: sha256 {got} does not match the expected {digest} (listed in {listing}); delete the file and .cache/setup, then re-run scripts/setup")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
