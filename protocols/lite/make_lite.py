#!/usr/bin/env python3
"""Builds the agent's protocols for protobuf's lite runtime.

The guest's agent is a static binary: protobuf's full runtime (descriptors, reflection,
text format) is about 1.6 MiB of its text, and it needs none of it. Each .proto is copied
with `option optimize_for = LITE_RUNTIME;` and protoc generates from the copies. A lite
file may import only lite files, so the well-known types the protocols use (Empty, Any)
are copied too, as protocols/<name>.proto: same package and messages, so the same wire
bytes and C++ names. The host keeps the full runtime (it reads config.json through
descriptors).

usage: make_lite.py PROTOC OUT_DIR INPUT.proto...   (generates OUT_DIR/<name>.pb.{h,cc};
OUT_DIR's parent is the include root, as the build root is for protocols/)
"""
import os
import re
import subprocess
import sys

WELL_KNOWN = re.compile(r'import\s+"google/protobuf/(empty|any)\.proto"\s*;')


def lite_copy(text: str, name: str) -> str:
    text = WELL_KNOWN.sub(r'import "protocols/\1.proto";', text)
    text = re.sub(r'^option\s+optimize_for\s*=.*$', '', text, flags=re.M)
    package = re.search(r'^package\s+[\w.]+\s*;\s*$', text, re.M)
    if package is None:
        sys.exit(f"make_lite.py: {name}: no package line to put the option after")
    return text[:package.end()] + '\noption optimize_for = LITE_RUNTIME;' + text[package.end():]


def main() -> None:
    protoc, out_dir, inputs = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    root = os.path.dirname(os.path.abspath(out_dir))
    names = []
    for path in inputs:
        name = os.path.basename(path)
        with open(path, encoding='utf-8') as f:
            text = f.read()
        with open(os.path.join(out_dir, name), 'w', encoding='utf-8') as f:
            f.write(lite_copy(text, name))
        names.append('protocols/' + name)
    subprocess.run([protoc, '--proto_path=' + root, '--cpp_out=' + root] + names, check=True)


if __name__ == '__main__':
    main()
