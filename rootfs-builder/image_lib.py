"""The pure parts of build-image: module ordering, signature stripping, kernel payload
location and the initrd's cpio archive. No I/O here (tests: rootfs-builder/tests/)."""

import re
import struct

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
XZ_MAGIC = b"\xfd7zXZ\x00"
SIGNATURE_MAGIC = b"~Module signature appended~\n"
LOAD_ORDER_PATH = "lib/modules/load-order"


def compressed_payload_offsets(data):
    """Offsets of candidate compressed payloads in a bzImage, in file order."""
    found = []
    for magic, kind in ((ZSTD_MAGIC, "zstd"), (XZ_MAGIC, "xz")):
        start = 0
        while (i := data.find(magic, start)) != -1:
            found.append((i, kind))
            start = i + 1
    return sorted(found)


def is_elf(data):
    return data[:4] == b"\x7fELF"


def module_name(path):
    """kernel/fs/9p/9p.ko.xz -> 9p; dashes and underscores are the same to the kernel."""
    base = path.rsplit("/", 1)[-1]
    return base.split(".ko", 1)[0].replace("-", "_")


def module_index(modules_order_text):
    return {module_name(line.strip()): line.strip() for line in modules_order_text.splitlines() if line.strip()}


def builtin_module_names(modules_builtin_text):
    return {module_name(line.strip()) for line in modules_builtin_text.splitlines() if line.strip()}


def modinfo_dependencies(module_bytes):
    """(hard dependencies, soft "pre:" dependencies) from a module's .modinfo strings."""
    fields = dict(re.findall(rb"\0(depends|softdep)=([^\0]*)", module_bytes))
    depends = [d.decode() for d in fields.get(b"depends", b"").split(b",") if d]
    pre = []
    soft = fields.get(b"softdep", b"").decode()
    # "pre: a b post: c": only what must be there before.
    m = re.search(r"pre:\s*([^:]*?)(?:\s+post:.*)?$", soft)
    if m:
        pre = m.group(1).split()
    return [module_name(d) for d in depends], pre


def resolve_alias(name, available):
    """A softdep names an alias such as crypto-crc32c: the generic module serves it (under
    TCG the CPU-specific crc32c-intel cannot load)."""
    if name.startswith("crypto-"):
        base = module_name(name[len("crypto-"):])
        for candidate in (base + "_generic", base):
            if candidate in available:
                return candidate
        return None
    name = module_name(name)
    return name if name in available else None


def module_load_order(wanted, modinfo, builtin, available):
    """Every module in `wanted` with its dependencies, each after what it needs.

    modinfo(name) -> (depends, softdep pre) for a module file; builtin names need no loading.
    A wanted module that is neither built in nor available is an error."""
    order, state = [], {}

    def visit(name, chain):
        if name in builtin or state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ValueError("module dependency cycle: " + " -> ".join(chain + [name]))
        if name not in available:
            raise ValueError(f"module {name} (needed by {' -> '.join(chain) or 'the agent'}) is not in the package")
        state[name] = "visiting"
        depends, pre = modinfo(name)
        for soft in pre:
            resolved = resolve_alias(soft, available)
            if resolved is not None:
                visit(resolved, chain + [name])
        for dep in depends:
            visit(dep, chain + [name])
        state[name] = "done"
        order.append(name)

    for name in wanted:
        visit(module_name(name), [])
    return order


def module_load_plan(groups, modinfo, builtin, available):
    """[(name, condition)] in load order for groups [(condition, wanted names)].

    condition None: always loaded; "virtio=0x0013": only when the VM has a virtio device of
    that id (the vsock and 9p stacks cost boot time and serve only VMs given those devices).
    A module that an unconditional group also needs is always loaded; one that two different
    conditions need is always loaded too."""
    everything = module_load_order([m for _, wanted in groups for m in wanted], modinfo, builtin, available)
    needed_by = {}
    for condition, wanted in groups:
        for name in module_load_order(wanted, modinfo, builtin, available):
            needed_by.setdefault(name, set()).add(condition)
    plan = []
    for name in everything:
        conditions = needed_by[name]
        plan.append((name, next(iter(conditions)) if len(conditions) == 1 else None))
    return plan


def strip_module_signature(module_bytes):
    """The module without its appended signature: loading skips the signature check, which
    took most of the insmod phase under TCG (it taints the kernel; Debian does not force
    signatures). Layout: module | signature | struct module_signature (12 bytes) | magic."""
    if not module_bytes.endswith(SIGNATURE_MAGIC):
        return module_bytes
    info_end = len(module_bytes) - len(SIGNATURE_MAGIC)
    info = module_bytes[info_end - 12:info_end]
    (sig_len,) = struct.unpack(">I", info[8:12])
    end = info_end - 12 - sig_len
    if end <= 0:
        raise ValueError("module signature is longer than the module")
    return module_bytes[:end]


def initrd_entries(init, modules, busybox=None):
    """(path, mode, content) in archive order; content None for a directory, str for a symlink.
    modules: [(name, condition, bytes)]; the load order file says "name.ko [condition]"."""
    entries = [(d, 0o40755, None) for d in ("dev", "proc", "sys", "run", "tmp")]
    entries.append(("init", 0o100755, init))
    if modules:  # a kernel with everything built in gets no lib/modules at all
        entries += [("lib", 0o40755, None), ("lib/modules", 0o40755, None)]
        for name, _, data in modules:
            entries.append((f"lib/modules/{name}.ko", 0o100644, data))
        lines = "".join(f"{n}.ko {c}\n" if c else f"{n}.ko\n" for n, c, _ in modules)
        entries.append((LOAD_ORDER_PATH, 0o100644, lines.encode()))
    if busybox is not None:
        entries.append(("bin", 0o40755, None))
        entries.append(("bin/busybox", 0o100755, busybox))
        entries.append(("bin/sh", 0o120777, "busybox"))
    return entries


def newc_archive(entries):
    """A cpio "newc" archive, reproducible: fixed inode numbers, owner root, mtime 0."""
    out = bytearray()

    def pad4():
        out.extend(b"\0" * (-len(out) % 4))

    def header(ino, mode, size, name, nlink):
        fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(name) + 1, 0]
        out.extend(b"070701" + b"".join(b"%08X" % f for f in fields))
        out.extend(name.encode() + b"\0")
        pad4()

    for ino, (path, mode, content) in enumerate(entries, start=1):
        if content is None:
            data = b""
        elif isinstance(content, str):
            data = content.encode()
        else:
            data = content
        header(ino, mode, len(data), path, 2 if content is None else 1)
        out.extend(data)
        pad4()
    header(0, 0, 0, "TRAILER!!!", 1)
    return bytes(out)


KCONFIG_SET_RE = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
KCONFIG_UNSET_RE = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")


def parse_kconfig(text):
    """A kernel .config (or a fragment) as {CONFIG_NAME: value}; "is not set" reads as "n"."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if m := KCONFIG_SET_RE.match(line):
            values[m.group(1)] = m.group(2)
        elif m := KCONFIG_UNSET_RE.match(line):
            values[m.group(1)] = "n"
    return values


def unmet_fragment_options(fragment_text, config_text):
    """The fragment's settings the resulting .config does not have, as (name, wanted, got):
    Kconfig drops an option whose dependencies are off without a word, so the build checks."""
    config = parse_kconfig(config_text)
    return [(name, wanted, config.get(name, "n"))
            for name, wanted in parse_kconfig(fragment_text).items()
            if config.get(name, "n") != wanted]
