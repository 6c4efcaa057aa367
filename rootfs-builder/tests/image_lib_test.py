"""Unit tests of rootfs-builder/image_lib.py (run by meson test as rootfs_builder_image_lib)."""

import os
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import image_lib  # noqa: E402


def fake_module(depends="", softdep=None, signed=False):
    body = b"\x7fELF" + b"\0" * 32 + b"\0license=GPL\0depends=" + depends.encode() + b"\0"
    if softdep:
        body += b"softdep=" + softdep.encode() + b"\0"
    if signed:
        sig = b"S" * 300
        body += sig + struct.pack(">BBBBBxxxI", 0, 0, 0, 0, 0, len(sig)) + image_lib.SIGNATURE_MAGIC
    return body


class ModuleOrderTest(unittest.TestCase):
    MODULES = {
        "ext4": fake_module("jbd2,crc16,mbcache", "pre: crypto-crc32c"),
        "jbd2": fake_module("", "pre: crypto-crc32c"),
        "crc16": fake_module(), "mbcache": fake_module(), "crc32c_generic": fake_module(),
        "9p": fake_module("netfs,9pnet"), "9pnet": fake_module("netfs"), "netfs": fake_module(),
        "9pnet_virtio": fake_module("9pnet"),
    }

    def order(self, wanted, builtin=(), modules=None):
        modules = modules or self.MODULES
        return image_lib.module_load_order(
            wanted, lambda n: image_lib.modinfo_dependencies(modules[n]), set(builtin), set(modules))

    def test_dependencies_come_first_and_once(self):
        order = self.order(["ext4", "9p", "9pnet_virtio"])
        self.assertEqual(len(order), len(set(order)))
        for before, after in [("crc32c_generic", "jbd2"), ("jbd2", "ext4"), ("crc16", "ext4"),
                              ("mbcache", "ext4"), ("netfs", "9pnet"), ("9pnet", "9p"), ("9pnet", "9pnet_virtio")]:
            self.assertLess(order.index(before), order.index(after), (before, after, order))

    def test_conditional_groups_tag_only_what_they_alone_need(self):
        plan = image_lib.module_load_plan(
            [(None, ["ext4"]), ("virtio=0x0009", ["9p", "9pnet_virtio"]), ("virtio=0x0013", ["crc16"])],
            lambda n: image_lib.modinfo_dependencies(self.MODULES[n]), set(), set(self.MODULES))
        tags = dict(plan)
        self.assertIsNone(tags["ext4"])
        self.assertIsNone(tags["crc16"])  # ext4 needs it whatever the condition says
        self.assertEqual(tags["9p"], "virtio=0x0009")
        self.assertEqual(tags["netfs"], "virtio=0x0009")
        names = [n for n, _ in plan]
        self.assertLess(names.index("netfs"), names.index("9p"))

    def test_builtin_modules_are_skipped(self):
        self.assertEqual(self.order(["ext4"], builtin=["ext4"]), [])
        self.assertNotIn("crc16", self.order(["ext4"], builtin=["crc16"]))

    def test_a_missing_module_names_who_needs_it(self):
        modules = dict(self.MODULES)
        del modules["netfs"]
        with self.assertRaisesRegex(ValueError, r"netfs \(needed by 9p\)"):
            self.order(["9p"], modules=modules)

    def test_a_cycle_is_an_error(self):
        modules = {"a": fake_module("b"), "b": fake_module("a")}
        with self.assertRaisesRegex(ValueError, "cycle"):
            self.order(["a"], modules=modules)

    def test_names_are_normalised(self):
        self.assertEqual(image_lib.module_name("kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko.xz"),
                         "vmw_vsock_virtio_transport")
        self.assertEqual(image_lib.module_name("kernel/crypto/crc32c-generic.ko"), "crc32c_generic")


class SignatureTest(unittest.TestCase):
    def test_signature_is_stripped(self):
        unsigned = fake_module("x")
        self.assertEqual(image_lib.strip_module_signature(fake_module("x", signed=True)), unsigned)
        self.assertEqual(image_lib.strip_module_signature(unsigned), unsigned)


class PayloadTest(unittest.TestCase):
    def test_finds_zstd_payload_of_an_elf(self):
        elf = b"\x7fELF" + os.urandom(4096)
        frame = subprocess.run(["zstd", "-q", "-c"], input=elf, capture_output=True, check=True).stdout
        bzimage = b"MZ" + b"\0" * 1000 + frame + b"trailer"
        offsets = image_lib.compressed_payload_offsets(bzimage)
        self.assertIn((1002, "zstd"), offsets)
        out = subprocess.run(["zstd", "-dcq"], input=bzimage[1002:], capture_output=True).stdout
        self.assertTrue(image_lib.is_elf(out))
        self.assertEqual(out, elf)


class CpioTest(unittest.TestCase):
    def test_archive_unpacks_with_cpio_and_is_reproducible(self):
        entries = image_lib.initrd_entries(b"#!init", [("erofs", None, b"module"), ("9p", "virtio=0x0009", b"m")],
                                           busybox=b"bb")
        archive = image_lib.newc_archive(entries)
        self.assertEqual(archive, image_lib.newc_archive(entries))
        with tempfile.TemporaryDirectory() as d:
            subprocess.run(["cpio", "-id", "--quiet"], input=archive, cwd=d, check=True)
            with open(os.path.join(d, "init"), "rb") as f:
                self.assertEqual(f.read(), b"#!init")
            self.assertTrue(os.access(os.path.join(d, "init"), os.X_OK))
            with open(os.path.join(d, image_lib.LOAD_ORDER_PATH)) as f:
                self.assertEqual(f.read(), "erofs.ko\n9p.ko virtio=0x0009\n")
            self.assertEqual(os.readlink(os.path.join(d, "bin", "sh")), "busybox")
            self.assertTrue(os.path.isdir(os.path.join(d, "proc")))

    def test_a_kernel_without_modules_gets_no_lib_modules(self):
        archive = image_lib.newc_archive(image_lib.initrd_entries(b"#!init", []))
        with tempfile.TemporaryDirectory() as d:
            subprocess.run(["cpio", "-id", "--quiet"], input=archive, cwd=d, check=True)
            self.assertEqual(sorted(os.listdir(d)), ["dev", "init", "proc", "run", "sys", "tmp"])


FRAGMENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kernel", "guest.config")


class KconfigTest(unittest.TestCase):
    def test_parse(self):
        c = image_lib.parse_kconfig('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_S="-x"\n# comment\nCONFIG_M=m\n')
        self.assertEqual(c, {"CONFIG_A": "y", "CONFIG_B": "n", "CONFIG_S": '"-x"', "CONFIG_M": "m"})

    def test_unmet_names_what_kconfig_dropped(self):
        fragment = "CONFIG_MISC_FILESYSTEMS=y\nCONFIG_EROFS_FS=y\nCONFIG_LOCALVERSION=\"-k\"\n# CONFIG_MODULES is not set\n"
        # What allnoconfig gives when EROFS's menu is off: EROFS_FS absent from .config.
        config = "# CONFIG_MISC_FILESYSTEMS is not set\nCONFIG_LOCALVERSION=\"-k\"\n"
        self.assertEqual(image_lib.unmet_fragment_options(fragment, config),
                         [("CONFIG_MISC_FILESYSTEMS", "y", "n"), ("CONFIG_EROFS_FS", "y", "n")])
        self.assertEqual(image_lib.unmet_fragment_options(fragment, fragment), [])

    def test_the_fragment_builds_everything_in(self):
        values = image_lib.parse_kconfig(open(FRAGMENT).read())
        self.assertNotIn("m", values.values())
        self.assertNotIn("CONFIG_MODULES", values)  # allnoconfig leaves modules off


if __name__ == "__main__":
    result = unittest.main(exit=False).result
    failed = len(result.failures) + len(result.errors)
    # The line ci/test adds up over every test binary.
    print(f"kata-test-summary: passed={result.testsRun - failed - len(result.skipped)} failed={failed} "
          f"skipped={len(result.skipped)}")
    sys.exit(1 if failed else 0)
