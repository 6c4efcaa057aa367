#!/usr/bin/env python3
"""Test fixture: an OCI image layout tar for `ctr image import` (no registry here), one
uncompressed layer.

  make_oci_image.py OUT.tar NAME           busybox-static: /bin/busybox and applet links
                                           (NAME e.g. docker.io/library/kata-busybox:latest)
  make_oci_image.py OUT.tar NAME PAUSE     a pod's pause image: the static PAUSE binary as
                                           /pause, its entrypoint
"""
import hashlib
import io
import json
import sys
import tarfile


def blob(data):
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


APPLETS = ("sh", "echo", "cat", "ls", "sleep", "true", "uname", "id", "nc", "hostname",
           "readlink", "mkdir", "wget", "head", "grep")


def layer_tar(pause):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add_file(path, source):
            with open(source, "rb") as f:
                data = f.read()
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))

        if pause:
            add_file("pause", pause)
            return buf.getvalue()
        for d in ("bin", "dev", "proc", "sys", "tmp", "etc"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        add_file("bin/busybox", "/bin/busybox")
        for applet in APPLETS:
            link = tarfile.TarInfo("bin/" + applet)
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
    return buf.getvalue()


def main():
    out, name = sys.argv[1], sys.argv[2]
    pause = sys.argv[3] if len(sys.argv) > 3 else None
    layer_digest, layer = blob(layer_tar(pause))
    run = {"Entrypoint": ["/pause"]} if pause else {"Env": ["PATH=/bin"], "Cmd": ["sh"]}
    config = {"architecture": "amd64", "os": "linux", "config": run,
              "rootfs": {"type": "layers", "diff_ids": [layer_digest]}}
    config_digest, config_bytes = blob(json.dumps(config).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": config_digest, "size": len(config_bytes)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                            "digest": layer_digest, "size": len(layer)}]}
    manifest_digest, manifest_bytes = blob(json.dumps(manifest).encode())
    index = {"schemaVersion": 2,
             "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": manifest_digest, "size": len(manifest_bytes),
                            "annotations": {"io.containerd.image.name": name,
                                            "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]}}]}
    with tarfile.open(out, "w") as tar:
        def add(path, data):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        add("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        add("index.json", json.dumps(index).encode())
        for digest, data in ((layer_digest, layer), (config_digest, config_bytes), (manifest_digest, manifest_bytes)):
            add("blobs/sha256/" + digest.split(":")[1], data)


if __name__ == "__main__":
    main()
