#pragma once

// What a waiter waits for: predicates over uevents.

#include <functional>
#include <string>

#include "guest-agent/uevent/uevent.h"

namespace kata::guest {

class UeventMatcher {
 public:
  virtual ~UeventMatcher() = default;
  virtual bool Matches(const Uevent& e) const = 0;
  // What is awaited, for logs and timeout errors.
  virtual std::string Describe() const = 0;
};

// True for a block device that can be used: an add/change event with a DEVNAME whose sysfs
// size is not zero. (A loop device is announced empty and filled by a later "change"; a
// virtio-blk disk arrives with its size.)
bool IsReadyBlockDevice(const Uevent& e, const std::string& sysfs_root);

// A virtio-blk disk behind the PCI device at `pci_devpath` (sysfs-relative, e.g.
// /devices/pci0000:00/0000:00:02.0/0000:01:00.0): DEVPATH is <pci_devpath>/virtioN/block/<name>.
class PciPathBlockMatcher : public UeventMatcher {
 public:
  PciPathBlockMatcher(std::string pci_path, std::string pci_devpath, std::string sysfs_root);
  bool Matches(const Uevent& e) const override;
  std::string Describe() const override;

 private:
  std::string pci_path_;
  std::string pci_devpath_;
  std::string sysfs_root_;
};

// A virtio-blk disk by name: DEVPATH ends in /virtioN/block/<name>.
class VirtioBlkNameMatcher : public UeventMatcher {
 public:
  VirtioBlkNameMatcher(std::string name, std::string sysfs_root);
  bool Matches(const Uevent& e) const override;
  std::string Describe() const override;

 private:
  std::string name_;
  std::string sysfs_root_;
};

// Any block device named <name> in /dev (loop, scsi, ...).
class BlockNameMatcher : public UeventMatcher {
 public:
  BlockNameMatcher(std::string name, std::string sysfs_root);
  bool Matches(const Uevent& e) const override;
  std::string Describe() const override;

 private:
  std::string name_;
  std::string sysfs_root_;
};

// A predicate with a description, for tests and one-off waits.
class PredicateMatcher : public UeventMatcher {
 public:
  PredicateMatcher(std::string description, std::function<bool(const Uevent&)> predicate)
      : description_(std::move(description)), predicate_(std::move(predicate)) {}
  bool Matches(const Uevent& e) const override { return predicate_(e); }
  std::string Describe() const override { return description_; }

 private:
  std::string description_;
  std::function<bool(const Uevent&)> predicate_;
};

}  // namespace kata::guest
