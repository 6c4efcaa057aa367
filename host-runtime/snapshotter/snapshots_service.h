#pragma once

// containerd.services.snapshots.v1.Snapshots over gRPC (Debian's grpc++), a thin layer over
// ErofsSnapshotter: requests to calls, absl codes to gRPC codes (the same numbers, which
// containerd's proxy maps back to its errdefs: NotFound, AlreadyExists, FailedPrecondition).

#include "host-runtime/snapshotter/erofs_snapshotter.h"
#include "protocols/containerd_snapshots.grpc.pb.h"

namespace kata::snapshotter {

namespace snapshotsv1 = ::containerd::services::snapshots::v1;

class SnapshotsService final : public snapshotsv1::Snapshots::Service {
 public:
  explicit SnapshotsService(ErofsSnapshotter& snapshotter) : snapshotter_(snapshotter) {}

  grpc::Status Prepare(grpc::ServerContext*, const snapshotsv1::PrepareSnapshotRequest*, snapshotsv1::PrepareSnapshotResponse*) override;
  grpc::Status View(grpc::ServerContext*, const snapshotsv1::ViewSnapshotRequest*, snapshotsv1::ViewSnapshotResponse*) override;
  grpc::Status Mounts(grpc::ServerContext*, const snapshotsv1::MountsRequest*, snapshotsv1::MountsResponse*) override;
  grpc::Status Commit(grpc::ServerContext*, const snapshotsv1::CommitSnapshotRequest*, google::protobuf::Empty*) override;
  grpc::Status Remove(grpc::ServerContext*, const snapshotsv1::RemoveSnapshotRequest*, google::protobuf::Empty*) override;
  grpc::Status Stat(grpc::ServerContext*, const snapshotsv1::StatSnapshotRequest*, snapshotsv1::StatSnapshotResponse*) override;
  grpc::Status Update(grpc::ServerContext*, const snapshotsv1::UpdateSnapshotRequest*, snapshotsv1::UpdateSnapshotResponse*) override;
  grpc::Status List(grpc::ServerContext*, const snapshotsv1::ListSnapshotsRequest*,
                    grpc::ServerWriter<snapshotsv1::ListSnapshotsResponse>*) override;
  grpc::Status Usage(grpc::ServerContext*, const snapshotsv1::UsageRequest*, snapshotsv1::UsageResponse*) override;
  grpc::Status Cleanup(grpc::ServerContext*, const snapshotsv1::CleanupRequest*, google::protobuf::Empty*) override;

 private:
  ErofsSnapshotter& snapshotter_;
};

}  // namespace kata::snapshotter
