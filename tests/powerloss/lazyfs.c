// Copyright 2026 the Sluice authors. Apache-2.0 license.
//
// lazyfs: a FUSE file system that simulates power loss, in the spirit of Jepsen's LazyFS.
//
// It passes every operation through to a backing directory and remembers what would survive a
// power cut under strict POSIX durability:
//
//   - the bytes of a file are durable once the file is fsynced or fdatasynced (all of them, as
//     of that call); until then a cut returns the file to its content at its last fsync (a file
//     never fsynced is empty);
//   - a directory entry (create, mkdir, rename, unlink, rmdir) is durable once its parent
//     directory is fsynced; until then a cut returns the directory to its entries at its last
//     fsync (a directory created since the mount and never fsynced is empty, and it only exists
//     at all if its own parent was fsynced after the mkdir).
//
// Real file systems persist more (ext4 commits its journal every few seconds, and renames are
// atomic), so a program that survives lazyfs cuts relies on nothing but its own fsyncs.
//
// Usage: lazyfs BACKING_DIR MOUNTPOINT [fuse options]
//
// Everything in BACKING_DIR when mounting counts as durable. The process prints "ready" on
// stdout once the kernel has mounted the file system. SIGUSR1 arms a cut; the cut happens when
// the file system is unmounted (fusermount3 -u MOUNTPOINT): BACKING_DIR is then rewritten to
// hold exactly the durable state, and one line of JSON on stdout says what was dropped. An
// unmount without SIGUSR1 keeps everything (a clean power-off).
//
// Bookkeeping: every file and directory is a node, found by its backing inode number while it
// has a name in the backing directory. A file node is CLEAN (not changed since the mount: its
// durable content is its backing inode, pinned by a hard link in the shadow directory), SHADOW
// (its durable content is the shadow file, updated on fsync from the bytes written since) or
// NEW (created since the mount, never fsynced: durable content empty). A directory node keeps
// the list of its durable entries (name -> node), replaced by the live entries on fsync.
// Hard links and symlinks are refused (Sluice uses neither), so a node has at most one live
// name.

#define FUSE_USE_VERSION 31
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <fuse.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#define OFF_INF ((off_t)INT64_MAX)

enum file_state { CLEAN, SHADOW, NEW };

struct node;

struct dent {
  char *name;
  struct node *node;
};

struct node {
  uint64_t id;
  int is_dir;
  ino_t ino;
  int live;             /* in the inode map (has a live name) */
  struct node *next;    /* inode map chain */
  /* files */
  enum file_state state;
  off_t dirty_lo, dirty_hi; /* live bytes changed since the last fsync; lo >= hi: none */
  uint64_t unsynced_writes;      /* writes and truncations since the last fsync */
  uint64_t unsynced_bytes;       /* bytes written since the last fsync */
  int linked;               /* cut: the shadow was already linked into the new tree */
  /* directories */
  struct dent *dents;
  size_t ndents;
  int dir_dirty; /* entries changed since the last fsync */
  int visiting;  /* cut: guards against loops */
};

struct handle {
  int fd;
  struct node *node;
  int sync_writes; /* opened O_SYNC / O_DSYNC */
};

static char *backing;     /* absolute path of the backing directory */
static char *shadow_dir;  /* absolute path of the shadow directory (beside the backing one) */
static int root_fd = -1;  /* the backing directory */
static struct node *root; /* its node */
static pthread_mutex_t big = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t cut_armed = 0;
static uint64_t next_id = 1;

#define BUCKETS 65536
static struct node *inodes[BUCKETS];

static struct {
  uint64_t fsyncs, fsyncdirs, synced_bytes, writes, written_bytes;
} stats;

static void die(const char *what) {
  fprintf(stderr, "lazyfs: %s: %s\n", what, strerror(errno));
  exit(2);
}

static const char *rel(const char *path) {
  while (*path == '/') path++;
  return *path ? path : ".";
}

static struct node *lookup_ino(ino_t ino) {
  for (struct node *n = inodes[ino % BUCKETS]; n; n = n->next)
    if (n->ino == ino) return n;
  return NULL;
}

static void map_insert(struct node *n) {
  n->next = inodes[n->ino % BUCKETS];
  inodes[n->ino % BUCKETS] = n;
  n->live = 1;
}

static void map_remove(struct node *n) {
  if (!n->live) return;
  struct node **p = &inodes[n->ino % BUCKETS];
  while (*p && *p != n) p = &(*p)->next;
  if (*p) *p = n->next;
  n->next = NULL;
  n->live = 0;
}

static struct node *new_node(ino_t ino, int is_dir, enum file_state state) {
  struct node *n = calloc(1, sizeof *n);
  if (!n) die("out of memory");
  n->id = next_id++;
  n->ino = ino;
  n->is_dir = is_dir;
  n->state = state;
  n->dirty_lo = OFF_INF;
  n->dirty_hi = 0;
  struct node *old = lookup_ino(ino);
  if (old) map_remove(old); /* an inode number reused outside our view */
  map_insert(n);
  return n;
}

static void shadow_path(char *buf, size_t len, const struct node *n, const char *suffix) {
  snprintf(buf, len, "%s/%llu%s", shadow_dir, (unsigned long long)n->id, suffix);
}

static void mark_dirty(struct node *n, off_t lo, off_t hi) {
  if (lo < n->dirty_lo) n->dirty_lo = lo;
  if (hi > n->dirty_hi) n->dirty_hi = hi;
}

static int copy_range(int from, int to, off_t lo, off_t hi) {
  static __thread char buf[1 << 20];
  while (lo < hi) {
    size_t want = (size_t)(hi - lo) < sizeof buf ? (size_t)(hi - lo) : sizeof buf;
    ssize_t r = pread(from, buf, want, lo);
    if (r < 0) return -errno;
    if (r == 0) break;
    for (ssize_t w = 0; w < r;) {
      ssize_t k = pwrite(to, buf + w, (size_t)(r - w), lo + w);
      if (k < 0) return -errno;
      w += k;
    }
    lo += r;
  }
  return 0;
}

/* Before the first change to a CLEAN file: give the shadow its own copy of the durable bytes. */
static int prepare_modify(struct node *n) {
  if (n->is_dir || n->state != CLEAN) return 0;
  char link[PATH_MAX], tmp[PATH_MAX];
  shadow_path(link, sizeof link, n, "");
  shadow_path(tmp, sizeof tmp, n, ".tmp");
  int from = open(link, O_RDONLY);
  if (from < 0) return -errno;
  int to = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (to < 0) {
    int e = -errno;
    close(from);
    return e;
  }
  struct stat st;
  int rc = fstat(from, &st) < 0 ? -errno : copy_range(from, to, 0, st.st_size);
  close(from);
  close(to);
  if (rc == 0 && rename(tmp, link) < 0) rc = -errno;
  if (rc == 0) n->state = SHADOW;
  return rc;
}

/* fsync: the shadow becomes the live content. */
static int sync_node(struct node *n, int fd) {
  stats.fsyncs++;
  if (n->is_dir || n->state == CLEAN) return 0;
  if (n->state == SHADOW && n->dirty_lo >= n->dirty_hi) return 0;
  struct stat st;
  if (fstat(fd, &st) < 0) return -errno;
  char path[PATH_MAX];
  shadow_path(path, sizeof path, n, "");
  int s = open(path, O_RDWR | O_CREAT, 0644);
  if (s < 0) return -errno;
  int rc = 0;
  if (ftruncate(s, st.st_size) < 0) rc = -errno;
  off_t hi = n->dirty_hi < st.st_size ? n->dirty_hi : st.st_size;
  if (rc == 0 && n->dirty_lo < hi) {
    rc = copy_range(fd, s, n->dirty_lo, hi);
    stats.synced_bytes += (uint64_t)(hi - n->dirty_lo);
  }
  close(s);
  if (rc == 0) {
    n->state = SHADOW;
    n->dirty_lo = OFF_INF;
    n->dirty_hi = 0;
    n->unsynced_writes = 0;
    n->unsynced_bytes = 0;
  }
  return rc;
}

static void free_dents(struct node *d) {
  for (size_t i = 0; i < d->ndents; i++) free(d->dents[i].name);
  free(d->dents);
  d->dents = NULL;
  d->ndents = 0;
}

/* The live entries of the directory open as `fd` become its durable entries. */
static int snapshot_dir(struct node *d, int fd) {
  int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY);
  if (dup_fd < 0) return -errno;
  DIR *dir = fdopendir(dup_fd);
  if (!dir) {
    int e = -errno;
    close(dup_fd);
    return e;
  }
  free_dents(d);
  size_t cap = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    struct stat st;
    if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    struct node *n = lookup_ino(st.st_ino);
    if (!n) n = new_node(st.st_ino, S_ISDIR(st.st_mode), NEW);
    if (d->ndents == cap) {
      cap = cap ? cap * 2 : 16;
      d->dents = realloc(d->dents, cap * sizeof *d->dents);
      if (!d->dents) die("out of memory");
    }
    d->dents[d->ndents].name = strdup(e->d_name);
    d->dents[d->ndents].node = n;
    d->ndents++;
  }
  closedir(dir);
  d->dir_dirty = 0;
  return 0;
}

/* Mount time: everything in the backing directory is durable. */
static void adopt(struct node *d, int fd) {
  if (snapshot_dir(d, fd) < 0) die("cannot read the backing directory");
  for (size_t i = 0; i < d->ndents; i++) {
    struct node *n = d->dents[i].node;
    n->state = CLEAN;
    if (n->is_dir) {
      int sub = openat(fd, d->dents[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (sub < 0) die("cannot open a backing subdirectory");
      adopt(n, sub);
      close(sub);
    } else {
      char link[PATH_MAX];
      shadow_path(link, sizeof link, n, "");
      if (linkat(fd, d->dents[i].name, AT_FDCWD, link, 0) < 0) die("cannot link into the shadow");
    }
  }
}

static struct node *node_at(const char *path) {
  struct stat st;
  if (fstatat(root_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) < 0) return NULL;
  return lookup_ino(st.st_ino);
}

static struct node *parent_of(const char *path) {
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  char *slash = strrchr(buf, '/');
  if (!slash || slash == buf) return root;
  *slash = 0;
  return node_at(buf);
}

static void touch_dir(const char *path) {
  struct node *p = parent_of(path);
  if (p) p->dir_dirty = 1;
}

/* ---- operations ------------------------------------------------------------------------- */

static void *lz_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
  cfg->hard_remove = 1; /* no .fuse_hidden files: unlink means unlink */
  cfg->nullpath_ok = 1;
  cfg->use_ino = 1;
  cfg->entry_timeout = 0;
  cfg->attr_timeout = 0;
  cfg->negative_timeout = 0;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  if (conn->max_write < (1u << 20)) conn->max_write = 1u << 20;
  printf("ready\n");
  fflush(stdout);
  return NULL;
}

static int lz_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  int r = fi ? fstat(((struct handle *)(uintptr_t)fi->fh)->fd, st)
             : fstatat(root_fd, rel(path), st, AT_SYMLINK_NOFOLLOW);
  return r < 0 ? -errno : 0;
}

static int lz_opendir(const char *path, struct fuse_file_info *fi) {
  int fd = openat(root_fd, rel(path), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return -errno;
  fi->fh = (uint64_t)fd;
  return 0;
}

static int lz_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags) {
  (void)path;
  (void)off;
  (void)flags;
  int fd = openat((int)fi->fh, ".", O_RDONLY | O_DIRECTORY);
  if (fd < 0) return -errno;
  DIR *dir = fdopendir(fd);
  if (!dir) {
    int e = -errno;
    close(fd);
    return e;
  }
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_ino = e->d_ino;
    st.st_mode = (mode_t)DTTOIF(e->d_type);
    if (fill(buf, e->d_name, &st, 0, 0)) break;
  }
  closedir(dir);
  return 0;
}

static int lz_releasedir(const char *path, struct fuse_file_info *fi) {
  (void)path;
  close((int)fi->fh);
  return 0;
}

static int lz_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi) {
  (void)path;
  (void)datasync;
  pthread_mutex_lock(&big);
  stats.fsyncdirs++;
  struct stat st;
  int rc = 0;
  if (fstat((int)fi->fh, &st) < 0) rc = -errno;
  struct node *d = rc ? NULL : lookup_ino(st.st_ino);
  if (d && d->is_dir) rc = snapshot_dir(d, (int)fi->fh);
  pthread_mutex_unlock(&big);
  return rc;
}

static int lz_mkdir(const char *path, mode_t mode) {
  pthread_mutex_lock(&big);
  int rc = 0;
  if (mkdirat(root_fd, rel(path), mode) < 0) {
    rc = -errno;
  } else {
    struct stat st;
    if (fstatat(root_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      rc = -errno;
    } else {
      new_node(st.st_ino, 1, NEW);
      touch_dir(path);
    }
  }
  pthread_mutex_unlock(&big);
  return rc;
}

static int remove_entry(const char *path, int flags) {
  pthread_mutex_lock(&big);
  struct node *n = node_at(path);
  int rc = unlinkat(root_fd, rel(path), flags) < 0 ? -errno : 0;
  if (rc == 0) {
    if (n) map_remove(n);
    touch_dir(path);
  }
  pthread_mutex_unlock(&big);
  return rc;
}

static int lz_unlink(const char *path) {
  return remove_entry(path, 0);
}

static int lz_rmdir(const char *path) {
  return remove_entry(path, AT_REMOVEDIR);
}

static int lz_rename(const char *from, const char *to, unsigned int flags) {
  if (flags & ~RENAME_NOREPLACE) return -EINVAL;
  pthread_mutex_lock(&big);
  struct node *src = node_at(from);
  struct node *victim = node_at(to);
  int rc = renameat2(root_fd, rel(from), root_fd, rel(to), flags) < 0 ? -errno : 0;
  if (rc == 0) {
    if (victim && victim != src) map_remove(victim);
    touch_dir(from);
    touch_dir(to);
  }
  pthread_mutex_unlock(&big);
  return rc;
}

static int lz_link(const char *from, const char *to) {
  (void)from;
  (void)to;
  return -ENOTSUP;
}

static int lz_symlink(const char *from, const char *to) {
  (void)from;
  (void)to;
  return -ENOTSUP;
}

static int backing_flags(int flags) {
  flags &= ~(O_APPEND | O_SYNC | O_DSYNC); /* the kernel passes append offsets itself */
  if ((flags & O_ACCMODE) == O_WRONLY) flags = (flags & ~O_ACCMODE) | O_RDWR; /* fsync reads */
  return flags | O_NOFOLLOW;
}

static int open_file(const char *path, struct fuse_file_info *fi, int create, mode_t mode) {
  struct stat st;
  int existed = fstatat(root_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) == 0;
  struct node *n = existed ? lookup_ino(st.st_ino) : NULL;
  if (existed && !n) n = new_node(st.st_ino, S_ISDIR(st.st_mode), NEW);
  int rc = 0;
  if (n && (fi->flags & O_TRUNC) && (rc = prepare_modify(n)) < 0) return rc;
  int flags = backing_flags(fi->flags) | (create ? O_CREAT : 0);
  int fd = openat(root_fd, rel(path), flags, mode);
  if (fd < 0) return -errno;
  if (!n) {
    if (fstat(fd, &st) < 0) {
      int e = -errno;
      close(fd);
      return e;
    }
    n = new_node(st.st_ino, 0, NEW);
    touch_dir(path);
  }
  if (fi->flags & O_TRUNC) {
    mark_dirty(n, 0, OFF_INF);
    n->unsynced_writes++;
  }
  struct handle *h = malloc(sizeof *h);
  if (!h) {
    close(fd);
    return -ENOMEM;
  }
  h->fd = fd;
  h->node = n;
  h->sync_writes = (fi->flags & (O_SYNC | O_DSYNC)) != 0;
  fi->fh = (uint64_t)(uintptr_t)h;
  return 0;
}

static int lz_open(const char *path, struct fuse_file_info *fi) {
  pthread_mutex_lock(&big);
  int rc = open_file(path, fi, 0, 0);
  pthread_mutex_unlock(&big);
  return rc;
}

static int lz_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
  pthread_mutex_lock(&big);
  int rc = open_file(path, fi, 1, mode);
  pthread_mutex_unlock(&big);
  return rc;
}

static int lz_read(const char *path, char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi) {
  (void)path;
  ssize_t r = pread(((struct handle *)(uintptr_t)fi->fh)->fd, buf, size, off);
  return r < 0 ? -errno : (int)r;
}

static int lz_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi) {
  (void)path;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  pthread_mutex_lock(&big);
  int rc = prepare_modify(h->node);
  ssize_t w = 0;
  if (rc == 0) {
    while ((size_t)w < size) {
      ssize_t k = pwrite(h->fd, buf + w, size - (size_t)w, off + w);
      if (k < 0) {
        rc = -errno;
        break;
      }
      w += k;
    }
    if (w > 0) {
      mark_dirty(h->node, off, off + w);
      h->node->unsynced_writes++;
      h->node->unsynced_bytes += (uint64_t)w;
    }
    stats.writes++;
    stats.written_bytes += (uint64_t)w;
    if (rc == 0 && h->sync_writes) rc = sync_node(h->node, h->fd);
  }
  pthread_mutex_unlock(&big);
  return rc < 0 ? rc : (int)w;
}

static int lz_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
  pthread_mutex_lock(&big);
  struct handle *h = fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
  struct node *n = h ? h->node : node_at(path);
  int rc = n ? prepare_modify(n) : 0;
  if (rc == 0) {
    int fd = h ? h->fd : openat(root_fd, rel(path), O_WRONLY | O_NOFOLLOW);
    if (fd < 0 || ftruncate(fd, size) < 0) rc = -errno;
    if (!h && fd >= 0) close(fd);
    if (rc == 0 && n) {
      mark_dirty(n, size, OFF_INF);
      n->unsynced_writes++;
    }
  }
  pthread_mutex_unlock(&big);
  return rc;
}

static int lz_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
  (void)path;
  (void)datasync;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  pthread_mutex_lock(&big);
  int rc = sync_node(h->node, h->fd);
  pthread_mutex_unlock(&big);
  return rc;
}

static int lz_flush(const char *path, struct fuse_file_info *fi) {
  (void)path;
  (void)fi;
  return 0;
}

static int lz_release(const char *path, struct fuse_file_info *fi) {
  (void)path;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  close(h->fd);
  free(h);
  return 0;
}

static int lz_statfs(const char *path, struct statvfs *st) {
  (void)path;
  return fstatvfs(root_fd, st) < 0 ? -errno : 0;
}

static int lz_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
  int r = fi ? fchmod(((struct handle *)(uintptr_t)fi->fh)->fd, mode)
             : fchmodat(root_fd, rel(path), mode, 0);
  return r < 0 ? -errno : 0;
}

static int lz_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
  int r = fi ? futimens(((struct handle *)(uintptr_t)fi->fh)->fd, tv)
             : utimensat(root_fd, rel(path), tv, AT_SYMLINK_NOFOLLOW);
  return r < 0 ? -errno : 0;
}

static int lz_fallocate(const char *path, int mode, off_t off, off_t len,
                        struct fuse_file_info *fi) {
  (void)path;
  (void)mode;
  (void)off;
  (void)len;
  (void)fi;
  return -EOPNOTSUPP;
}

static const struct fuse_operations ops = {
    .init = lz_init,
    .getattr = lz_getattr,
    .opendir = lz_opendir,
    .readdir = lz_readdir,
    .releasedir = lz_releasedir,
    .fsyncdir = lz_fsyncdir,
    .mkdir = lz_mkdir,
    .unlink = lz_unlink,
    .rmdir = lz_rmdir,
    .rename = lz_rename,
    .link = lz_link,
    .symlink = lz_symlink,
    .open = lz_open,
    .create = lz_create,
    .read = lz_read,
    .write = lz_write,
    .truncate = lz_truncate,
    .fsync = lz_fsync,
    .flush = lz_flush,
    .release = lz_release,
    .statfs = lz_statfs,
    .chmod = lz_chmod,
    .utimens = lz_utimens,
    .fallocate = lz_fallocate,
};

/* ---- the cut ---------------------------------------------------------------------------- */

static struct {
  uint64_t files, dirs, unsynced_files, unsynced_bytes, unsynced_dirs;
} cut;

static void count_unsynced(void) {
  for (size_t b = 0; b < BUCKETS; b++) {
    for (struct node *n = inodes[b]; n; n = n->next) {
      if (n->is_dir) {
        if (n->dir_dirty) cut.unsynced_dirs++;
      } else if (n->unsynced_writes > 0) {
        cut.unsynced_files++;
        cut.unsynced_bytes += n->unsynced_bytes;
      }
    }
  }
}

static void materialize_file(struct node *n, const char *path) {
  cut.files++;
  char src[PATH_MAX];
  shadow_path(src, sizeof src, n, "");
  if (n->state == NEW || access(src, F_OK) != 0) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) die("cut: cannot create an empty file");
    close(fd);
    return;
  }
  if (!n->linked) {
    if (link(src, path) < 0) die("cut: cannot link a durable file");
    n->linked = 1;
    return;
  }
  int from = open(src, O_RDONLY);
  int to = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  struct stat st;
  if (from < 0 || to < 0 || fstat(from, &st) < 0 || copy_range(from, to, 0, st.st_size) < 0) {
    die("cut: cannot copy a durable file");
  }
  close(from);
  close(to);
}

static void materialize_dir(struct node *d, const char *path) {
  cut.dirs++;
  if (mkdir(path, 0755) < 0) die("cut: cannot create a directory");
  d->visiting = 1;
  for (size_t i = 0; i < d->ndents; i++) {
    struct node *n = d->dents[i].node;
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/%s", path, d->dents[i].name);
    if (n->is_dir) {
      if (!n->visiting) materialize_dir(n, sub);
    } else {
      materialize_file(n, sub);
    }
  }
  d->visiting = 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

static void rm_rf(const char *path) {
  if (access(path, F_OK) != 0) return;
  if (nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS) < 0) die("cannot remove a directory tree");
}

static void on_usr1(int sig) {
  (void)sig;
  cut_armed = 1;
}

int main(int argc, char *argv[]) {
  if (argc < 3) {
    fprintf(stderr, "usage: lazyfs BACKING_DIR MOUNTPOINT [fuse options]\n");
    return 2;
  }
  backing = realpath(argv[1], NULL);
  if (!backing) die("backing directory");
  size_t len = strlen(backing) + 32;
  shadow_dir = malloc(len);
  snprintf(shadow_dir, len, "%s.lazyfs-shadow", backing);
  rm_rf(shadow_dir);
  if (mkdir(shadow_dir, 0700) < 0) die("shadow directory");
  root_fd = open(backing, O_RDONLY | O_DIRECTORY);
  if (root_fd < 0) die("backing directory");
  struct stat st;
  if (fstat(root_fd, &st) < 0) die("backing directory");
  root = new_node(st.st_ino, 1, CLEAN);
  adopt(root, root_fd);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);

  /* argv for fuse: program, mountpoint, -f, then the caller's options */
  char **fargv = calloc((size_t)argc + 2, sizeof *fargv);
  int fargc = 0;
  fargv[fargc++] = argv[0];
  fargv[fargc++] = argv[2];
  fargv[fargc++] = "-f";
  for (int i = 3; i < argc; i++) fargv[fargc++] = argv[i];
  int rc = fuse_main(fargc, fargv, &ops, NULL);

  if (cut_armed) {
    count_unsynced();
    char fresh[PATH_MAX], old[PATH_MAX];
    snprintf(fresh, sizeof fresh, "%s.lazyfs-cut", backing);
    snprintf(old, sizeof old, "%s.lazyfs-old", backing);
    rm_rf(fresh);
    rm_rf(old);
    materialize_dir(root, fresh);
    close(root_fd);
    if (rename(backing, old) < 0) die("cut: cannot move the backing directory aside");
    if (rename(fresh, backing) < 0) die("cut: cannot move the durable state into place");
    rm_rf(old);
  }
  rm_rf(shadow_dir);
  printf("{\"cut\":%s,\"files\":%llu,\"dirs\":%llu,\"unsyncedFiles\":%llu,"
         "\"unsyncedBytes\":%llu,\"unsyncedDirs\":%llu,\"fsyncs\":%llu,\"fsyncdirs\":%llu,"
         "\"syncedBytes\":%llu,\"writes\":%llu,\"writtenBytes\":%llu}\n",
         cut_armed ? "true" : "false", (unsigned long long)cut.files,
         (unsigned long long)cut.dirs, (unsigned long long)cut.unsynced_files,
         (unsigned long long)cut.unsynced_bytes, (unsigned long long)cut.unsynced_dirs,
         (unsigned long long)stats.fsyncs, (unsigned long long)stats.fsyncdirs,
         (unsigned long long)stats.synced_bytes, (unsigned long long)stats.writes,
         (unsigned long long)stats.written_bytes);
  fflush(stdout);
  return rc;
}
