/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "i18n.h"
#include "spool.h"

/* A row, in the chunk and in the file: kn u32 | vn u32 | key | value, in
 * this machine's byte order (the file lives as long as the spool). */
#define ROW_HEAD 8
#define WRITE_BUF (64u << 10)
#define KEY_MAX 4096u   /* longer than any LMDB key (511 bytes) */

struct run {
	uint64_t off, len;
};

struct reader {
	uint64_t off, end;      /* the next byte of its run to read, and its end */
	uint64_t given;         /* the run's bytes before it are given back (give_back) */
	uint8_t *buf;
	size_t cap, pos, len;   /* bytes buf[pos, len) read but not consumed */
	const uint8_t *row;     /* the row it is at (into buf), NULL at its end */
	uint32_t kn, vn;
};

struct mc_spool {
	int fd;
	char *path;
	size_t mem;
	uint8_t *buf;           /* the chunk's rows */
	size_t len, cap, rows;
	size_t mark_len, mark_rows; /* the last commit point */
	uint64_t kept;          /* rows in runs */
	struct run *runs;
	size_t nruns, capruns;
	uint64_t file_len;
	bool keep;              /* the file system cannot give bytes back (give_back) */
	bool sorted;            /* mc_spool_sorted ran: rows are read once (their
				 * blocks given back as they are), never again */
	/* the merge */
	struct reader *rd;
	size_t nrd;
	size_t *heap;           /* readers, the least row first */
	long pending;           /* the reader whose row was given last: it moves on next */
	uint8_t *wbuf;          /* a run being written */
	size_t wlen;
	uint64_t woff;
};

static int io_err(struct mc_err *err)
{
	return mc_err_set(err, EX_IOERR, _("cannot write verify's scratch files: %s"), strerror(errno));
}

static int damaged(struct mc_err *err)
{
	return mc_err_set(err, EX_SOFTWARE, _("verify's scratch file of sorted rows is damaged"));
}

static int oom(struct mc_err *err)
{
	return mc_err_set(err, EX_OSERR, _("out of memory"));
}

int mc_spool_open(const char *path, size_t mem, struct mc_spool **out, struct mc_err *err)
{
	struct mc_spool *sp = calloc(1, sizeof(*sp));

	*out = NULL;
	if (!sp || !(sp->path = strdup(path))) {
		free(sp);
		return oom(err);
	}
	sp->mem = mem;
	sp->pending = -1;
	sp->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (sp->fd < 0) {
		int e = io_err(err);

		free(sp->path);
		free(sp);
		return e;
	}
	*out = sp;
	return 0;
}

static void merge_end(struct mc_spool *sp)
{
	for (size_t i = 0; i < sp->nrd; i++)
		free(sp->rd[i].buf);
	free(sp->rd);
	free(sp->heap);
	sp->rd = NULL;
	sp->heap = NULL;
	sp->nrd = 0;
	sp->pending = -1;
}

void mc_spool_close(struct mc_spool *sp)
{
	if (!sp)
		return;
	merge_end(sp);
	close(sp->fd);
	unlink(sp->path);
	free(sp->path);
	free(sp->buf);
	free(sp->runs);
	free(sp->wbuf);
	free(sp);
}

int mc_spool_add(struct mc_spool *sp, const void *k, size_t kn, const void *v, size_t vn, struct mc_err *err)
{
	uint32_t h[2] = { (uint32_t)kn, (uint32_t)vn };
	size_t need = ROW_HEAD + kn + vn;

	if (sp->sorted)
		return mc_err_set(err, EX_SOFTWARE, _("verify's scratch rows were already read once"));
	if (kn > KEY_MAX || vn > UINT32_MAX - KEY_MAX)
		return mc_err_set(err, EX_SOFTWARE, _("a row too large to sort"));
	if (sp->cap - sp->len < need) {
		size_t cap = sp->cap ? sp->cap : 64u << 10;
		void *p;

		while (cap - sp->len < need)
			cap *= 2;
		if (!(p = realloc(sp->buf, cap)))
			return oom(err);
		sp->buf = p;
		sp->cap = cap;
	}
	memcpy(sp->buf + sp->len, h, ROW_HEAD);
	memcpy(sp->buf + sp->len + ROW_HEAD, k, kn);
	if (vn)
		memcpy(sp->buf + sp->len + ROW_HEAD + kn, v, vn);
	sp->len += need;
	sp->rows++;
	return 0;
}

void mc_spool_rollback(struct mc_spool *sp)
{
	sp->len = sp->mark_len;
	sp->rows = sp->mark_rows;
}

uint64_t mc_spool_count(const struct mc_spool *sp)
{
	return sp->kept + sp->mark_rows;
}

/* LMDB's default order of keys; equal keys by where the rows are (the
 * order they were added in). */
static int key_cmp(const uint8_t *a, uint32_t an, const uint8_t *b, uint32_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	return c ? c : an < bn ? -1 : an > bn;
}

static int row_cmp(const void *x, const void *y)
{
	const uint8_t *a = *(const uint8_t *const *)x, *b = *(const uint8_t *const *)y;
	uint32_t an, bn;
	int c;

	memcpy(&an, a, 4);
	memcpy(&bn, b, 4);
	c = key_cmp(a + ROW_HEAD, an, b + ROW_HEAD, bn);
	return c ? c : a < b ? -1 : a > b;
}

/* Rows to the run being written (at woff), through wbuf. */
static int wflush(struct mc_spool *sp, struct mc_err *err)
{
	size_t done = 0;

	while (done < sp->wlen) {
		ssize_t n = pwrite(sp->fd, sp->wbuf + done, sp->wlen - done, (off_t)(sp->woff + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return io_err(err);
		done += (size_t)n;
	}
	sp->woff += sp->wlen;
	sp->wlen = 0;
	return 0;
}

static int wrow(struct mc_spool *sp, const uint8_t *row, size_t n, struct mc_err *err)
{
	if (!sp->wbuf && !(sp->wbuf = malloc(WRITE_BUF)))
		return oom(err);
	if (sp->wlen + n > WRITE_BUF && wflush(sp, err) != 0)
		return -1;
	if (n > WRITE_BUF) {   /* a row larger than the buffer: on its own */
		while (n > 0) {
			ssize_t w = pwrite(sp->fd, row, n, (off_t)sp->woff);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return io_err(err);
			row += w;
			n -= (size_t)w;
			sp->woff += (uint64_t)w;
		}
		return 0;
	}
	memcpy(sp->wbuf + sp->wlen, row, n);
	sp->wlen += n;
	return 0;
}

static int add_run(struct mc_spool *sp, uint64_t off, uint64_t len, struct mc_err *err)
{
	if (sp->nruns == sp->capruns) {
		size_t cap = sp->capruns ? sp->capruns * 2 : 16;
		void *p = realloc(sp->runs, cap * sizeof(*sp->runs));

		if (!p)
			return oom(err);
		sp->runs = p;
		sp->capruns = cap;
	}
	sp->runs[sp->nruns].off = off;
	sp->runs[sp->nruns].len = len;
	sp->nruns++;
	return 0;
}

/* The kept rows of the chunk, sorted, as a run at the end of the file. */
static int write_chunk(struct mc_spool *sp, struct mc_err *err)
{
	const uint8_t **rows;
	size_t i = 0, at = 0;
	uint64_t start = sp->file_len;
	int rc = 0;

	if (sp->mark_rows == 0)
		return 0;
	if (!(rows = malloc(sp->mark_rows * sizeof(*rows))))
		return oom(err);
	while (at < sp->mark_len && i < sp->mark_rows) {
		uint32_t h[2];

		memcpy(h, sp->buf + at, ROW_HEAD);
		rows[i++] = sp->buf + at;
		at += ROW_HEAD + (size_t)h[0] + h[1];
	}
	qsort(rows, i, sizeof(*rows), row_cmp);
	sp->woff = start;
	sp->wlen = 0;
	for (size_t j = 0; rc == 0 && j < i; j++) {
		uint32_t h[2];

		memcpy(h, rows[j], ROW_HEAD);
		rc = wrow(sp, rows[j], ROW_HEAD + (size_t)h[0] + h[1], err);
	}
	free(rows);
	if (rc == 0)
		rc = wflush(sp, err);
	if (rc == 0)
		rc = add_run(sp, start, sp->woff - start, err);
	if (rc != 0)
		return -1;
	sp->file_len = sp->woff;
	sp->kept += sp->mark_rows;
	/* rows added after the commit point move to the front */
	memmove(sp->buf, sp->buf + sp->mark_len, sp->len - sp->mark_len);
	sp->len -= sp->mark_len;
	sp->rows -= sp->mark_rows;
	sp->mark_len = sp->mark_rows = 0;
	return 0;
}

int mc_spool_commit(struct mc_spool *sp, struct mc_err *err)
{
	sp->mark_len = sp->len;
	sp->mark_rows = sp->rows;
	return sp->len >= sp->mem ? write_chunk(sp, err) : 0;
}

/* Every run is read once (by a merge pass, whose output takes its place,
 * or by the last merge), so what a reader has read of its run goes back to
 * the file system as it goes: the whole blocks of the run before r->off
 * (a block the run shares with the next or the one before is left). A
 * merge pass then takes no more disk than the rows it merges, where it
 * took as much again (its output is written at the end of the file). On a
 * file system without FALLOC_FL_PUNCH_HOLE nothing is given back, as
 * before. */
#define GIVE_BLOCK 4096u

static void give_back(struct mc_spool *sp, struct reader *r)
{
	uint64_t to = r->off / GIVE_BLOCK * GIVE_BLOCK;

	if (sp->keep || to <= r->given)
		return;
	if (fallocate(sp->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)r->given, (off_t)(to - r->given)) != 0)
		sp->keep = true;
	r->given = to;
}

/* At least need bytes of r's run at r->buf + r->pos (the buffer grows to
 * hold them). */
static int reader_fill(struct mc_spool *sp, struct reader *r, size_t need, struct mc_err *err)
{
	/* a row's header names its size: past what is left of the run, the
	 * file is damaged, before any buffer grows for it (found in review) */
	if (r->len - r->pos < need && need - (r->len - r->pos) > r->end - r->off)
		return damaged(err);
	while (r->len - r->pos < need) {
		uint64_t left = r->end - r->off;
		size_t want;
		ssize_t n;

		if (left == 0)
			return damaged(err);
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
		if (need > r->cap) {
			void *p = realloc(r->buf, need);

			if (!p)
				return oom(err);
			r->buf = p;
			r->cap = need;
		}
		want = r->cap - r->len < left ? r->cap - r->len : (size_t)left;
		n = pread(sp->fd, r->buf + r->len, want, (off_t)r->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? io_err(err) : damaged(err);
		r->len += (size_t)n;
		r->off += (uint64_t)n;
		give_back(sp, r);
	}
	return 0;
}

/* The reader's next row: r->row NULL at the end of its run. */
static int reader_next(struct mc_spool *sp, struct reader *r, struct mc_err *err)
{
	uint32_t h[2];

	r->row = NULL;
	if (r->len == r->pos && r->off == r->end)
		return 0;
	if (reader_fill(sp, r, ROW_HEAD, err) != 0)
		return -1;
	memcpy(h, r->buf + r->pos, ROW_HEAD);
	if (h[0] > KEY_MAX || h[1] > UINT32_MAX - KEY_MAX)
		return damaged(err);
	if (reader_fill(sp, r, ROW_HEAD + (size_t)h[0] + h[1], err) != 0)
		return -1;
	r->row = r->buf + r->pos;
	r->kn = h[0];
	r->vn = h[1];
	r->pos += ROW_HEAD + (size_t)h[0] + h[1];
	return 0;
}

/* Reader a before reader b: the lesser row; at its end, last; equal keys
 * by run (the runs are in the order their rows were added). */
static bool heap_before(const struct mc_spool *sp, size_t a, size_t b)
{
	const struct reader *x = &sp->rd[a], *y = &sp->rd[b];
	int c;

	if (!x->row || !y->row)
		return x->row && !y->row;
	c = key_cmp(x->row + ROW_HEAD, x->kn, y->row + ROW_HEAD, y->kn);
	return c ? c < 0 : a < b;
}

static void heap_down(struct mc_spool *sp, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i, t;

		if (l < sp->nrd && heap_before(sp, sp->heap[l], sp->heap[m]))
			m = l;
		if (l + 1 < sp->nrd && heap_before(sp, sp->heap[l + 1], sp->heap[m]))
			m = l + 1;
		if (m == i)
			return;
		t = sp->heap[i];
		sp->heap[i] = sp->heap[m];
		sp->heap[m] = t;
		i = m;
	}
}

/* Readers on runs [first, first + n), each at its first row. */
static int merge_start(struct mc_spool *sp, size_t first, size_t n, struct mc_err *err)
{
	merge_end(sp);
	sp->rd = calloc(n ? n : 1, sizeof(*sp->rd));
	sp->heap = calloc(n ? n : 1, sizeof(*sp->heap));
	if (!sp->rd || !sp->heap) {
		merge_end(sp);
		return oom(err);
	}
	sp->nrd = n;
	for (size_t i = 0; i < n; i++) {
		struct reader *r = &sp->rd[i];

		r->off = sp->runs[first + i].off;
		r->end = r->off + sp->runs[first + i].len;
		r->given = (r->off + GIVE_BLOCK - 1) / GIVE_BLOCK * GIVE_BLOCK;
		r->cap = MC_SPOOL_READ;
		if (!(r->buf = malloc(r->cap))) {
			merge_end(sp);
			return oom(err);
		}
		if (reader_next(sp, r, err) != 0) {
			merge_end(sp);
			return -1;
		}
		sp->heap[i] = i;
	}
	for (size_t i = n / 2; i-- > 0;)
		heap_down(sp, i);
	return 0;
}

/* The least row of the merge (1 at its end); its reader moves on at the
 * next call, so that the row stays where it is until then. */
static int merge_next(struct mc_spool *sp, const uint8_t **row, struct mc_err *err)
{
	struct reader *r;

	if (sp->pending >= 0) {
		if (reader_next(sp, &sp->rd[sp->pending], err) != 0)
			return -1;
		sp->pending = -1;
		heap_down(sp, 0);
	}
	if (sp->nrd == 0 || !(r = &sp->rd[sp->heap[0]])->row)
		return 1;
	*row = r->row;
	sp->pending = (long)sp->heap[0];
	return 0;
}

/* Runs [first, first + n) merged into one at the end of the file, which
 * takes their place in the list. */
static int merge_pass(struct mc_spool *sp, size_t first, size_t n, struct mc_err *err)
{
	uint64_t start = sp->file_len;
	const uint8_t *row;
	int rc;

	if (merge_start(sp, first, n, err) != 0)
		return -1;
	sp->woff = start;
	sp->wlen = 0;
	while ((rc = merge_next(sp, &row, err)) == 0) {
		uint32_t h[2];

		memcpy(h, row, ROW_HEAD);
		if (wrow(sp, row, ROW_HEAD + (size_t)h[0] + h[1], err) != 0) {
			rc = -1;
			break;
		}
	}
	merge_end(sp);
	if (rc < 0 || wflush(sp, err) != 0)
		return -1;
	sp->file_len = sp->woff;
	sp->runs[first].off = start;
	sp->runs[first].len = sp->woff - start;
	memmove(&sp->runs[first + 1], &sp->runs[first + n], (sp->nruns - first - n) * sizeof(*sp->runs));
	sp->nruns -= n - 1;
	return 0;
}

int mc_spool_sorted(struct mc_spool *sp, struct mc_err *err)
{
	if (sp->sorted)
		return mc_err_set(err, EX_SOFTWARE, _("verify's scratch rows were already read once"));
	sp->sorted = true;
	mc_spool_rollback(sp);
	if (write_chunk(sp, err) != 0)
		return -1;
	free(sp->buf);
	sp->buf = NULL;
	sp->len = sp->cap = sp->rows = 0;
	/* earlier runs first, so that equal keys stay in the order added */
	while (sp->nruns > MC_SPOOL_FANIN)
		for (size_t first = 0; first < sp->nruns; first++) {
			size_t n = sp->nruns - first < MC_SPOOL_FANIN ? sp->nruns - first : MC_SPOOL_FANIN;

			if (n > 1 && merge_pass(sp, first, n, err) != 0)
				return -1;
		}
	free(sp->wbuf);
	sp->wbuf = NULL;
	return merge_start(sp, 0, sp->nruns, err);
}

int mc_spool_next(struct mc_spool *sp, const void **k, size_t *kn, const void **v, size_t *vn,
		  struct mc_err *err)
{
	const uint8_t *row;
	uint32_t h[2];
	int rc = merge_next(sp, &row, err);

	if (rc != 0)
		return rc;
	memcpy(h, row, ROW_HEAD);
	*k = row + ROW_HEAD;
	*kn = h[0];
	*v = row + ROW_HEAD + h[0];
	*vn = h[1];
	return 0;
}
