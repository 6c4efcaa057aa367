#!/usr/bin/env python3
"""Test fixture: an OCI image layout tar for `ctr image import` (no registry here), one
uncompressed layer.

  make_oci_image.py OUT.tar NAME           busybox-static: /bin/busybox and applet links
                                           (NAME e.g. docker.io/library/kata-busybox:latest)
  make_oci_image.py OUT.tar NAME PAUSE     a pod's pause image: the static PAUSE binary as
                                           /pause, its entrypoint
  make_oci_image.py OUT.tar NAME --layered three layers over busybox-static: files added,
                                           changed and deleted (whiteouts) across layers, an
                                           opaque directory, a directory deleted whole; /data
                                           a VOLUME
"""
import hashlib
import io
import json
import sys
import tarfile


def blob(data):
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


APPLETS = ("sh", "echo", "cat", "ls", "sleep", "true", "uname", "id", "nc", "hostname",
           "readlink", "mkdir", "wget", "head", "grep", "find", "sort", "md5sum", "stat", "xargs")


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


def layered_tars():
    """The busybox layer plus three more; each a (path, kind, data) list, kind file/dir/wh."""
    def tar_of(entries):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path, kind, data in entries:
                info = tarfile.TarInfo(path)
                if kind == "dir":
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                elif kind == "link":
                    info.type, info.linkname = tarfile.SYMTYPE, data
                    tar.addfile(info)
                else:  # file; whiteouts are empty files named .wh.<name>
                    info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
                    tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()
    one = [("data", "dir", b""), ("data/keep", "file", b"base\n"), ("data/change", "file", b"v1\n"),
           ("data/gone", "file", b"gone\n"), ("opq", "dir", b""), ("opq/old1", "file", b"o1\n"),
           ("opq/old2", "file", b"o2\n"), ("dir-gone", "dir", b""), ("dir-gone/a", "file", b"a\n"),
           ("etc/motd", "link", "/data/keep")]
    two = [("data", "dir", b""), ("data/change", "file", b"v2\n"), ("data/.wh.gone", "file", b""),
           ("opq", "dir", b""), ("opq/.wh..wh..opq", "file", b""), ("opq/new", "file", b"new\n"),
           (".wh.dir-gone", "file", b""), ("added", "file", b"two\n"), ("later-gone", "file", b"lg\n")]
    three = [("data", "dir", b""), ("data/change", "file", b"v3\n"), (".wh.later-gone", "file", b""),
             ("etc", "dir", b""), ("etc/three", "file", b"3\n"), ("dir-gone", "dir", b""),
             ("dir-gone/b", "file", b"back\n")]
    return [layer_tar(None)] + [tar_of(e) for e in (one, two, three)]


def main():
    out, name = sys.argv[1], sys.argv[2]
    arg = sys.argv[3] if len(sys.argv) > 3 else None
    pause = arg if arg and arg != "--layered" else None
    layers = [blob(t) for t in layered_tars()] if arg == "--layered" else [blob(layer_tar(pause))]
    run = {"Entrypoint": ["/pause"]} if pause else {"Env": ["PATH=/bin"], "Cmd": ["sh"]}
    if arg == "--layered":
        run["Volumes"] = {"/data": {}}  # CRI copies the image's /data into the volume it makes
    config = {"architecture": "amd64", "os": "linux", "config": run,
              "rootfs": {"type": "layers", "diff_ids": [d for d, _ in layers]}}
    config_digest, config_bytes = blob(json.dumps(config).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": config_digest, "size": len(config_bytes)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                            "digest": d, "size": len(data)} for d, data in layers]}
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
        for digest, data in layers + [(config_digest, config_bytes), (manifest_digest, manifest_bytes)]:
            add("blobs/sha256/" + digest.split(":")[1], data)


if __name__ == "__main__":
    main()
