"""Builds the guest kernel from Debian's linux-source-6.12 and rootfs-builder/kernel/guest.config
(everything built in, no modules), once per build directory. Used by build-image; see
docs/rootfs-builder.md.

Layout under DIR (build-image's --out) /kernel: src-<version>/ (the unpacked source, never
written to), obj/ (make O=, kept so a fragment change rebuilds only what it touches),
vmlinux, vmlinux.config, stamp, build.log.
"""

import hashlib
import os
import shutil
import subprocess
import sys

import image_lib

SOURCE_PACKAGE = "linux-source-6.12"
SOURCE_TARBALL = "/usr/src/linux-source-6.12.tar.xz"
FRAGMENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel", "guest.config")


def log(msg):
    print(f"build-image: {msg}", file=sys.stderr, flush=True)


def source_version():
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status} ${Version}", SOURCE_PACKAGE],
                         capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.startswith("install ok installed") \
            or not os.path.isfile(SOURCE_TARBALL):
        sys.exit(f"build-image: the minimal kernel needs {SOURCE_PACKAGE} "
                 f"(apt-get install {SOURCE_PACKAGE}; ci/install-deps does), or pass --kernel debian")
    return out.stdout.split()[-1]


def unpack_source(kernel_dir, version):
    src = os.path.join(kernel_dir, f"src-{version}")
    if not os.path.isdir(src):
        for old in os.listdir(kernel_dir):
            if old.startswith("src-"):
                shutil.rmtree(os.path.join(kernel_dir, old))
        # A new source version invalidates every object built from the old one.
        shutil.rmtree(os.path.join(kernel_dir, "obj"), ignore_errors=True)
        partial = src + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
        log(f"unpacking {SOURCE_TARBALL} ({version})")
        subprocess.run(["tar", "-xf", SOURCE_TARBALL, "-C", partial, "--strip-components=1"], check=True)
        os.rename(partial, src)
    return src


def make(src, obj, log_file, *targets, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    argv = ["make", "-C", src, f"O={obj}", "ARCH=x86_64", *targets]
    with open(log_file, "a") as out:
        out.write("$ " + " ".join(argv) + "\n")
        out.flush()
        rc = subprocess.run(argv, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        tail = open(log_file, errors="replace").read().splitlines()[-30:]
        sys.exit("build-image: kernel " + " ".join(targets) + f" failed (rc {rc}); end of {log_file}:\n"
                 + "\n".join(tail))


def build(out_dir):
    """Returns (vmlinux path, its .config path, a stamp naming exactly this kernel)."""
    kernel_dir = os.path.join(out_dir, "kernel")
    os.makedirs(kernel_dir, exist_ok=True)
    version = source_version()
    fragment = open(FRAGMENT, "rb").read()
    stamp = hashlib.sha256()
    for part in (fragment, version.encode(), open(__file__, "rb").read()):
        stamp.update(hashlib.sha256(part).digest())
    stamp = "minimal " + version + " " + stamp.hexdigest()
    vmlinux = os.path.join(kernel_dir, "vmlinux")
    config = os.path.join(kernel_dir, "vmlinux.config")
    stamp_path = os.path.join(kernel_dir, "stamp")
    if (os.path.exists(vmlinux) and os.path.exists(config) and os.path.exists(stamp_path)
            and open(stamp_path).read().strip() == stamp):
        return vmlinux, config, stamp

    src = unpack_source(kernel_dir, version)
    obj = os.path.join(kernel_dir, "obj")
    os.makedirs(obj, exist_ok=True)
    log_file = os.path.join(kernel_dir, "build.log")
    open(log_file, "w").close()
    make(src, obj, log_file, "allnoconfig", env_extra={"KCONFIG_ALLCONFIG": FRAGMENT})
    unmet = image_lib.unmet_fragment_options(fragment.decode(), open(os.path.join(obj, ".config")).read())
    if unmet:
        sys.exit("build-image: Kconfig did not take these lines of " + FRAGMENT
                 + " (an unmet dependency, or a name this source does not have):\n"
                 + "\n".join(f"  {n}={w} (got {g})" for n, w, g in unmet))
    jobs = str(os.cpu_count() or 1)
    log(f"building the guest kernel ({SOURCE_PACKAGE} {version}, {os.path.basename(FRAGMENT)}, "
        f"make -j{jobs} vmlinux; about 13 min on 2 cores the first time, log in {log_file})")
    # A fixed build identity, so the same inputs give the same vmlinux.
    make(src, obj, log_file, f"-j{jobs}", "vmlinux",
         env_extra={"KBUILD_BUILD_USER": "kata", "KBUILD_BUILD_HOST": "rootfs-builder",
                    "KBUILD_BUILD_TIMESTAMP": "1970-01-01", "KBUILD_BUILD_VERSION": "1"})
    for src_path, dst in ((os.path.join(obj, "vmlinux"), vmlinux), (os.path.join(obj, ".config"), config)):
        shutil.copyfile(src_path, dst + ".tmp")
        os.replace(dst + ".tmp", dst)
    with open(stamp_path, "w") as f:
        f.write(stamp + "\n")
    return vmlinux, config, stamp
