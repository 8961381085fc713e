/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <unistd.h>

#include "i18n.h"
#include "store.h"

static const struct mc_db_info db_info[MC_DB__COUNT] = {
#define DB_INFO(id, name, label, kind, flags) [MC_DB_##id] = { name, label, kind, flags },
	MC_DBS(DB_INFO)
#undef DB_INFO
};

const struct mc_db_info *mc_db_info(unsigned db)
{
	return db < MC_DB__COUNT ? &db_info[db] : NULL;
}

#define MC_MAP_INITIAL (64ULL << 20)   /* 64 MiB; grows by doubling */
#define MC_MAP_STEP_MAX (4ULL << 30)   /* grow by at most 4 GiB at a time */
#define MC_MAX_READERS 126

struct mc_store {
	MDB_env *env;
	MDB_dbi dbi[MC_DB__COUNT];
	bool absent[MC_DB__COUNT];  /* read-only, and older than the table */
	bool rdonly;
	bool scratch;               /* MC_STORE_SCRATCH */
	/* mc_store_trim: the data file's mappings, found in /proc/self/maps
	 * for map generation trim_gen (map_gen counts the remaps, which only
	 * mdb_env_set_mapsize makes: resize() below) */
	uintptr_t trim_lo[4], trim_hi[4];
	unsigned ntrim;
	unsigned long map_gen, trim_gen;
	/* mc_store_borrow: tables read from another store's transaction */
	struct mc_txn *borrow[MC_DB__COUNT];
	/* mc_store_divert: tables whose puts go to a sink */
	mc_store_sink_fn sink[MC_DB__COUNT];
	void *sink_ctx[MC_DB__COUNT];
	/* Every transaction of this process holds it shared; changing the
	 * map size (growing it, or adopting another process's growth) holds
	 * it alone: LMDB remaps, and a thread still reading the old mapping
	 * would fault. */
	pthread_rwlock_t maplock;
	pthread_mutex_t trim_mu;      /* mc_store_trim: one caller at a time */
	/* mc_store_autotrim and mc_store_autotrim_shared (set before the
	 * threads that use the store start) */
	size_t trim_above;
	unsigned trim_every;          /* gets and puts a txn between checks */
	struct mc_store *trim_also;
	int statm_fd;                 /* /proc/self/statm while autotrimmed, or -1 */
	mc_remote_fn remote;        /* mc_store_set_remote */
	void *remote_ctx;
};

struct mc_txn {
	struct mc_store *s;
	MDB_txn *txn;
	bool map_full;  /* an operation hit MDB_MAP_FULL: grow and rerun */
	unsigned trim_ops;  /* gets and puts since the last autotrim check */
};

struct mc_cursor {
	MDB_cursor *cur;
	struct mc_txn *t;
};

static int lmdb_err(struct mc_err *err, int rc, const char *what)
{
	int code = EX_SOFTWARE;

	switch (rc) {
	case EIO:
	case ENOSPC:
	case EDQUOT:
		code = EX_IOERR;
		break;
	case EACCES:
	case EROFS:
	case EPERM:
		code = EX_CANTCREAT;
		break;
	case ENOMEM:
		code = EX_OSERR;
		break;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_BAD_VALSIZE:
		code = EX_DATAERR;
		break;
	case MDB_READERS_FULL:
		code = EX_TEMPFAIL;
		break;
	default:
		break;
	}
	if (code == EX_IOERR)
		return mc_err_set(err, code, _("storage: %s: %s (is the disk full or failing? nothing was committed)"),
				  what, mdb_strerror(rc));
	return mc_err_set(err, code, _("storage: %s: %s"), what, mdb_strerror(rc));
}

/* Whether the main database names only tables of MC_DBS: a name changed
 * by one flipped byte would leave an optional table "absent" (read as
 * empty) and a stray table beside it. */
static int known_tables_only(MDB_txn *txn, struct mc_err *err)
{
	MDB_dbi main_db;
	MDB_cursor *c;
	MDB_val k, v;
	int rc = mdb_dbi_open(txn, NULL, 0, &main_db);

	if (rc == 0)
		rc = mdb_cursor_open(txn, main_db, &c);
	if (rc != 0)
		return lmdb_err(err, rc, _("the table list"));
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		bool known = false;

		for (int i = 0; i < MC_DB__COUNT && !known; i++)
			known = k.mv_size == strlen(db_info[i].name) && memcmp(k.mv_data, db_info[i].name, k.mv_size) == 0;
		if (!known) {
			mdb_cursor_close(c);
			return mc_err_set(err, EX_DATAERR,
					  _("the store holds a table medchain does not know (%zu bytes of name): the store is damaged"),
					  k.mv_size);
		}
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : lmdb_err(err, rc, _("the table list"));
}

/* Opens every table of MC_DBS in txn (creating it unless read-only; an
 * optional one may be absent). Every table is kept with LMDB's default
 * order: a table whose stored flags say otherwise (a reversed or integer
 * key, duplicates) was altered outside medchain, and its rows would be
 * ordered and compared by another rule, so the store is refused. */
static int open_dbis(struct mc_store *s, MDB_txn *txn, bool create, const char *dir, struct mc_err *err)
{
	for (int i = 0; i < MC_DB__COUNT; i++) {
		unsigned int flags = 0;
		int rc = mdb_dbi_open(txn, db_info[i].name, create ? MDB_CREATE : 0, &s->dbi[i]);

		if (rc == MDB_NOTFOUND && !create && !s->rdonly)
			return 1;   /* a table to create: in a write txn */
		if (rc == MDB_NOTFOUND && (db_info[i].flags & MC_DBF_OPTIONAL)) {
			s->absent[i] = true;
			continue;
		}
		if (rc == MDB_NOTFOUND)
			return mc_err_set(err, EX_NOINPUT, _("'%s' is not a medchain database"), dir);
		if (rc != 0)
			return lmdb_err(err, rc, db_info[i].name);
		rc = mdb_dbi_flags(txn, s->dbi[i], &flags);
		if (rc != 0)
			return lmdb_err(err, rc, db_info[i].name);
		if (flags != 0)
			return mc_err_set(err, EX_DATAERR,
					  _("%s: the table's LMDB flags were altered (0x%x, not 0): the store is damaged"),
					  _(db_info[i].label), flags);
	}
	return known_tables_only(txn, err);
}

/* MC_STORE_SCRATCH: created, writable, and no environment in dir yet (so
 * never a node's store). */
static bool scratch_ok(const char *dir, unsigned flags)
{
	char path[PATH_MAX];
	struct stat st;

	if (!(flags & MC_STORE_CREATE) || (flags & MC_STORE_RDONLY))
		return false;
	if (snprintf(path, sizeof(path), "%s/data.mdb", dir) >= (int)sizeof(path))
		return false;
	return stat(path, &st) != 0 && errno == ENOENT;
}

int mc_store_open(const char *dir, unsigned flags, struct mc_store **out, struct mc_err *err)
{
	struct mc_store *s;
	struct stat st;
	MDB_txn *txn = NULL;
	unsigned envflags = MDB_NOTLS;
	int rc, dead = 0;

	*out = NULL;
	if ((flags & MC_STORE_SCRATCH) && !scratch_ok(dir, flags))
		return mc_err_set(err, EX_SOFTWARE, _("'%s': only a new scratch store may be opened without fsync"),
				  dir);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		if (!(flags & MC_STORE_CREATE))
			return mc_err_set(err, EX_NOINPUT, _("no chain database in '%s'"), dir);
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return mc_err_set(err, EX_CANTCREAT, _("cannot create '%s': %s"), dir,
					  strerror(errno));
	} else if (!(flags & MC_STORE_CREATE)) {
		char path[PATH_MAX];
		struct stat dst;

		snprintf(path, sizeof(path), "%s/data.mdb", dir);
		if (stat(path, &dst) != 0)
			return mc_err_set(err, EX_NOINPUT, _("no chain database in '%s'"), dir);
	}

	s = calloc(1, sizeof(*s));
	if (!s)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	s->statm_fd = -1;
	if (pthread_rwlock_init(&s->maplock, NULL) != 0) {
		free(s);
		return mc_err_set(err, EX_OSERR, _("cannot create the map lock"));
	}
	pthread_mutex_init(&s->trim_mu, NULL);   /* default attributes: cannot fail */
	s->rdonly = (flags & MC_STORE_RDONLY) != 0;
	if (s->rdonly)
		envflags |= MDB_RDONLY;
	s->scratch = (flags & MC_STORE_SCRATCH) != 0;
	if (s->scratch)
		envflags |= MDB_NOSYNC; /* the scratch exception (store.h) */
	if (flags & MC_STORE_RANDOM)
		envflags |= MDB_NORDAHEAD;

	rc = mdb_env_create(&s->env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(s->env, MC_DB__COUNT + 2);
	if (rc == 0)
		rc = mdb_env_set_maxreaders(s->env, MC_MAX_READERS);
	if (rc == 0 && (flags & MC_STORE_CREATE))
		rc = mdb_env_set_mapsize(s->env, MC_MAP_INITIAL);
	if (rc != 0) {
		lmdb_err(err, rc, _("cannot create the environment"));
		goto fail;
	}
	/* Never MDB_NOSYNC (but for a new scratch store, above), MDB_MAPASYNC,
	 * MDB_WRITEMAP or MDB_NOMEMINIT. */
	rc = mdb_env_open(s->env, dir, envflags, 0600);
	if (rc != 0) {
		lmdb_err(err, rc, dir);
		goto fail;
	}
	mdb_reader_check(s->env, &dead);

	/* The tables are opened in a read txn, without the writer lock (which
	 * serve may hold through its fsyncs); a write txn only when one is to
	 * be created (a new store, a table added since). */
	for (bool create = false;; create = true) {
		rc = mdb_txn_begin(s->env, NULL, create ? 0 : MDB_RDONLY, &txn);
		if (rc == MDB_MAP_RESIZED) {
			mdb_env_set_mapsize(s->env, 0);
			rc = mdb_txn_begin(s->env, NULL, create ? 0 : MDB_RDONLY, &txn);
		}
		if (rc != 0) {
			lmdb_err(err, rc, _("cannot begin a transaction"));
			goto fail;
		}
		rc = open_dbis(s, txn, create, dir, err);
		if (rc == 0)
			break;
		mdb_txn_abort(txn);
		if (rc < 0)
			goto fail;
		memset(s->absent, 0, sizeof(s->absent));
	}
	/* Committed even when read-only: DBI handles opened in an aborted
	 * transaction are closed with it. */
	rc = mdb_txn_commit(txn);
	if (rc != 0) {
		lmdb_err(err, rc, _("cannot commit"));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->env)
		mdb_env_close(s->env);
	pthread_rwlock_destroy(&s->maplock);
	pthread_mutex_destroy(&s->trim_mu);
	free(s);
	return -1;
}

void mc_store_close(struct mc_store *s)
{
	if (!s)
		return;
	mdb_env_close(s->env);
	pthread_rwlock_destroy(&s->maplock);
	pthread_mutex_destroy(&s->trim_mu);
	if (s->statm_fd >= 0)
		close(s->statm_fd);
	free(s);
}

void mc_store_set_remote(struct mc_store *s, mc_remote_fn fn, void *ctx)
{
	s->remote = fn;
	s->remote_ctx = fn ? ctx : NULL;
}

mc_remote_fn mc_store_remote(const struct mc_store *s, void **ctx)
{
	*ctx = s->remote_ctx;
	return s->remote;
}

/* One line of /proc/self/maps, "lo-hi perms offset maj:min inode path":
 * true if it maps the file (dev, ino); its range in *lo, *hi. */
static bool maps_line(const char *p, dev_t dev, ino_t ino, uintptr_t *lo, uintptr_t *hi)
{
	char *e;
	unsigned long maj, mnr;

	*lo = strtoul(p, &e, 16);
	if (*e != '-')
		return false;
	*hi = strtoul(e + 1, &e, 16);
	for (int field = 0; field < 2; field++) { /* perms, offset */
		while (*e == ' ')
			e++;
		while (*e && *e != ' ')
			e++;
	}
	maj = strtoul(e, &e, 16);
	if (*e != ':')
		return false;
	mnr = strtoul(e + 1, &e, 16);
	return maj == major(dev) && mnr == minor(dev) && strtoul(e, NULL, 10) == (unsigned long)ino &&
	       *hi > *lo;
}

/* The data file's mappings (at most 4), from /proc/self/maps by device
 * and inode. */
static void find_maps(struct mc_store *s)
{
	char line[PATH_MAX + 256];
	struct stat st;
	FILE *f;
	int fd;

	s->ntrim = 0;
	if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &st) != 0)
		return;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return;
	while (s->ntrim < 4 && fgets(line, sizeof(line), f))
		if (maps_line(line, st.st_dev, st.st_ino, &s->trim_lo[s->ntrim], &s->trim_hi[s->ntrim]))
			s->ntrim++;
	fclose(f);
}

/* LMDB does not give the map's address (mdb_env_info's me_mapaddr is set
 * only for MDB_FIXEDMAP): the mappings of the data file are found in
 * /proc/self/maps by device and inode, and looked up again after a remap
 * (only mdb_env_set_mapsize remaps, in resize(), which holds the map lock
 * alone and counts it in map_gen; this holds it shared). They are shared
 * and file-backed, so a dropped page is read back from the page cache as
 * it was. */
void mc_store_trim(struct mc_store *s)
{
	pthread_mutex_lock(&s->trim_mu);   /* the mappings found are shared state */
	/* taken shared again when an autotrim runs in a txn of this thread,
	 * which holds it: this relies on the default lock of glibc (and musl)
	 * letting a reader in past a writer waiting in resize(); a
	 * writer-preferring lock would deadlock here */
	pthread_rwlock_rdlock(&s->maplock);
	if (s->trim_gen != s->map_gen + 1) {
		find_maps(s);
		if (s->ntrim) /* else looked for again next time */
			s->trim_gen = s->map_gen + 1;
	}
	for (unsigned i = 0; i < s->ntrim; i++)
		madvise((void *)s->trim_lo[i], s->trim_hi[i] - s->trim_lo[i], MADV_DONTNEED);
	pthread_rwlock_unlock(&s->maplock);
	pthread_mutex_unlock(&s->trim_mu);
}

/* The process's file-backed resident set, in bytes (statm's third field,
 * in pages), read through fd (/proc/self/statm, kept open while s is
 * autotrimmed: one system call a check) or else opened for it; 0 if it
 * cannot be read. */
static unsigned long file_rss(int fd)
{
	char buf[128], *p = buf;
	long page = sysconf(_SC_PAGESIZE);
	int own = fd < 0 ? open("/proc/self/statm", O_RDONLY | O_CLOEXEC) : -1;
	ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : own < 0 ? -1 : read(own, buf, sizeof(buf) - 1);

	if (own >= 0)
		close(own);
	if (n <= 0 || page <= 0)
		return 0;
	buf[n] = '\0';
	(void)strtoul(p, &p, 10); /* size */
	(void)strtoul(p, &p, 10); /* resident */
	return strtoul(p, NULL, 10) * (unsigned long)page;
}

void mc_store_trim_above(struct mc_store *s, struct mc_store *also, size_t above)
{
	unsigned long rss = file_rss(s->statm_fd);

	if (rss != 0 && rss < above)
		return;
	mc_store_trim(s);
	if (also)
		mc_store_trim(also);
}

/* Sets what autotrim_tick does (the statm file open while it runs). */
static void autotrim_set(struct mc_store *s, struct mc_store *also, size_t above, unsigned every)
{
	s->trim_every = every ? every : 1;
	s->trim_also = also;
	s->trim_above = above;
	if (above && s->statm_fd < 0)
		s->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (!above && s->statm_fd >= 0) {
		close(s->statm_fd);
		s->statm_fd = -1;
	}
}

void mc_store_autotrim(struct mc_store *s, struct mc_store *also, size_t above)
{
	if (s->scratch)
		autotrim_set(s, also, above, MC_STORE_TRIM_OPS);
}

void mc_store_autotrim_shared(struct mc_store *s, size_t above, unsigned every)
{
	autotrim_set(s, NULL, above, every);
	if (above)  /* 0 if unreadable: the bound is then above alone */
		s->trim_above = above + file_rss(s->statm_fd);
}

/* A read or write in t under mc_store_autotrim: the ops are counted in the
 * transaction, which is one thread's. */
static void autotrim_tick(struct mc_txn *t)
{
	if (t->s->trim_above == 0 || ++t->trim_ops < t->s->trim_every)
		return;
	t->trim_ops = 0;
	mc_store_trim_above(t->s, t->s->trim_also, t->s->trim_above);
}

uint64_t mc_store_mapsize(struct mc_store *s)
{
	MDB_envinfo info;

	if (mdb_env_info(s->env, &info) != 0)
		return 0;
	return info.me_mapsize;
}

static int grow_map(struct mc_store *s, struct mc_err *err)
{
	MDB_envinfo info;
	uint64_t size, step;
	int rc;

	rc = mdb_env_info(s->env, &info);
	if (rc != 0)
		return lmdb_err(err, rc, _("cannot read the map size"));
	size = info.me_mapsize;
	step = size < MC_MAP_STEP_MAX ? size : MC_MAP_STEP_MAX;
	rc = mdb_env_set_mapsize(s->env, size + step);
	if (rc != 0)
		return lmdb_err(err, rc, _("cannot grow the map"));
	return 0;
}

/* Changes the map size with no transaction of this process open: grows
 * it, or (grow false) adopts the size another process gave it. */
static int resize(struct mc_store *s, bool grow, struct mc_err *err)
{
	int rc;

	pthread_rwlock_wrlock(&s->maplock);
	s->map_gen++; /* mc_store_trim looks for the mappings again */
	if (grow) {
		rc = grow_map(s, err);
	} else {
		rc = mdb_env_set_mapsize(s->env, 0);
		if (rc != 0)
			rc = lmdb_err(err, rc, _("cannot adopt the map size"));
	}
	pthread_rwlock_unlock(&s->maplock);
	return rc;
}

/* Begins a transaction holding the map lock shared; end() releases it. */
static int begin(struct mc_store *s, unsigned flags, MDB_txn **txn, struct mc_err *err)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		int rc;

		pthread_rwlock_rdlock(&s->maplock);
		rc = mdb_txn_begin(s->env, NULL, flags, txn);
		if (rc == 0)
			return 0;
		pthread_rwlock_unlock(&s->maplock);
		if (rc != MDB_MAP_RESIZED)
			return lmdb_err(err, rc, _("cannot begin a transaction"));
		/* Another process grew the map: adopt its size. */
		if (resize(s, false, err) != 0)
			return -1;
	}
	return mc_err_set(err, EX_TEMPFAIL, _("cannot begin a transaction: the map keeps being resized"));
}

static void end(struct mc_store *s)
{
	pthread_rwlock_unlock(&s->maplock);
}

int mc_store_write(struct mc_store *s, mc_store_fn fn, void *ctx, struct mc_err *err)
{
	if (s->rdonly)
		return mc_err_set(err, EX_SOFTWARE, _("storage: opened read-only"));
	for (int attempt = 0; attempt < 32; attempt++) {
		struct mc_txn t = { .s = s };
		int rc;

		if (begin(s, 0, &t.txn, err) != 0)
			return -1;
		rc = fn(&t, ctx, err);
		if (rc != 0) {
			mdb_txn_abort(t.txn);
			end(s);
			if (!t.map_full)
				return -1;
		} else {
			rc = mdb_txn_commit(t.txn);
			end(s);
			if (rc == 0)
				return 0;
			if (rc != MDB_MAP_FULL)
				return lmdb_err(err, rc, _("cannot commit"));
			t.map_full = true;
		}
		/* MDB_MAP_FULL from a put or from the commit: grow with no
		 * transaction open and run the whole transaction again. */
		mc_err_clear(err);
		if (resize(s, true, err) != 0)
			return -1;
	}
	return mc_err_set(err, EX_IOERR, _("storage: the map cannot grow enough"));
}

int mc_store_read(struct mc_store *s, mc_store_fn fn, void *ctx, struct mc_err *err)
{
	struct mc_txn t = { .s = s };
	int rc;

	if (begin(s, MDB_RDONLY, &t.txn, err) != 0)
		return -1;
	rc = fn(&t, ctx, err);
	mdb_txn_abort(t.txn);
	end(s);
	return rc;
}

static int op_err(struct mc_txn *t, int rc, struct mc_err *err, const char *what)
{
	if (rc == MDB_MAP_FULL)
		t->map_full = true;
	return lmdb_err(err, rc, what);
}

int mc_store_borrow(struct mc_store *s, enum mc_db db, struct mc_txn *from, struct mc_err *err)
{
	if (!s->scratch)
		return mc_err_set(err, EX_SOFTWARE, _("storage: only a scratch store may read a table from another store"));
	s->borrow[db] = from;
	return 0;
}

int mc_store_divert(struct mc_store *s, enum mc_db db, mc_store_sink_fn fn, void *ctx, struct mc_err *err)
{
	if (!s->scratch)
		return mc_err_set(err, EX_SOFTWARE, _("storage: only a scratch store may hand a table's writes elsewhere"));
	s->sink[db] = fn;
	s->sink_ctx[db] = fn ? ctx : NULL;
	return 0;
}

int mc_store_scratch_map(struct mc_store *s, uint64_t size, struct mc_err *err)
{
	int rc;

	if (!s->scratch)
		return mc_err_set(err, EX_SOFTWARE, _("storage: only a scratch store's map is set this way"));
	pthread_rwlock_wrlock(&s->maplock);
	s->map_gen++; /* mc_store_trim looks for the mappings again */
	rc = mdb_env_set_mapsize(s->env, (size_t)size);
	pthread_rwlock_unlock(&s->maplock);
	return rc == 0 ? 0 : lmdb_err(err, rc, _("cannot set the map size"));
}

bool mc_txn_diverted(const struct mc_txn *t, enum mc_db db)
{
	return t->s->sink[db] != NULL;
}

/* A use of a diverted table other than a put. */
static int diverted(struct mc_err *err, enum mc_db db)
{
	return mc_err_set(err, EX_SOFTWARE, _("%s: the replay only writes this table, and it was read"),
			  _(db_info[db].label));
}

/* A write to a borrowed table: a put of the very row the other store holds
 * writes nothing; anything else is refused. */
static int borrowed_put(struct mc_txn *t, enum mc_db db, const void *k, size_t kn, const void *v, size_t vn,
			struct mc_err *err)
{
	const void *have;
	size_t hn;
	int rc = v ? mc_txn_get(t->s->borrow[db], db, k, kn, &have, &hn, err) : MC_NOTFOUND;

	if (rc < 0)
		return -1;
	if (rc == 0 && hn == vn && memcmp(have, v, vn) == 0)
		return 0;
	return mc_err_set(err, EX_DATAERR, _("%s: the replay writes a row the node's store does not hold"),
			  _(db_info[db].label));
}

int mc_txn_get(struct mc_txn *t, enum mc_db db, const void *k, size_t kn,
	       const void **v, size_t *vn, struct mc_err *err)
{
	MDB_val key = { kn, (void *)k }, val;
	int rc;

	autotrim_tick(t);
	if (t->s->sink[db])
		return diverted(err, db);
	if (t->s->borrow[db])
		return mc_txn_get(t->s->borrow[db], db, k, kn, v, vn, err);
	rc = t->s->absent[db] ? MDB_NOTFOUND : mdb_get(t->txn, t->s->dbi[db], &key, &val);

	if (rc == MDB_NOTFOUND)
		return MC_NOTFOUND;
	if (rc != 0)
		return op_err(t, rc, err, db_info[db].name);
	*v = val.mv_data;
	*vn = val.mv_size;
	return 0;
}

int mc_txn_put(struct mc_txn *t, enum mc_db db, const void *k, size_t kn,
	       const void *v, size_t vn, struct mc_err *err)
{
	MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
	int rc;

	autotrim_tick(t);
	if (t->s->sink[db])
		return t->s->sink[db](t->s->sink_ctx[db], db, k, kn, v, vn, err);
	if (t->s->borrow[db])
		return borrowed_put(t, db, k, kn, v, vn, err);
	rc = mdb_put(t->txn, t->s->dbi[db], &key, &val, 0);
	if (rc != 0)
		return op_err(t, rc, err, db_info[db].name);
	return 0;
}

int mc_txn_put_new(struct mc_txn *t, enum mc_db db, const void *k, size_t kn,
		   const void *v, size_t vn, struct mc_err *err)
{
	MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
	int rc;

	autotrim_tick(t);
	if (t->s->sink[db])
		return diverted(err, db);
	if (t->s->borrow[db])
		return borrowed_put(t, db, k, kn, NULL, vn, err);
	rc = mdb_put(t->txn, t->s->dbi[db], &key, &val, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return MC_EXISTS;
	if (rc != 0)
		return op_err(t, rc, err, db_info[db].name);
	return 0;
}

int mc_txn_reserve(struct mc_txn *t, enum mc_db db, const void *k, size_t kn,
		   size_t vn, void **v, struct mc_err *err)
{
	MDB_val key = { kn, (void *)k }, val = { vn, NULL };
	int rc;

	autotrim_tick(t);
	if (t->s->sink[db])
		return diverted(err, db);
	if (t->s->borrow[db])
		return borrowed_put(t, db, k, kn, NULL, vn, err);
	rc = mdb_put(t->txn, t->s->dbi[db], &key, &val, MDB_RESERVE);
	if (rc != 0)
		return op_err(t, rc, err, db_info[db].name);
	*v = val.mv_data;
	return 0;
}

int mc_txn_append_reserve(struct mc_txn *t, enum mc_db db, const void *k, size_t kn,
			  size_t vn, void **v, struct mc_err *err)
{
	MDB_val key = { kn, (void *)k }, val = { vn, NULL };
	int rc;

	autotrim_tick(t);
	if (t->s->sink[db])
		return diverted(err, db);
	if (t->s->borrow[db])
		return borrowed_put(t, db, k, kn, NULL, vn, err);
	rc = mdb_put(t->txn, t->s->dbi[db], &key, &val, MDB_RESERVE | MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		return mc_txn_reserve(t, db, k, kn, vn, v, err);
	if (rc != 0)
		return op_err(t, rc, err, db_info[db].name);
	*v = val.mv_data;
	return 0;
}

int mc_txn_append(struct mc_txn *t, enum mc_db db, const void *k, size_t kn,
		  const void *v, size_t vn, struct mc_err *err)
{
	MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
	int rc;

	if (t->s->sink[db])
		return t->s->sink[db](t->s->sink_ctx[db], db, k, kn, v, vn, err);
	if (t->s->borrow[db])
		return borrowed_put(t, db, k, kn, v, vn, err);
	rc = mdb_put(t->txn, t->s->dbi[db], &key, &val, MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		return mc_txn_put(t, db, k, kn, v, vn, err);
	if (rc != 0)
		return op_err(t, rc, err, db_info[db].name);
	return 0;
}

int mc_txn_append_new(struct mc_txn *t, enum mc_db db, const void *k, size_t kn,
		      const void *v, size_t vn, struct mc_err *err)
{
	MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
	int rc;

	if (t->s->sink[db] || t->s->borrow[db])
		return mc_txn_put_new(t, db, k, kn, v, vn, err);
	rc = mdb_put(t->txn, t->s->dbi[db], &key, &val, MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		return mc_txn_put_new(t, db, k, kn, v, vn, err);
	if (rc != 0)
		return op_err(t, rc, err, db_info[db].name);
	return 0;
}

int mc_txn_del(struct mc_txn *t, enum mc_db db, const void *k, size_t kn, struct mc_err *err)
{
	MDB_val key = { kn, (void *)k };
	int rc;

	if (t->s->sink[db])
		return diverted(err, db);
	if (t->s->borrow[db])
		return borrowed_put(t, db, k, kn, NULL, 0, err);
	rc = mdb_del(t->txn, t->s->dbi[db], &key, NULL);
	if (rc == MDB_NOTFOUND)
		return MC_NOTFOUND;
	if (rc != 0)
		return op_err(t, rc, err, db_info[db].name);
	return 0;
}

int mc_txn_clear(struct mc_txn *t, enum mc_db db, struct mc_err *err)
{
	uint64_t n;
	int rc;

	if (t->s->sink[db])
		return diverted(err, db);
	if (t->s->borrow[db]) {
		if (mc_txn_count(t, db, &n, err) != 0)
			return -1;
		return n == 0 ? 0 : borrowed_put(t, db, NULL, 0, NULL, 0, err);
	}
	rc = mdb_drop(t->txn, t->s->dbi[db], 0);
	if (rc != 0)
		return op_err(t, rc, err, db_info[db].name);
	return 0;
}

int mc_txn_count(struct mc_txn *t, enum mc_db db, uint64_t *n, struct mc_err *err)
{
	MDB_stat st = { 0 };
	int rc;

	if (t->s->sink[db])
		return diverted(err, db);
	if (t->s->borrow[db])
		return mc_txn_count(t->s->borrow[db], db, n, err);
	rc = t->s->absent[db] ? 0 : mdb_stat(t->txn, t->s->dbi[db], &st);
	if (rc != 0)
		return op_err(t, rc, err, db_info[db].name);
	*n = st.ms_entries;
	return 0;
}

int mc_cursor_open(struct mc_txn *t, enum mc_db db, struct mc_cursor **c, struct mc_err *err)
{
	struct mc_cursor *cur = calloc(1, sizeof(*cur));
	int rc;

	*c = NULL;
	if (t->s->sink[db]) {
		free(cur);
		return diverted(err, db);
	}
	if (t->s->borrow[db]) {
		free(cur);
		return mc_cursor_open(t->s->borrow[db], db, c, err);
	}
	if (!cur)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	/* an absent table: a cursor that finds nothing (cur stays NULL) */
	rc = t->s->absent[db] ? 0 : mdb_cursor_open(t->txn, t->s->dbi[db], &cur->cur);
	if (rc != 0) {
		free(cur);
		return op_err(t, rc, err, db_info[db].name);
	}
	cur->t = t;
	*c = cur;
	return 0;
}

void mc_cursor_close(struct mc_cursor *c)
{
	if (!c)
		return;
	if (c->cur)
		mdb_cursor_close(c->cur);
	free(c);
}

static int cursor_get(struct mc_cursor *c, MDB_val *key, MDB_cursor_op op,
		      const void **k, size_t *kn, const void **v, size_t *vn,
		      struct mc_err *err)
{
	MDB_val val;
	int rc = c->cur ? mdb_cursor_get(c->cur, key, &val, op) : MDB_NOTFOUND;

	if (rc == MDB_NOTFOUND)
		return MC_NOTFOUND;
	if (rc != 0)
		return op_err(c->t, rc, err, _("cursor"));
	if (k)
		*k = key->mv_data;
	if (kn)
		*kn = key->mv_size;
	if (v)
		*v = val.mv_data;
	if (vn)
		*vn = val.mv_size;
	return 0;
}

int mc_cursor_seek(struct mc_cursor *c, const void *k, size_t kn,
		   const void **key, size_t *keyn, const void **v, size_t *vn, struct mc_err *err)
{
	MDB_val mk = { kn, (void *)k };

	if (!k)
		return cursor_get(c, &mk, MDB_FIRST, key, keyn, v, vn, err);
	return cursor_get(c, &mk, MDB_SET_RANGE, key, keyn, v, vn, err);
}

int mc_cursor_next(struct mc_cursor *c, const void **key, size_t *keyn,
		   const void **v, size_t *vn, struct mc_err *err)
{
	MDB_val mk = { 0, NULL };

	return cursor_get(c, &mk, MDB_NEXT, key, keyn, v, vn, err);
}

int mc_cursor_prev(struct mc_cursor *c, const void **key, size_t *keyn,
		   const void **v, size_t *vn, struct mc_err *err)
{
	MDB_val mk = { 0, NULL };

	return cursor_get(c, &mk, MDB_PREV, key, keyn, v, vn, err);
}

int mc_cursor_last(struct mc_cursor *c, const void **key, size_t *keyn,
		   const void **v, size_t *vn, struct mc_err *err)
{
	MDB_val mk = { 0, NULL };

	return cursor_get(c, &mk, MDB_LAST, key, keyn, v, vn, err);
}

int mc_cursor_del(struct mc_cursor *c, struct mc_err *err)
{
	int rc = c->cur ? mdb_cursor_del(c->cur, 0) : EACCES;

	if (rc != 0)
		return op_err(c->t, rc, err, _("cursor"));
	return 0;
}

int mc_store_copy(struct mc_store *s, const char *dir, struct mc_err *err)
{
	int rc;

	pthread_rwlock_rdlock(&s->maplock);   /* it reads in a transaction of its own */
	rc = mdb_env_copy2(s->env, dir, MDB_CP_COMPACT);
	pthread_rwlock_unlock(&s->maplock);

	if (rc == 0)
		return 0;
	if (rc == ENOSPC)
		return mc_err_set(err, EX_IOERR, _("the copy does not fit: %s"), mdb_strerror(rc));
	return mc_err_set(err, rc == EACCES || rc == ENOENT ? EX_CANTCREAT : EX_IOERR, _("cannot copy the store to '%s': %s"),
			  dir, mdb_strerror(rc));
}

int mc_store_read_begin(struct mc_store *s, struct mc_txn **out, struct mc_err *err)
{
	struct mc_txn *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	t->s = s;
	if (begin(s, MDB_RDONLY, &t->txn, err) != 0) {
		free(t);
		return -1;
	}
	*out = t;
	return 0;
}

void mc_store_read_end(struct mc_txn *t)
{
	if (!t)
		return;
	mdb_txn_abort(t->txn);
	end(t->s);
	free(t);
}
