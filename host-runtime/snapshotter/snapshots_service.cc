#include "host-runtime/snapshotter/snapshots_service.h"

#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::snapshotter {
namespace {

const log::Subsystem kLog("snapshotter");

grpc::Status ToGrpc(const absl::Status& s, std::string_view method) {
  if (s.ok()) return grpc::Status::OK;
  if (s.code() == absl::StatusCode::kInternal || s.code() == absl::StatusCode::kUnknown) {
    kLog.Error("request failed", {{"method", method}, {"error", s.ToString()}});
  }
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

Labels ToLabels(const google::protobuf::Map<std::string, std::string>& m) { return Labels(m.begin(), m.end()); }

void ToMounts(const std::vector<runtime::RootfsMount>& mounts, google::protobuf::RepeatedPtrField<snapshotsv1::Mount>* out) {
  for (const runtime::RootfsMount& m : mounts) {
    snapshotsv1::Mount* pm = out->Add();
    pm->set_type(m.type);
    pm->set_source(m.source);
    pm->set_target(m.target);
    for (const std::string& o : m.options) pm->add_options(o);
  }
}

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t ns = absl::ToUnixNanos(t);
  ts->set_seconds(ns / 1000000000);
  ts->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

void ToInfo(const SnapshotRecord& r, snapshotsv1::Info* info) {
  info->set_name(r.key);
  info->set_parent(r.parent);
  info->set_kind(static_cast<snapshotsv1::Kind>(r.kind));
  SetTime(r.created, info->mutable_created_at());
  SetTime(r.updated, info->mutable_updated_at());
  for (const auto& [k, v] : r.labels) (*info->mutable_labels())[k] = v;
}

}  // namespace

grpc::Status SnapshotsService::Prepare(grpc::ServerContext*, const snapshotsv1::PrepareSnapshotRequest* req,
                                       snapshotsv1::PrepareSnapshotResponse* resp) {
  auto mounts = snapshotter_.Prepare(req->key(), req->parent(), ToLabels(req->labels()));
  if (!mounts.ok()) return ToGrpc(mounts.status(), "Prepare");
  ToMounts(*mounts, resp->mutable_mounts());
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::View(grpc::ServerContext*, const snapshotsv1::ViewSnapshotRequest* req,
                                    snapshotsv1::ViewSnapshotResponse* resp) {
  auto mounts = snapshotter_.View(req->key(), req->parent(), ToLabels(req->labels()));
  if (!mounts.ok()) return ToGrpc(mounts.status(), "View");
  ToMounts(*mounts, resp->mutable_mounts());
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Mounts(grpc::ServerContext*, const snapshotsv1::MountsRequest* req, snapshotsv1::MountsResponse* resp) {
  auto mounts = snapshotter_.Mounts(req->key());
  if (!mounts.ok()) return ToGrpc(mounts.status(), "Mounts");
  ToMounts(*mounts, resp->mutable_mounts());
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Commit(grpc::ServerContext*, const snapshotsv1::CommitSnapshotRequest* req, google::protobuf::Empty*) {
  return ToGrpc(snapshotter_.Commit(req->name(), req->key(), ToLabels(req->labels())), "Commit");
}

grpc::Status SnapshotsService::Remove(grpc::ServerContext*, const snapshotsv1::RemoveSnapshotRequest* req, google::protobuf::Empty*) {
  return ToGrpc(snapshotter_.Remove(req->key()), "Remove");
}

grpc::Status SnapshotsService::Stat(grpc::ServerContext*, const snapshotsv1::StatSnapshotRequest* req,
                                    snapshotsv1::StatSnapshotResponse* resp) {
  auto r = snapshotter_.Stat(req->key());
  if (!r.ok()) return ToGrpc(r.status(), "Stat");
  ToInfo(*r, resp->mutable_info());
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Update(grpc::ServerContext*, const snapshotsv1::UpdateSnapshotRequest* req,
                                      snapshotsv1::UpdateSnapshotResponse* resp) {
  LabelUpdate update;
  update.labels = ToLabels(req->info().labels());
  for (const std::string& path : req->update_mask().paths()) update.paths.push_back(path);
  auto r = snapshotter_.Update(req->info().name(), update);
  if (!r.ok()) return ToGrpc(r.status(), "Update");
  ToInfo(*r, resp->mutable_info());
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::List(grpc::ServerContext*, const snapshotsv1::ListSnapshotsRequest* req,
                                    grpc::ServerWriter<snapshotsv1::ListSnapshotsResponse>* writer) {
  // containerd 1.6/1.7 filter in their own metadata and send none; one sent here would be
  // silently ignored if it were accepted.
  if (req->filters_size() > 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, StrCat("filters: not supported (\"", req->filters(0), "\")"));
  }
  auto all = snapshotter_.List();
  if (!all.ok()) return ToGrpc(all.status(), "List");
  // Batches of 100 infos keep each message small whatever the number of snapshots.
  snapshotsv1::ListSnapshotsResponse batch;
  for (const SnapshotRecord& r : *all) {
    ToInfo(r, batch.add_info());
    if (batch.info_size() == 100) {
      writer->Write(batch);
      batch.Clear();
    }
  }
  if (batch.info_size() > 0) writer->Write(batch);
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Usage(grpc::ServerContext*, const snapshotsv1::UsageRequest* req, snapshotsv1::UsageResponse* resp) {
  auto usage = snapshotter_.Usage(req->key());
  if (!usage.ok()) return ToGrpc(usage.status(), "Usage");
  resp->set_size(usage->size);
  resp->set_inodes(usage->inodes);
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Cleanup(grpc::ServerContext*, const snapshotsv1::CleanupRequest*, google::protobuf::Empty*) {
  return ToGrpc(snapshotter_.Cleanup(), "Cleanup");
}

}  // namespace kata::snapshotter
