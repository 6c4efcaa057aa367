// The hot-plug manager's decisions and rollbacks against a scripted QMP server (the real QEMU
// path is in vm_e2e_test), and VMDK descriptors read back by qemu-img.

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <atomic>
#include <future>

#include "host-runtime/tests/scripted_qmp.h"
#include "host-runtime/vm/block_device_manager.h"
#include "host-runtime/vm/vmdk.h"
#include "libkata/testing/test_support.h"

using kata::runtime::AttachedBlock;
using kata::runtime::BlockAttachRequest;
using kata::runtime::BlockDeviceManager;
using kata::runtime::BlockFormat;
using kata::runtime::QmpClient;
using kata::runtime::testing::Event;
using kata::runtime::testing::ScriptedQmp;
using kata::testing::Capture;
using nlohmann::json;

TEST_CASE("block: QMP arguments for raw files, block nodes and VMDK", "[block]") {
  BlockAttachRequest raw{"/img/rootfs.ext4", BlockFormat::kRaw, false, "io_uring", true, "rootfs"};
  json args = kata::runtime::BlockdevAddArguments(raw, "drive-0", false);
  CHECK(args["driver"] == "raw");
  CHECK(args["read-only"] == false);
  CHECK(args["file"]["driver"] == "file");
  CHECK(args["file"]["aio"] == "io_uring");
  CHECK(args["file"]["cache"]["direct"] == true);
  CHECK(kata::runtime::BlockdevAddArguments(raw, "drive-0", true)["file"]["driver"] == "host_device");
  AttachedBlock b{"blk0", "drive-0", "03/00", 1};
  json dev = kata::runtime::DeviceAddArguments(raw, b);
  CHECK(dev == json{{"driver", "virtio-blk-pci"}, {"id", "blk0"}, {"drive", "drive-0"}, {"bus", "rp1"},
                    {"addr", "0x0"}, {"share-rw", true}, {"serial", "rootfs"}});
  BlockAttachRequest vmdk{"/img/layers.vmdk", BlockFormat::kVmdk, true, "threads", false, ""};
  json v = kata::runtime::BlockdevAddArguments(vmdk, "drive-1", false);
  CHECK(v["driver"] == "vmdk");
  CHECK(v["read-only"] == true);
  CHECK(v["force-share"] == true);
  CHECK(v["file"]["read-only"] == true);
  CHECK_FALSE(kata::runtime::DeviceAddArguments(vmdk, b).contains("share-rw"));
  CHECK(kata::runtime::RootPortPciPath(0) == "02/00");
  CHECK(kata::runtime::RootPortPciPath(14) == "10/00");
}

TEST_CASE("block: a failed device_add deletes the node and frees the port", "[block]") {
  kata::testing::TempDir dir;
  kata::testing::WriteFile(dir.Sub("disk.raw"), std::string(4096, 'x'));
  std::vector<json> seen;
  ScriptedQmp server(dir.Sub("qmp.sock"), [&](ScriptedQmp& s) {
    for (;;) {
      json c = s.Receive();
      if (c.is_null()) return;
      seen.push_back(c);
      const std::string cmd = c["execute"];
      if (cmd == "device_add" && seen.size() == 2) {
        s.Send(json{{"error", {{"class", "GenericError"}, {"desc", "Bus 'rp0' not found"}}}, {"id", c["id"]}}.dump());
      } else {
        s.Send(json{{"return", json::object()}, {"id", c["id"]}}.dump());
      }
    }
  });
  auto qmp = QmpClient::Connect(dir.Sub("qmp.sock"), absl::Seconds(5));
  REQUIRE(qmp.ok());
  BlockDeviceManager blocks(**qmp, 1);
  BlockAttachRequest req{dir.Sub("disk.raw"), BlockFormat::kRaw, false, "threads", false, ""};
  auto failed = blocks.Attach(req);
  REQUIRE_FALSE(failed.ok());
  CHECK(std::string(failed.status().message()).find("Bus 'rp0' not found") != std::string::npos);
  CHECK(std::string(failed.status().message()).find(dir.Sub("disk.raw")) != std::string::npos);
  REQUIRE(seen.size() == 3);
  CHECK(seen[2]["execute"] == "blockdev-del");
  CHECK(seen[2]["arguments"]["node-name"] == seen[0]["arguments"]["node-name"]);
  CHECK(blocks.Attached().empty());
  // The only port is free again.
  auto ok = blocks.Attach(req);
  INFO(ok.status());
  REQUIRE(ok.ok());
  CHECK(ok->pci_path == "02/00");
  CHECK(ok->device_id != "blk0");  // ids are never reused
  auto full = blocks.Attach(req);
  CHECK(full.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(blocks.Attach({dir.Sub("nope"), BlockFormat::kRaw, false, "threads", false, ""}).status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(blocks.Attach({dir.Sub("disk.raw"), BlockFormat::kRaw, false, "native", false, ""}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  qmp->reset();
}

TEST_CASE("block: disks planned for QEMU's command line take the first ports; hot-plugs follow them", "[block]") {
  kata::testing::TempDir dir;
  kata::testing::WriteFile(dir.Sub("upper.raw"), std::string(4096, 'x'));
  kata::testing::WriteFile(dir.Sub("lower.vmdk"), "# descriptor\n");
  const std::vector<BlockAttachRequest> requests = {
      {dir.Sub("upper.raw"), BlockFormat::kRaw, false, "threads", false, "rootfs-upper"},
      {dir.Sub("lower.vmdk"), BlockFormat::kVmdk, true, "threads", false, "rootfs-lower0"}};
  auto planned = kata::runtime::PlanColdPlug(requests, 3);
  INFO(planned.status());
  REQUIRE(planned.ok());
  REQUIRE(planned->size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    const auto& d = (*planned)[i];
    CHECK(d.block.device_id == "blk" + std::to_string(i));
    CHECK(d.block.root_port == i);
    CHECK(d.block.pci_path == kata::runtime::RootPortPciPath(static_cast<uint32_t>(i)));
    // The very arguments a hot-plug of the same request would send.
    CHECK(d.launch.blockdev == kata::runtime::BlockdevAddArguments(requests[i], d.block.node_name, false));
    CHECK(d.launch.device == kata::runtime::DeviceAddArguments(requests[i], d.block));
  }

  // Refused as Attach refuses, before QEMU exists; each boot disk has a port besides those kept
  // for hot-plug, up to the 32 a VM can have.
  CHECK(kata::runtime::PlanColdPlug(requests, 0).ok());
  CHECK(kata::runtime::PlanColdPlug(requests, 30).ok());
  CHECK(kata::runtime::PlanColdPlug(requests, 31).status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(kata::runtime::PlanColdPlug({{dir.Sub("nope"), BlockFormat::kRaw, false, "threads", false, ""}}, 3)
            .status().code() == absl::StatusCode::kNotFound);
  CHECK(kata::runtime::PlanColdPlug({{dir.Sub("upper.raw"), BlockFormat::kRaw, false, "native", false, ""}}, 3)
            .status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(kata::runtime::PlanColdPlug({{dir.path(), BlockFormat::kVmdk, true, "threads", false, ""}}, 3)
            .status().code() == absl::StatusCode::kInvalidArgument);

  std::vector<json> seen;
  ScriptedQmp server(dir.Sub("qmp.sock"), [&](ScriptedQmp& s) {
    for (;;) {
      json c = s.Receive();
      if (c.is_null()) return;
      seen.push_back(c);
      s.Send(json{{"return", json::object()}, {"id", c["id"]}}.dump());
      if (c["execute"] == "device_del") s.Send(Event("DEVICE_DELETED", {{"device", c["arguments"]["id"]}}));
    }
  });
  auto qmp = QmpClient::Connect(dir.Sub("qmp.sock"), absl::Seconds(5));
  REQUIRE(qmp.ok());
  BlockDeviceManager blocks(**qmp, 3, *planned);
  CHECK(blocks.Attached().size() == 2);
  auto third = blocks.Attach(requests[0]);
  INFO(third.status());
  REQUIRE(third.ok());
  CHECK(third->device_id == "blk2");
  CHECK(third->pci_path == kata::runtime::RootPortPciPath(2));
  CHECK(blocks.Attach(requests[0]).status().code() == absl::StatusCode::kResourceExhausted);
  // A cold-plugged disk is unplugged like any other, and its port is free again.
  REQUIRE(blocks.Detach("blk0").ok());
  REQUIRE(seen.size() >= 4);
  CHECK(seen[seen.size() - 2]["execute"] == "device_del");
  CHECK(seen.back()["execute"] == "blockdev-del");
  CHECK(seen.back()["arguments"]["node-name"] == "drive-0");
  auto again = blocks.Attach(requests[0]);
  REQUIRE(again.ok());
  CHECK(again->root_port == 0);
  qmp->reset();
}

TEST_CASE("block: detach waits for DEVICE_DELETED of its own id, then deletes the node", "[block]") {
  kata::testing::TempDir dir;
  kata::testing::WriteFile(dir.Sub("disk.raw"), std::string(4096, 'x'));
  std::vector<json> seen;
  ScriptedQmp server(dir.Sub("qmp.sock"), [&](ScriptedQmp& s) {
    for (;;) {
      json c = s.Receive();
      if (c.is_null()) return;
      seen.push_back(c);
      if (c["execute"] == "device_del") {
        const std::string id = c["arguments"]["id"];
        s.Send(json{{"return", json::object()}, {"id", c["id"]}}.dump());
        // QEMU's order: the backend's event first, another device's, then ours.
        s.Send(Event("DEVICE_DELETED", {{"path", "/machine/peripheral/" + id + "/virtio-backend"}}));
        s.Send(Event("DEVICE_DELETED", {{"device", "other"}, {"path", "/machine/peripheral/other"}}));
        s.Send(Event("DEVICE_DELETED", {{"device", id}, {"path", "/machine/peripheral/" + id}}));
      } else {
        s.Send(json{{"return", json::object()}, {"id", c["id"]}}.dump());
      }
    }
  });
  auto qmp = QmpClient::Connect(dir.Sub("qmp.sock"), absl::Seconds(5));
  REQUIRE(qmp.ok());
  BlockDeviceManager blocks(**qmp, 2);
  BlockAttachRequest req{dir.Sub("disk.raw"), BlockFormat::kRaw, true, "threads", false, ""};
  // Two at once take the two ports.
  auto a = std::async(std::launch::async, [&] { return blocks.Attach(req); });
  auto b = blocks.Attach(req);
  auto a_result = a.get();
  REQUIRE(a_result.ok());
  REQUIRE(b.ok());
  CHECK(a_result->pci_path != b->pci_path);
  REQUIRE(blocks.Detach(b->device_id).ok());
  CHECK(seen.back()["execute"] == "blockdev-del");
  CHECK(seen.back()["arguments"]["node-name"] == b->node_name);
  CHECK(blocks.Detach(b->device_id).code() == absl::StatusCode::kNotFound);
  CHECK(blocks.Attached().size() == 1);
  qmp->reset();
}

// Issue 14: a detach whose guest let go only after the timeout kept its root port for the
// VM's life: a few slow unplugs and no disk could be attached any more.
TEST_CASE("block: a detach the guest answers late gives its port back", "[block]") {
  kata::testing::TempDir dir;
  kata::testing::WriteFile(dir.Sub("disk.raw"), std::string(4096, 'x'));
  std::vector<json> seen;
  std::atomic<bool> guest_let_go{false};
  ScriptedQmp server(dir.Sub("qmp.sock"), [&](ScriptedQmp& s) {
    for (;;) {
      json c = s.Receive();
      if (c.is_null()) return;
      seen.push_back(c);
      if (c["execute"] == "qom-list" && guest_let_go) {  // as QEMU 7.2 answers for a deleted device
        s.Send(json{{"error", {{"class", "DeviceNotFound"}, {"desc", "Device '" + std::string(c["arguments"]["path"]) + "' not found"}}},
                    {"id", c["id"]}}.dump());
      } else {
        s.Send(json{{"return", json::array()}, {"id", c["id"]}}.dump());  // device_del: no DEVICE_DELETED (yet)
      }
    }
  });
  auto qmp = QmpClient::Connect(dir.Sub("qmp.sock"), absl::Seconds(5));
  REQUIRE(qmp.ok());
  BlockDeviceManager blocks(**qmp, 1);
  BlockAttachRequest req{dir.Sub("disk.raw"), BlockFormat::kRaw, false, "threads", false, ""};
  auto first = blocks.Attach(req);
  REQUIRE(first.ok());
  CHECK(blocks.Detach(first->device_id, absl::Milliseconds(100)).code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(blocks.Attach(req).status().code() == absl::StatusCode::kResourceExhausted);  // still the guest's
  guest_let_go = true;
  auto second = blocks.Attach(req);  // before the fix: no free root port, for good
  INFO(second.status());
  REQUIRE(second.ok());
  CHECK(second->pci_path == first->pci_path);
  bool node_deleted = false;
  for (const json& c : seen) {
    if (c["execute"] == "blockdev-del" && c["arguments"]["node-name"] == first->node_name) node_deleted = true;
  }
  CHECK(node_deleted);
  CHECK(blocks.Attached().size() == 1);
  qmp->reset();
}

TEST_CASE("vmdk: descriptor extents for 1, 2, 3 blobs, rounding, a 5 GiB blob, refusals", "[vmdk]") {
  using kata::runtime::BuildVmdkDescriptor;
  auto one = BuildVmdkDescriptor({{"/l/a.erofs", 4096}});
  REQUIRE(one.ok());
  CHECK(one->find("createType=\"twoGbMaxExtentFlat\"") != std::string::npos);
  CHECK(one->find("# Extent description\nRW 8 FLAT \"/l/a.erofs\" 0\n\n") != std::string::npos);
  CHECK(one->find("ddb.geometry.cylinders = \"1\"") != std::string::npos);
  CHECK(one->find("RDONLY") == std::string::npos);
  // Two blobs, the second not 512-aligned: its tail sector still counts.
  auto two = BuildVmdkDescriptor({{"/l/meta.erofs", 8192}, {"/l/blob", 1000}});
  REQUIRE(two.ok());
  CHECK(two->find("RW 16 FLAT \"/l/meta.erofs\" 0\nRW 2 FLAT \"/l/blob\" 0\n") != std::string::npos);
  // Three blobs, one empty (skipped), one of 5 GiB + 512 (sparse files are fine): 3 extents of it.
  auto three = BuildVmdkDescriptor({{"/l/a", 512}, {"/l/empty", 0}, {"/l/big", (5ull << 30) + 512}});
  REQUIRE(three.ok());
  CHECK(three->find("/l/empty") == std::string::npos);
  CHECK(three->find("RW 1 FLAT \"/l/a\" 0\nRW 4194304 FLAT \"/l/big\" 0\nRW 4194304 FLAT \"/l/big\" 4194304\n"
                    "RW 2097153 FLAT \"/l/big\" 8388608\n") != std::string::npos);
  const uint64_t total = 1 + 4194304ull * 2 + 2097153;
  CHECK(three->find("ddb.geometry.cylinders = \"" + std::to_string((total + 1007) / 1008) + "\"") != std::string::npos);
  for (auto bad : std::vector<std::vector<kata::runtime::VmdkExtent>>{
           {}, {{"/l/a", 0}}, {{"/l/a", 0}, {"/l/b", 0}}, {{"rel/a", 512}}, {{"/l/a\"b", 512}}, {{"/l/a\nRW", 512}},
           {{"/l/a", UINT64_MAX - 511}}, {{"/l/a", 40ull << 40}, {"/l/b", 40ull << 40}},
           {{std::string("/l/a\0/b", 6), 512}}}) {  // NUL: found by vmdk_fuzzer
    CHECK(BuildVmdkDescriptor(bad).status().code() == absl::StatusCode::kInvalidArgument);
  }

  kata::testing::TempDir dir;
  kata::testing::WriteFile(dir.Sub("a"), std::string(1 << 20, 'a'));
  kata::testing::WriteFile(dir.Sub("b"), std::string(3 << 20, 'b'));
  REQUIRE(kata::runtime::WriteVmdkDescriptor(dir.Sub("l.vmdk"), {dir.Sub("a"), dir.Sub("b")}).ok());
  const std::string info = Capture("qemu-img info --output=json " + dir.Sub("l.vmdk"));
  INFO(info);
  CHECK(json::parse(info)["virtual-size"] == (4 << 20));
  CHECK(kata::runtime::WriteVmdkDescriptor(dir.Sub("x.vmdk"), {dir.Sub("missing")}).code() == absl::StatusCode::kNotFound);
  // A file named with a NUL: stat() sees the name cut there, the descriptor must not.
  CHECK(kata::runtime::WriteVmdkDescriptor(dir.Sub("n.vmdk"), {dir.Sub("a") + std::string("\0/b", 3)}).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(!std::filesystem::exists(dir.Sub("n.vmdk")));
}

TEST_CASE("block: a shared read-only image is one device for all its users, unplugged after the last", "[block]") {
  kata::testing::TempDir dir;
  kata::testing::WriteFile(dir.Sub("layer.erofs"), std::string(4096, 'l'));
  kata::testing::WriteFile(dir.Sub("other.erofs"), std::string(4096, 'o'));
  std::vector<std::string> seen;
  ScriptedQmp server(dir.Sub("qmp.sock"), [&](ScriptedQmp& s) {
    for (;;) {
      json c = s.Receive();
      if (c.is_null()) return;
      seen.push_back(c["execute"]);
      s.Send(json{{"return", json::object()}, {"id", c["id"]}}.dump());
      if (c["execute"] == "device_del") s.Send(Event("DEVICE_DELETED", {{"device", c["arguments"]["id"]}}));
    }
  });
  auto qmp = QmpClient::Connect(dir.Sub("qmp.sock"), absl::Seconds(5));
  REQUIRE(qmp.ok());
  BlockDeviceManager blocks(**qmp, 3);
  const BlockAttachRequest layer{dir.Sub("layer.erofs"), BlockFormat::kRaw, true, "threads", false, "rootfs-lower0", true};
  auto first = blocks.Attach(layer);
  auto second = blocks.Attach(layer);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(second->device_id == first->device_id);
  CHECK(second->pci_path == first->pci_path);
  CHECK(seen == std::vector<std::string>{"blockdev-add", "device_add"});
  // Not shared: a writable attach, another file, or a request that does not ask for it.
  auto writable = blocks.Attach({dir.Sub("layer.erofs"), BlockFormat::kRaw, false, "threads", false, "", true});
  auto unshared = blocks.Attach({dir.Sub("layer.erofs"), BlockFormat::kRaw, true, "threads", false, "", false});
  REQUIRE(writable.ok());
  REQUIRE(unshared.ok());
  CHECK(writable->device_id != first->device_id);
  CHECK(unshared->device_id != first->device_id);
  CHECK(blocks.Attach({dir.Sub("other.erofs"), BlockFormat::kRaw, true, "threads", false, "", true}).status().code() ==
        absl::StatusCode::kResourceExhausted);  // three ports, three devices
  REQUIRE(blocks.Detach(writable->device_id).ok());
  REQUIRE(blocks.Detach(unshared->device_id).ok());

  seen.clear();
  REQUIRE(blocks.Detach(first->device_id).ok());  // one user left: nothing unplugged
  CHECK(seen.empty());
  CHECK(blocks.Attached().size() == 1);
  REQUIRE(blocks.Detach(second->device_id).ok());  // the last: unplugged
  CHECK(seen == std::vector<std::string>{"device_del", "blockdev-del"});
  CHECK(blocks.Attached().empty());
  CHECK(blocks.Detach(first->device_id).code() == absl::StatusCode::kNotFound);
  // Attached again afresh: a new device.
  auto again = blocks.Attach(layer);
  REQUIRE(again.ok());
  CHECK(again->device_id != first->device_id);
  qmp->reset();
}
