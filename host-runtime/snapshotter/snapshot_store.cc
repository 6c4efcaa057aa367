#include "host-runtime/snapshotter/snapshot_store.h"

#include <sqlite3.h>

#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::snapshotter {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS snapshots (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  parent_id INTEGER REFERENCES snapshots(id),
  kind INTEGER NOT NULL,
  writable INTEGER NOT NULL,
  created_ns INTEGER NOT NULL,
  updated_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_parent ON snapshots(parent_id);
CREATE TABLE IF NOT EXISTS labels (
  snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (snapshot_id, name)
);
)sql";

absl::Status SqliteError(sqlite3* db, std::string_view what) {
  return absl::InternalError(StrCat("snapshot metadata: ", what, ": ", sqlite3_errmsg(db)));
}

// One prepared statement, finalized when it goes.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) { status_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  absl::Status status(std::string_view what) const { return status_ == SQLITE_OK ? absl::OkStatus() : SqliteError(db_, what); }
  Statement& Bind(int i, int64_t v) {
    if (status_ == SQLITE_OK) status_ = sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& Bind(int i, std::string_view v) {
    if (status_ == SQLITE_OK) status_ = sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // true: a row is there; false: done.
  absl::StatusOr<bool> Step(std::string_view what) {
    if (status_ != SQLITE_OK) return SqliteError(db_, what);
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE) {
      return absl::AlreadyExistsError(StrCat("snapshot metadata: ", what, ": already exists"));
    }
    return SqliteError(db_, what);
  }
  absl::Status Run(std::string_view what) { return Step(what).status(); }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p == nullptr ? std::string() : std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int status_;
};

int64_t Nanos(absl::Time t) { return absl::ToUnixNanos(t); }

constexpr char kSelect[] =
    "SELECT s.id, s.key, IFNULL(s.parent_id, 0), IFNULL(p.key, ''), s.kind, s.writable, s.created_ns, s.updated_ns "
    "FROM snapshots s LEFT JOIN snapshots p ON p.id = s.parent_id";

SnapshotRecord RowToRecord(const Statement& st) {
  SnapshotRecord r;
  r.id = st.Int(0);
  r.key = st.Text(1);
  r.parent_id = st.Int(2);
  r.parent = st.Text(3);
  r.kind = static_cast<SnapshotKind>(st.Int(4));
  r.writable = static_cast<WritableLayer>(st.Int(5));
  r.created = absl::FromUnixNanos(st.Int(6));
  r.updated = absl::FromUnixNanos(st.Int(7));
  return r;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SnapshotStore>> SnapshotStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    absl::Status s = absl::InternalError(StrCat("snapshot metadata ", path, ": ", db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<SnapshotStore> store(new SnapshotStore(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  // WAL with synchronous=FULL: a committed transaction survives a power cut; foreign keys keep
  // a parent from going while it has children.
  RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  RETURN_IF_ERROR(store->Exec(kSchema));
  return store;
}

SnapshotStore::~SnapshotStore() { sqlite3_close(db_); }

absl::Status SnapshotStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    absl::Status s = absl::InternalError(StrCat("snapshot metadata: ", err != nullptr ? err : "error"));
    sqlite3_free(err);
    return s;
  }
  return absl::OkStatus();
}

absl::Status SnapshotStore::InTransaction(const std::function<absl::Status()>& fn) {
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  absl::Status s = fn();
  if (s.ok()) s = Exec("COMMIT");
  if (!s.ok()) (void)Exec("ROLLBACK");
  return s;
}

absl::StatusOr<Labels> SnapshotStore::LabelsOf(int64_t id) {
  Statement st(db_, "SELECT name, value FROM labels WHERE snapshot_id = ?");
  st.Bind(1, id);
  Labels labels;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step("read labels"));
    if (!row) break;
    labels[st.Text(0)] = st.Text(1);
  }
  return labels;
}

absl::Status SnapshotStore::WriteLabels(int64_t id, const Labels& labels) {
  Statement del(db_, "DELETE FROM labels WHERE snapshot_id = ?");
  RETURN_IF_ERROR(del.Bind(1, id).Run("replace labels"));
  for (const auto& [name, value] : labels) {
    Statement ins(db_, "INSERT INTO labels (snapshot_id, name, value) VALUES (?, ?, ?)");
    RETURN_IF_ERROR(ins.Bind(1, id).Bind(2, name).Bind(3, value).Run(StrCat("write label ", name)));
  }
  return absl::OkStatus();
}

absl::StatusOr<SnapshotRecord> SnapshotStore::Get(std::string_view key) {
  Statement st(db_, (std::string(kSelect) + " WHERE s.key = ?").c_str());
  st.Bind(1, key);
  ASSIGN_OR_RETURN(bool row, st.Step("look up snapshot"));
  if (!row) return absl::NotFoundError(StrCat("snapshot \"", key, "\" does not exist"));
  SnapshotRecord r = RowToRecord(st);
  ASSIGN_OR_RETURN(r.labels, LabelsOf(r.id));
  return r;
}

absl::StatusOr<SnapshotRecord> SnapshotStore::Insert(SnapshotRecord record) {
  // NULLIF: no parent is NULL (a foreign key of 0 would name nothing).
  absl::Status status = absl::OkStatus();
  {
    Statement ins(db_, "INSERT INTO snapshots (key, parent_id, kind, writable, created_ns, updated_ns) "
                       "VALUES (?, NULLIF(?, 0), ?, ?, ?, ?)");
    ins.Bind(1, record.key)
        .Bind(2, record.parent_id)
        .Bind(3, static_cast<int64_t>(record.kind))
        .Bind(4, static_cast<int64_t>(record.writable))
        .Bind(5, Nanos(record.created))
        .Bind(6, Nanos(record.updated));
    status = ins.Run(StrCat("create snapshot \"", record.key, "\""));
  }
  if (absl::IsAlreadyExists(status)) return absl::AlreadyExistsError(StrCat("snapshot \"", record.key, "\" already exists"));
  RETURN_IF_ERROR(status);
  record.id = sqlite3_last_insert_rowid(db_);
  RETURN_IF_ERROR(WriteLabels(record.id, record.labels));
  ASSIGN_OR_RETURN(SnapshotRecord stored, Get(record.key));
  return stored;
}

absl::StatusOr<std::vector<int64_t>> SnapshotStore::Chain(int64_t id) {
  std::vector<int64_t> chain;
  while (id != 0) {
    chain.push_back(id);
    Statement st(db_, "SELECT IFNULL(parent_id, 0) FROM snapshots WHERE id = ?");
    st.Bind(1, id);
    ASSIGN_OR_RETURN(bool row, st.Step("walk parents"));
    if (!row) return absl::InternalError(StrCat("snapshot metadata: snapshot id ", id, " is missing from its chain"));
    id = st.Int(0);
  }
  return chain;
}

absl::Status SnapshotStore::MarkCommitted(int64_t id, std::string_view name, const Labels& labels, absl::Time now) {
  Statement st(db_, "UPDATE snapshots SET key = ?, kind = ?, writable = 0, updated_ns = ? WHERE id = ?");
  st.Bind(1, name).Bind(2, static_cast<int64_t>(SnapshotKind::kCommitted)).Bind(3, Nanos(now)).Bind(4, id);
  absl::Status s = st.Run(StrCat("commit as \"", name, "\""));
  if (absl::IsAlreadyExists(s)) return absl::AlreadyExistsError(StrCat("snapshot \"", name, "\" already exists"));
  RETURN_IF_ERROR(s);
  return WriteLabels(id, labels);
}

absl::Status SnapshotStore::SetLabels(int64_t id, const Labels& labels, absl::Time now) {
  Statement st(db_, "UPDATE snapshots SET updated_ns = ? WHERE id = ?");
  RETURN_IF_ERROR(st.Bind(1, Nanos(now)).Bind(2, id).Run("update snapshot"));
  return WriteLabels(id, labels);
}

absl::Status SnapshotStore::Delete(int64_t id) {
  Statement st(db_, "DELETE FROM snapshots WHERE id = ?");
  return st.Bind(1, id).Run("remove snapshot");
}

absl::StatusOr<int64_t> SnapshotStore::CountChildren(int64_t id) {
  Statement st(db_, "SELECT COUNT(*) FROM snapshots WHERE parent_id = ?");
  st.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, st.Step("count children"));
  return row ? st.Int(0) : 0;
}

absl::StatusOr<std::vector<SnapshotRecord>> SnapshotStore::All() {
  Statement st(db_, (std::string(kSelect) + " ORDER BY s.id").c_str());
  std::vector<SnapshotRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step("list snapshots"));
    if (!row) break;
    out.push_back(RowToRecord(st));
  }
  for (SnapshotRecord& r : out) {
    ASSIGN_OR_RETURN(r.labels, LabelsOf(r.id));
  }
  return out;
}

}  // namespace kata::snapshotter
