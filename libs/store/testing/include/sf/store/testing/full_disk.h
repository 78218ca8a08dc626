// A full disk, on demand, for SQLite: a VFS that wraps the default one and answers writes with
// SQLITE_FULL while `full` is set. Installed as the default VFS for the lifetime of the object, so
// every connection opened meanwhile (a store, a connector) goes through it. Tests only.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstring>

namespace sf::store::testing {

class FullDisk {
 public:
  FullDisk() {
    base_ = sqlite3_vfs_find(nullptr);
    vfs_ = *base_;
    vfs_.zName = "sf-full-disk";
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + base_->szOsFile;
    vfs_.pAppData = this;
    vfs_.xOpen = &FullDisk::open;
    sqlite3_vfs_register(&vfs_, 1);
  }
  ~FullDisk() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(base_, 1);
  }
  FullDisk(const FullDisk&) = delete;
  FullDisk& operator=(const FullDisk&) = delete;

  std::atomic<bool> full{false};
  std::atomic<int> refused_writes{0};

 private:
  // Our file: its methods, then the wrapped file of the default VFS.
  struct File {
    sqlite3_file base;  // pMethods = our methods
    FullDisk* owner;
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
  };

  static int open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out) {
    auto* self = static_cast<FullDisk*>(vfs->pAppData);
    auto* file = reinterpret_cast<File*>(f);
    file->owner = self;
    const int rc = self->base_->xOpen(self->base_, name, file->real(), flags, out);
    if (rc != SQLITE_OK) {
      file->base.pMethods = nullptr;
      return rc;
    }
    self->methods_ = *file->real()->pMethods;
    self->real_methods_ = file->real()->pMethods;
    self->methods_.xClose = &FullDisk::close;
    self->methods_.xRead = &FullDisk::read;
    self->methods_.xWrite = &FullDisk::write;
    self->methods_.xTruncate = &FullDisk::truncate;
    self->methods_.xSync = &FullDisk::sync;
    self->methods_.xFileSize = &FullDisk::file_size;
    self->methods_.xLock = &FullDisk::lock;
    self->methods_.xUnlock = &FullDisk::unlock;
    self->methods_.xCheckReservedLock = &FullDisk::check_reserved;
    self->methods_.xFileControl = &FullDisk::file_control;
    self->methods_.xSectorSize = &FullDisk::sector_size;
    self->methods_.xDeviceCharacteristics = &FullDisk::device_characteristics;
    if (self->methods_.iVersion >= 2) {
      self->methods_.xShmMap = &FullDisk::shm_map;
      self->methods_.xShmLock = &FullDisk::shm_lock;
      self->methods_.xShmBarrier = &FullDisk::shm_barrier;
      self->methods_.xShmUnmap = &FullDisk::shm_unmap;
    }
    if (self->methods_.iVersion >= 3) {
      self->methods_.xFetch = &FullDisk::fetch;
      self->methods_.xUnfetch = &FullDisk::unfetch;
    }
    file->base.pMethods = &self->methods_;
    return SQLITE_OK;
  }

  static sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real(); }
  static FullDisk* owner(sqlite3_file* f) { return reinterpret_cast<File*>(f)->owner; }

  static int close(sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); }
  static int read(sqlite3_file* f, void* p, int n, sqlite3_int64 off) {
    return real(f)->pMethods->xRead(real(f), p, n, off);
  }
  static int write(sqlite3_file* f, const void* p, int n, sqlite3_int64 off) {
    if (owner(f)->full.load()) {
      owner(f)->refused_writes.fetch_add(1);
      return SQLITE_FULL;
    }
    return real(f)->pMethods->xWrite(real(f), p, n, off);
  }
  static int truncate(sqlite3_file* f, sqlite3_int64 size) {
    return real(f)->pMethods->xTruncate(real(f), size);
  }
  static int sync(sqlite3_file* f, int flags) { return real(f)->pMethods->xSync(real(f), flags); }
  static int file_size(sqlite3_file* f, sqlite3_int64* size) {
    return real(f)->pMethods->xFileSize(real(f), size);
  }
  static int lock(sqlite3_file* f, int l) { return real(f)->pMethods->xLock(real(f), l); }
  static int unlock(sqlite3_file* f, int l) { return real(f)->pMethods->xUnlock(real(f), l); }
  static int check_reserved(sqlite3_file* f, int* out) {
    return real(f)->pMethods->xCheckReservedLock(real(f), out);
  }
  static int file_control(sqlite3_file* f, int op, void* arg) {
    return real(f)->pMethods->xFileControl(real(f), op, arg);
  }
  static int sector_size(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
  static int device_characteristics(sqlite3_file* f) {
    return real(f)->pMethods->xDeviceCharacteristics(real(f));
  }
  static int shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
    return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
  }
  static int shm_lock(sqlite3_file* f, int offset, int n, int flags) {
    return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
  }
  static void shm_barrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
  static int shm_unmap(sqlite3_file* f, int del) {
    return real(f)->pMethods->xShmUnmap(real(f), del);
  }
  static int fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
    return real(f)->pMethods->xFetch(real(f), off, n, out);
  }
  static int unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
    return real(f)->pMethods->xUnfetch(real(f), off, p);
  }

  sqlite3_vfs* base_ = nullptr;
  sqlite3_vfs vfs_{};
  sqlite3_io_methods methods_{};
  const sqlite3_io_methods* real_methods_ = nullptr;
};

}  // namespace sf::store::testing
