/*
 * spool.c: the append-only record log behind the 200 (see spool.h; the
 * on-disk format is doc/spool-format.md, format version 1).
 *
 * Appending is leader/follower: an appender queues its batch on a pending
 * list; whoever finds no write in progress becomes the leader, takes the
 * whole list, numbers it, encodes it into one buffer, writes it with one
 * copy into the mapped segment (fsync=none; see "Mapped writing" below) or
 * one pwrite and one fdatasync (fsync=batch|always) and wakes the others
 * (who, with fsync=none, spin for the pass rather than sleep: see spin_for).
 * So concurrent appenders share the write and the sync (group commit), and
 * file order is seq order. A failed write pass is undone (truncate, unlink
 * of new segments) and fails every appender in it; seqs are only consumed
 * by a successful pass. Readers see records up to the last committed pass
 * (after its sync when syncing), read the segment files with buffered
 * pread and hand out pointers into their buffer. A write pass wakes only
 * the readers asleep for want of records; a reader whose last read returned
 * some polls for SPOOL_LINGER_US (4 ms) first, so that under load a sink
 * takes records in batches instead of being woken by every append.
 */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <nmmintrin.h>
#define SPOOL_HW_CRC 1
#endif

#include "log.h"
#include "spool.h"
#include "xmalloc.h"

#define SEG_HDR 32
#define SEG_VERSION 1
#define FRAME_HDR 32
#define SEG_NAME_LEN 29 /* "seg-" + 20 digits + ".log" + NUL */
#define LINE_PREFIX "{\"v\":1,\"seq\":"
#define READ_BUF_SIZE ((size_t)256 << 10)
#define SCAN_BUF_SIZE ((size_t)1 << 20)
#define MAINTAIN_EVERY_MS 1000
/*
 * Mapped writing (fsync=none): the active segment's file is extended
 * MAP_ALLOC_STEP at a time, its pages faulted in MAP_FAULT_STEP at a time
 * (small, so that the leader doing it holds up the appends waiting on it
 * for some 50 us at most), and the pages behind the write position are
 * unmapped every MAP_TRIM_STEP, so that the mapping holds about a megabyte
 * of the process's RSS at most.
 */
#define MAP_ALLOC_STEP ((uint64_t)2 << 20)
#define MAP_FAULT_STEP ((uint64_t)64 << 10)
#define MAP_TRIM_STEP ((uint64_t)1 << 20)
/* Pause instructions an appender spins for a write pass (fsync=none). */
#define SPOOL_SPIN 2000
/* How long a reader that just got records polls before sleeping. */
#define SPOOL_LINGER_US 4000

static const unsigned char seg_magic[8] = {
    'C', 'L', 'S', 'P', 'O', 'O', 'L', 0x1a};
/* 0xff and 0xfe never occur in UTF-8, so resync rarely meets false starts. */
static const unsigned char frame_magic[4] = {0xff, 0xfe, 'C', 'R'};

struct seg {
	uint64_t first; /* seq in the name */
	uint64_t size;	/* bytes; final for sealed segments */
};

struct cursor {
	char *name;
	uint64_t persisted;	     /* next seq, as on disk */
	uint64_t hold;		     /* 0, or retention keeps seqs >= it */
	struct spool_reader *reader; /* open reader, or NULL */
};

/* One spool_append call waiting for a write pass. */
struct req {
	const struct spool_entry *ents;
	size_t n;
	struct req *next;
	uint64_t first_seq;
	atomic_bool done; /* set under lock; spinners read it without */
	int error;
};

/* A segment created during a write pass. */
struct newseg {
	uint64_t first;
	int fd;
	uint64_t size;
};

struct spool {
	struct spool_params p;
	char *dir;
	int dirfd;
	int curdirfd;
	int lockfd;
	char *fault_path; /* CIMLISTEN_SPOOL_FAULT, test hook */

	pthread_mutex_t lock;
	pthread_cond_t done_cv;	 /* a write pass ended */
	pthread_cond_t batch_cv; /* batch_records are pending */
	pthread_cond_t read_cv;	 /* new records are visible */

	/* Under lock. */
	unsigned read_sleepers; /* readers in a long wait: appends wake them */
	struct req *pending;
	struct req **pending_tail;
	size_t pending_n;    /* records */
	atomic_bool busy;    /* a leader is at work (spinners read it unlocked) */
	size_t batch_target; /* fsync=batch: records worth waiting for */
	uint64_t next_seq;
	struct seg *segs; /* sorted; the last one is active */
	size_t nsegs;
	size_t segcap;
	uint64_t total;
	uint64_t vis_seq; /* last seq readers may see */
	uint64_t vis_seg; /* segment holding it (first seq) */
	uint64_t vis_off; /* end of the visible data in vis_seg */
	struct cursor **curs;
	size_t ncurs;
	struct timespec last_maint;
	struct spool_stats st;
	/*
	 * Segments retention let go: unlinked by reap() once the lock is
	 * released (unlinking 64M of page cache takes milliseconds, which
	 * appends would wait for under the lock).
	 */
	char (*doomed)[SEG_NAME_LEN];
	size_t ndoomed;
	size_t doomedcap;
	atomic_bool reap_pending; /* set under lock, read without */

	/* Only the leader (busy set) touches these. */
	int act_fd;
	uint64_t act_first;
	uint64_t act_off;
	uint64_t act_size; /* its file's length: zeros from act_off on */
	bool tail_dirty;   /* garbage past act_off could not be cut */
	bool wrote;	   /* this pass has written (or cut) something */
	bool map_ok;	   /* fsync=none and mapping has not failed */
	char *map;	   /* the active segment, mapped; or NULL */
	size_t map_len;
	uint64_t map_ready; /* its pages below this are faulted in */
	uint64_t map_trim;  /* its pages below this are unmapped */
	char *wbuf;
	size_t wlen;
	size_t wcap;
	struct newseg *created;
	size_t ncreated;
	size_t createdcap;
};

struct spool_reader {
	struct spool *sp;
	struct cursor *cur; /* NULL if unnamed */
	bool have_seg;	    /* seg_first is chosen (fd may be -1: gone) */
	int fd;
	uint64_t seg_first;
	uint64_t off;
	bool exhausted; /* sealed segment read to its end */
	char *buf;
	size_t cap;
	uint64_t acked;
	struct timespec last_persist;
	atomic_bool interrupted;
	_Atomic uint64_t pos; /* next seq to return */
	_Atomic uint64_t lost;
	_Atomic uint64_t nread;
	_Atomic uint64_t acked_st;
	_Atomic uint64_t persisted;
	bool lingering; /* its last read returned records: polls a moment */
};

struct frame {
	uint64_t seq;
	uint32_t total;
	uint32_t line_len;
	uint16_t nroutes;
	uint16_t routes_len;
	const char *routes;
	const char *line;
};

enum { FRAME_OK, FRAME_SHORT, FRAME_BAD };

static int act_cut(struct spool *);

/* CRC-32C, slicing-by-8 tables, and the SSE4.2 instruction where present. */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
#ifdef SPOOL_HW_CRC
static bool crc_hw;
#endif

static void
crc_init(void)
{
	uint32_t c;
	int i, j;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78 : c >> 1;
		crc_table[0][i] = c;
	}
	for (i = 0; i < 256; i++) {
		c = crc_table[0][i];
		for (j = 1; j < 8; j++) {
			c = crc_table[0][c & 0xff] ^ (c >> 8);
			crc_table[j][i] = c;
		}
	}
#ifdef SPOOL_HW_CRC
	crc_hw = __builtin_cpu_supports("sse4.2") &&
		 getenv("CIMLISTEN_SPOOL_SOFTCRC") == NULL;
#endif
}

/* Table-driven CRC-32C on the raw (pre-inverted) register. */
static uint32_t
crc_sw(uint32_t c, const unsigned char *p, size_t len)
{
	uint64_t w;

	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
		len--;
	}
	while (len >= 8) {
		memcpy(&w, p, 8);
		w = le64toh(w) ^ c;
		c = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
		    crc_table[5][(w >> 16) & 0xff] ^
		    crc_table[4][(w >> 24) & 0xff] ^
		    crc_table[3][(w >> 32) & 0xff] ^
		    crc_table[2][(w >> 40) & 0xff] ^
		    crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

#ifdef SPOOL_HW_CRC
/* The same with the crc32 instruction (8 bytes a cycle or so). */
__attribute__((target("sse4.2"))) static uint32_t
crc_hw32(uint32_t c, const unsigned char *p, size_t len)
{
	uint64_t c64 = c, w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		c64 = _mm_crc32_u64(c64, w);
		p += 8;
		len -= 8;
	}
	c = (uint32_t)c64;
	while (len-- > 0)
		c = _mm_crc32_u8(c, *p++);
	return c;
}
#endif

uint32_t
spool_crc32c(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&crc_once, crc_init);
#ifdef SPOOL_HW_CRC
	if (crc_hw)
		return ~crc_hw32(~crc, data, len);
#endif
	return ~crc_sw(~crc, data, len);
}

/* Little-endian fields. */

static void
put16(char *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static void
put32(char *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void
put64(char *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint16_t
get16(const char *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static uint32_t
get32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t
get64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

/* Time. */

static void
now_mono(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static int64_t
ms_since(const struct timespec *then)
{
	struct timespec now;

	now_mono(&now);
	return (int64_t)(now.tv_sec - then->tv_sec) * 1000 +
	       (now.tv_nsec - then->tv_nsec) / 1000000;
}

static void
ts_add_us(struct timespec *ts, uint64_t us)
{
	ts->tv_sec += us / 1000000;
	ts->tv_nsec += (long)(us % 1000000) * 1000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* <0, 0, >0 as a is before, at or after b. */
static int
ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	if (a->tv_nsec != b->tv_nsec)
		return a->tv_nsec < b->tv_nsec ? -1 : 1;
	return 0;
}

/* Plain I/O. */

/* pwrite all of it; a short write that makes no progress is ENOSPC. */
static int
pwrite_all(int fd, const char *p, size_t len, uint64_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, p, len, (off_t)off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= n;
		off += n;
	}
	return 0;
}

/* pread up to len bytes (fewer only at end of file); -1 on error. */
static ssize_t
pread_full(int fd, char *p, size_t len, uint64_t off)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, p + got, len - got, (off_t)(off + got));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

static void
seg_name(char out[SEG_NAME_LEN], uint64_t first)
{
	snprintf(out, SEG_NAME_LEN, "seg-%020" PRIu64 ".log", first);
}

/* The seq in a segment file name; 0 if it is not one. */
static uint64_t
seg_parse_name(const char *name)
{
	uint64_t v = 0;
	int i;

	if (strlen(name) != SEG_NAME_LEN - 1 || strncmp(name, "seg-", 4) != 0 ||
	    strcmp(name + 24, ".log") != 0)
		return 0;
	for (i = 4; i < 24; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (name[i] - '0');
	}
	return v;
}

static void
seg_header(char h[SEG_HDR], uint64_t first)
{
	memset(h, 0, SEG_HDR);
	memcpy(h, seg_magic, 8);
	put32(h + 8, SEG_VERSION);
	put32(h + 12, SEG_HDR);
	put64(h + 16, first);
	put32(h + 28, spool_crc32c(0, h, 28));
}

/* Check a segment header: 0 good, -1 damaged, -2 a newer format. */
static int
seg_header_check(const char h[SEG_HDR], uint64_t first)
{
	if (memcmp(h, seg_magic, 8) != 0)
		return -1;
	if (get32(h + 28) != spool_crc32c(0, h, 28))
		return -1;
	if (get32(h + 8) != SEG_VERSION)
		return -2;
	if (get32(h + 12) != SEG_HDR || get64(h + 16) != first)
		return -1;
	return 0;
}

static bool
syncing(const struct spool *sp)
{
	return sp->p.fsync != SPOOL_FSYNC_NONE;
}

/* Create an empty segment (header only); synced with its directory entry when
 * syncing. */
static int
seg_create(struct spool *sp, uint64_t first)
{
	char name[SEG_NAME_LEN], h[SEG_HDR];
	int fd, saved;

	seg_name(name, first);
	fd = openat(
	    sp->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd == -1)
		return -1;
	seg_header(h, first);
	if (pwrite_all(fd, h, SEG_HDR, 0) == -1)
		goto fail;
	if (syncing(sp) && (fdatasync(fd) == -1 || fsync(sp->dirfd) == -1))
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	unlinkat(sp->dirfd, name, 0);
	errno = saved;
	return -1;
}

/*
 * Parse the frame at p: FRAME_OK (f filled), FRAME_SHORT (f->total says
 * how many bytes it needs), FRAME_BAD.
 */
static int
frame_parse(const char *p, size_t avail, struct frame *f)
{
	uint64_t total;
	const char *r, *end;
	size_t n;

	if (avail < FRAME_HDR) {
		f->total = FRAME_HDR;
		return FRAME_SHORT;
	}
	if (memcmp(p, frame_magic, 4) != 0)
		return FRAME_BAD;
	total = get32(p + 8);
	f->line_len = get32(p + 12);
	f->seq = get64(p + 16);
	f->nroutes = get16(p + 24);
	f->routes_len = get16(p + 26);
	if (get32(p + 28) != 0 || f->line_len == 0 || f->seq == 0 ||
	    total != (uint64_t)FRAME_HDR + f->routes_len + f->line_len ||
	    total > SPOOL_MAX_FRAME)
		return FRAME_BAD;
	f->total = total;
	if (avail < total)
		return FRAME_SHORT;
	if (get32(p + 4) != spool_crc32c(0, p + 8, total - 8))
		return FRAME_BAD;
	f->routes = p + FRAME_HDR;
	f->line = f->routes + f->routes_len;
	if (f->line[f->line_len - 1] != '\n')
		return FRAME_BAD;
	/* Routes: nroutes non-empty NUL-terminated names, nothing else. */
	r = f->routes;
	end = f->routes + f->routes_len;
	for (n = 0; r < end; n++) {
		const char *z = memchr(r, '\0', end - r);

		if (z == NULL || z == r)
			return FRAME_BAD;
		r = z + 1;
	}
	if (n != f->nroutes)
		return FRAME_BAD;
	return FRAME_OK;
}

/*
 * Find the next intact frame in [from, limit) whose seq is at least
 * min_seq. 0 and *found, or -1 if there is none (or on a read error).
 */
static int
resync(int fd, uint64_t from, uint64_t limit, uint64_t min_seq, uint64_t *found)
{
	char *buf, *fb = NULL;
	size_t cap = 64 << 10, fcap = 0, i;
	ssize_t got;
	uint64_t off;
	struct frame f;
	int rc = -1;

	buf = xmalloc(cap);
	for (off = from; off + FRAME_HDR <= limit; off += got - 3) {
		got = pread_full(
		    fd, buf, cap < limit - off ? cap : limit - off, off);
		if (got < FRAME_HDR)
			break;
		for (i = 0; i + 4 <= (size_t)got; i++) {
			if ((unsigned char)buf[i] != frame_magic[0] ||
			    memcmp(buf + i, frame_magic, 4) != 0)
				continue;
			if (i + FRAME_HDR <= (size_t)got &&
			    frame_parse(buf + i, FRAME_HDR, &f) != FRAME_SHORT)
				continue;
			if (off + i + FRAME_HDR > limit)
				continue;
			/* Candidate: read it whole. */
			if (fcap < FRAME_HDR) {
				fcap = FRAME_HDR;
				fb = xrealloc(fb, fcap);
			}
			if (pread_full(fd, fb, FRAME_HDR, off + i) != FRAME_HDR)
				continue;
			if (frame_parse(fb, FRAME_HDR, &f) != FRAME_SHORT ||
			    off + i + f.total > limit)
				continue;
			if (f.total > fcap) {
				fcap = f.total;
				fb = xrealloc(fb, fcap);
			}
			if (pread_full(fd, fb, f.total, off + i) !=
			    (ssize_t)f.total)
				continue;
			if (frame_parse(fb, f.total, &f) == FRAME_OK &&
			    f.seq >= min_seq) {
				*found = off + i;
				rc = 0;
				goto out;
			}
		}
		if ((size_t)got < 4)
			break;
		if (off + got >= limit)
			break;
	}
out:
	free(fb);
	free(buf);
	return rc;
}

/*
 * Whether [from, size) of fd holds nothing but zeros: what a crash leaves
 * after the last record of a segment written through a mapping. buf is
 * scratch space.
 */
static bool
zeros_to_end(int fd, uint64_t from, uint64_t size, char *buf, size_t cap)
{
	ssize_t got, i;

	while (from < size) {
		got = pread_full(
		    fd, buf, cap < size - from ? cap : size - from, from);
		if (got <= 0)
			return false;
		for (i = 0; i < got; i++)
			if (buf[i] != 0)
				return false;
		from += got;
	}
	return true;
}

/*
 * Scan a segment from its header to size, checking every frame: skip
 * corrupt stretches when an intact frame follows, cut a torn or corrupt
 * tail. Sets *last (0 if no record) and *size (after a cut).
 */
static int
seg_recover(
    struct spool *sp, int fd, uint64_t first, uint64_t *size, uint64_t *last)
{
	char name[SEG_NAME_LEN];
	char *buf;
	size_t cap = SCAN_BUF_SIZE, p;
	ssize_t got;
	uint64_t off = SEG_HDR, found;
	struct frame f;
	int rc;

	seg_name(name, first);
	*last = 0;
	buf = xmalloc(cap);
	while (off < *size) {
		got = pread_full(
		    fd, buf, cap < *size - off ? cap : *size - off, off);
		if (got == -1) {
			free(buf);
			return -1;
		}
		p = 0;
		for (;;) {
			rc = frame_parse(buf + p, got - p, &f);
			if (rc == FRAME_OK && (f.seq < first || f.seq <= *last))
				rc = FRAME_BAD;
			if (rc == FRAME_OK) {
				*last = f.seq;
				p += f.total;
				continue;
			}
			if (rc == FRAME_SHORT && off + p + f.total <= *size) {
				if (p > 0)
					break; /* read more */
				if (f.total > cap) {
					cap = f.total;
					buf = xrealloc(buf, cap);
					break;
				}
				/* Shorter than its size said: torn. */
			}
			if (off + p >= *size)
				break; /* clean end */
			/* Bad, or torn at the end of the file. */
			off += p;
			p = 0;
			if (zeros_to_end(fd, off, *size, buf, cap)) {
				/* Preallocated by mapped writing. */
				log_debug("spool: segment %s: %" PRIu64
					  " bytes of unused space at offset "
					  "%" PRIu64 " released",
				    name, *size - off, off);
				if (ftruncate(fd, (off_t)off) == -1 ||
				    (syncing(sp) && fdatasync(fd) == -1)) {
					free(buf);
					return -1;
				}
				*size = off;
				break;
			}
			if (resync(fd, off + 1, *size,
				(*last != 0 ? *last : first - 1) + 1,
				&found) == 0) {
				log_warnx("spool: segment %s: skipped %" PRIu64
					  " corrupt bytes at offset %" PRIu64,
				    name, found - off, off);
				off = found;
				break;
			}
			log_warnx("spool: segment %s: cut %" PRIu64 " bytes of "
				  "torn/corrupt tail at offset %" PRIu64,
			    name, *size - off, off);
			if (ftruncate(fd, (off_t)off) == -1 ||
			    (syncing(sp) && fdatasync(fd) == -1)) {
				free(buf);
				return -1;
			}
			sp->st.recovered_cut_bytes += *size - off;
			*size = off;
			break;
		}
		off += p;
	}
	free(buf);
	return 0;
}

/* Cursor files: the name encoded as [A-Za-z0-9_.-] with %XX, no leading dot. */
static char *
cursor_fname(const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out, *o;
	const unsigned char *s;

	out = o = xmalloc(strlen(name) * 3 + 1);
	for (s = (const unsigned char *)name; *s != '\0'; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		    (*s == '.' && s != (const unsigned char *)name))
			*o++ = *s;
		else {
			*o++ = '%';
			*o++ = hex[*s >> 4];
			*o++ = hex[*s & 15];
		}
	}
	*o = '\0';
	return out;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode a cursor file name; NULL if it is not one. */
static char *
cursor_unfname(const char *f)
{
	char *out, *o;
	int h, l;

	if (*f == '.' || *f == '\0')
		return NULL;
	out = o = xmalloc(strlen(f) + 1);
	for (; *f != '\0'; f++) {
		if (*f != '%') {
			*o++ = *f;
			continue;
		}
		if ((h = hexval(f[1])) < 0 || (l = hexval(f[2])) < 0 ||
		    h * 16 + l == 0) {
			free(out);
			return NULL;
		}
		*o++ = h * 16 + l;
		f += 2;
	}
	*o = '\0';
	return out;
}

/* Write a cursor file atomically (rename; synced when syncing). */
static int
cursor_write(struct spool *sp, const char *name, uint64_t seq)
{
	char *f, *tmp, line[64];
	int fd, len, rc = -1, saved;

	f = cursor_fname(name);
	xasprintf(&tmp, ".tmp-%s", f);
	len = snprintf(
	    line, sizeof line, "cimlisten-cursor 1 %" PRIu64 "\n", seq);
	fd = openat(
	    sp->curdirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd == -1)
		goto out;
	if (pwrite_all(fd, line, len, 0) == -1 ||
	    (syncing(sp) && fdatasync(fd) == -1)) {
		saved = errno;
		close(fd);
		unlinkat(sp->curdirfd, tmp, 0);
		errno = saved;
		goto out;
	}
	close(fd);
	if (renameat(sp->curdirfd, tmp, sp->curdirfd, f) == -1)
		goto out;
	if (syncing(sp) && fsync(sp->curdirfd) == -1)
		goto out;
	rc = 0;
out:
	free(tmp);
	free(f);
	return rc;
}

/* Read a cursor file: 0 and *seq, -1 if unreadable or malformed. */
static int
cursor_read(struct spool *sp, const char *fname, uint64_t *seq)
{
	char line[64], *end;
	ssize_t n;
	int fd;

	if ((fd = openat(sp->curdirfd, fname, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = pread_full(fd, line, sizeof line - 1, 0);
	close(fd);
	if (n <= 0)
		return -1;
	line[n] = '\0';
	if (strncmp(line, "cimlisten-cursor 1 ", 19) != 0)
		return -1;
	errno = 0;
	*seq = strtoull(line + 19, &end, 10);
	if (errno != 0 || end == line + 19 || *end != '\n' || *seq == 0)
		return -1;
	return 0;
}

static struct cursor *
cursor_find(struct spool *sp, const char *name)
{
	size_t i;

	for (i = 0; i < sp->ncurs; i++)
		if (strcmp(sp->curs[i]->name, name) == 0)
			return sp->curs[i];
	return NULL;
}

static struct cursor *
cursor_add(struct spool *sp, const char *name, uint64_t seq)
{
	struct cursor *c;

	c = xcalloc(1, sizeof *c);
	c->name = xstrdup(name);
	c->persisted = seq;
	sp->curs = xreallocarray(sp->curs, sp->ncurs + 1, sizeof *sp->curs);
	sp->curs[sp->ncurs++] = c;
	return c;
}

static void
segs_push(struct spool *sp, uint64_t first, uint64_t size)
{
	if (sp->nsegs == sp->segcap) {
		sp->segcap = sp->segcap ? sp->segcap * 2 : 16;
		sp->segs =
		    xreallocarray(sp->segs, sp->segcap, sizeof *sp->segs);
	}
	sp->segs[sp->nsegs].first = first;
	sp->segs[sp->nsegs].size = size;
	sp->nsegs++;
}

/* Index of the segment whose first seq is `first`, or -1. */
static ssize_t
segs_find(struct spool *sp, uint64_t first)
{
	size_t lo = 0, hi = sp->nsegs, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (sp->segs[mid].first < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < sp->nsegs && sp->segs[lo].first == first)
		return lo;
	return -1;
}

/* Index of the last segment starting at or before seq (0 if none does). */
static size_t
segs_locate(struct spool *sp, uint64_t seq)
{
	size_t lo = 0, hi = sp->nsegs, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (sp->segs[mid].first <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 ? lo - 1 : 0;
}

static int
cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/*
 * Retention, locked: drop the oldest segments while every persisted
 * cursor has passed them (if there are cursors), or the spool is over
 * max_size, or the segment is older than max_age. Never the active one.
 */
static void
retain_locked(struct spool *sp)
{
	char name[SEG_NAME_LEN];
	uint64_t min_cur = UINT64_MAX, next;
	const char *why;
	struct stat sb;
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < sp->ncurs; i++)
		if (sp->curs[i]->persisted < min_cur)
			min_cur = sp->curs[i]->persisted;
	for (i = 0; i < sp->ncurs; i++)
		if (sp->curs[i]->hold != 0 && sp->curs[i]->hold < min_cur)
			min_cur = sp->curs[i]->hold;
	while (sp->nsegs > 1) {
		next = sp->segs[1].first;
		seg_name(name, sp->segs[0].first);
		why = NULL;
		if (sp->ncurs > 0 && next <= min_cur)
			why = "delivered";
		else if (sp->p.max_size > 0 && sp->total > sp->p.max_size)
			why = "spool_max_size";
		else if (sp->p.max_age > 0 &&
			 fstatat(sp->dirfd, name, &sb, 0) == 0 &&
			 now - sb.st_mtime > (time_t)sp->p.max_age)
			why = "spool_max_age";
		if (why == NULL)
			break;
		if (sp->ndoomed == sp->doomedcap) {
			sp->doomedcap = sp->doomedcap ? sp->doomedcap * 2 : 4;
			sp->doomed = xreallocarray(
			    sp->doomed, sp->doomedcap, sizeof *sp->doomed);
		}
		memcpy(sp->doomed[sp->ndoomed++], name, sizeof name);
		atomic_store_explicit(
		    &sp->reap_pending, true, memory_order_relaxed);
		if (next > min_cur) {
			log_notice(
			    "spool: segment %s (seq %" PRIu64 "..%" PRIu64
			    ") deleted by %s before every reader passed it",
			    name, sp->segs[0].first, next - 1, why);
			sp->st.segments_forced++;
		} else
			log_debug("spool: segment %s deleted (%s)", name, why);
		sp->st.segments_deleted++;
		sp->total -= sp->segs[0].size;
		memmove(
		    sp->segs, sp->segs + 1, (sp->nsegs - 1) * sizeof *sp->segs);
		sp->nsegs--;
	}
	now_mono(&sp->last_maint);
}

/*
 * Unlink the segments retain_locked let go. Called without the lock, by
 * whoever released it after retain_locked: a sink persisting its cursor,
 * maintenance, or an appender after a write pass (then that one request,
 * rather than every append in flight, waits for the unlink).
 */
static void
reap(struct spool *sp)
{
	char (*names)[SEG_NAME_LEN];
	size_t i, n;

	if (!atomic_load_explicit(&sp->reap_pending, memory_order_relaxed))
		return;
	pthread_mutex_lock(&sp->lock);
	names = sp->doomed;
	n = sp->ndoomed;
	sp->doomed = NULL;
	sp->ndoomed = sp->doomedcap = 0;
	atomic_store_explicit(&sp->reap_pending, false, memory_order_relaxed);
	pthread_mutex_unlock(&sp->lock);
	for (i = 0; i < n; i++)
		if (unlinkat(sp->dirfd, names[i], 0) == -1 && errno != ENOENT)
			log_warn("spool: cannot delete segment %s; it stays "
				 "on disk, no longer counted, until the next "
				 "start",
			    names[i]);
	free(names);
}

int
spool_fsync_parse(const char *s)
{
	if (strcmp(s, "none") == 0)
		return SPOOL_FSYNC_NONE;
	if (strcmp(s, "batch") == 0)
		return SPOOL_FSYNC_BATCH;
	if (strcmp(s, "always") == 0)
		return SPOOL_FSYNC_ALWAYS;
	return -1;
}

const char *
spool_fsync_name(enum spool_fsync f)
{
	switch (f) {
	case SPOOL_FSYNC_NONE:
		return "none";
	case SPOOL_FSYNC_BATCH:
		return "batch";
	case SPOOL_FSYNC_ALWAYS:
		return "always";
	}
	return "?";
}

/* List the segment files and the cursor files. */
static int
spool_load(struct spool *sp, char **cause)
{
	DIR *d;
	struct dirent *de;
	struct stat sb;
	uint64_t first, seq;
	char *name;
	int fd;

	if ((fd = dup(sp->dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		xasprintf(cause, "%s: %s", sp->dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if ((first = seg_parse_name(de->d_name)) == 0)
			continue;
		if (fstatat(sp->dirfd, de->d_name, &sb, 0) == -1 ||
		    !S_ISREG(sb.st_mode))
			continue;
		segs_push(sp, first, sb.st_size);
	}
	closedir(d);
	if (sp->nsegs > 1)
		qsort(sp->segs, sp->nsegs, sizeof *sp->segs, cmp_seg);

	if ((fd = dup(sp->curdirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		xasprintf(cause, "%s/cursors: %s", sp->dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, ".tmp-", 5) == 0) {
			unlinkat(sp->curdirfd, de->d_name, 0);
			continue;
		}
		if ((name = cursor_unfname(de->d_name)) == NULL)
			continue;
		if (cursor_read(sp, de->d_name, &seq) == -1) {
			/* At-least-once: restart it from the oldest record. */
			log_warnx("spool: cursor %s is unreadable; it restarts "
				  "from the oldest record",
			    name);
			seq = sp->nsegs > 0 ? sp->segs[0].first : 1;
		}
		cursor_add(sp, name, seq);
		free(name);
	}
	closedir(d);
	return 0;
}

/*
 * Recover the last segment and set up the active one and next_seq. The
 * next seq is past the last intact record, the last segment's name, every
 * persisted cursor and min_next_seq.
 */
static int
spool_recover(struct spool *sp, char **cause)
{
	char name[SEG_NAME_LEN], bad[SEG_NAME_LEN + 8], h[SEG_HDR];
	struct seg *last;
	uint64_t next = 1, expect = 0, lastseq;
	ssize_t got;
	size_t i;
	int fd = -1, hc;

	if (sp->p.min_next_seq > next)
		next = sp->p.min_next_seq;
	for (i = 0; i < sp->ncurs; i++)
		if (sp->curs[i]->persisted > next)
			next = sp->curs[i]->persisted;
	while (sp->nsegs > 0) {
		last = &sp->segs[sp->nsegs - 1];
		seg_name(name, last->first);
		if (last->first > next)
			next = last->first;
		fd = openat(sp->dirfd, name, O_RDWR | O_CLOEXEC);
		if (fd == -1) {
			xasprintf(
			    cause, "%s/%s: %s", sp->dir, name, strerror(errno));
			return -1;
		}
		got = pread_full(fd, h, SEG_HDR, 0);
		if (got == -1) {
			xasprintf(
			    cause, "%s/%s: %s", sp->dir, name, strerror(errno));
			goto fail;
		}
		if (got < SEG_HDR) {
			/* Torn while being created: make it empty. */
			log_warnx("spool: segment %s: cut %zd bytes of "
				  "torn/corrupt tail at offset 0",
			    name, got);
			sp->st.recovered_cut_bytes += got;
			seg_header(h, last->first);
			if (ftruncate(fd, 0) == -1 ||
			    pwrite_all(fd, h, SEG_HDR, 0) == -1) {
				xasprintf(cause, "%s/%s: %s", sp->dir, name,
				    strerror(errno));
				goto fail;
			}
			last->size = SEG_HDR;
			expect = last->first;
			break;
		}
		if ((hc = seg_header_check(h, last->first)) == -2) {
			xasprintf(cause,
			    "%s/%s: unsupported spool format "
			    "version %u",
			    sp->dir, name, get32(h + 8));
			goto fail;
		}
		if (hc == -1) {
			snprintf(bad, sizeof bad, "%s.corrupt", name);
			log_warnx(
			    "spool: segment %s: bad header; renamed to %s",
			    name, bad);
			close(fd);
			fd = -1;
			if (renameat(sp->dirfd, name, sp->dirfd, bad) == -1) {
				xasprintf(cause, "%s/%s: %s", sp->dir, name,
				    strerror(errno));
				return -1;
			}
			sp->nsegs--;
			continue;
		}
		if (seg_recover(sp, fd, last->first, &last->size, &lastseq) ==
		    -1) {
			xasprintf(
			    cause, "%s/%s: %s", sp->dir, name, strerror(errno));
			goto fail;
		}
		expect = lastseq != 0 ? lastseq + 1 : last->first;
		if (expect > next)
			next = expect;
		break;
	}
	if (sp->nsegs > 0 && expect != next &&
	    sp->segs[sp->nsegs - 1].size == SEG_HDR) {
		/* An empty last segment with the wrong name: replace it. */
		close(fd);
		fd = -1;
		seg_name(name, sp->segs[sp->nsegs - 1].first);
		unlinkat(sp->dirfd, name, 0);
		sp->nsegs--;
	}
	if (sp->nsegs == 0 || expect != next) {
		if (fd != -1)
			close(fd);
		if ((fd = seg_create(sp, next)) == -1) {
			xasprintf(cause, "%s: cannot create a segment: %s",
			    sp->dir, strerror(errno));
			return -1;
		}
		segs_push(sp, next, SEG_HDR);
	}
	sp->act_fd = fd;
	sp->act_first = sp->segs[sp->nsegs - 1].first;
	sp->act_off = sp->act_size = sp->segs[sp->nsegs - 1].size;
	sp->next_seq = next;
	sp->vis_seq = next - 1;
	sp->vis_seg = sp->act_first;
	sp->vis_off = sp->act_off;
	for (i = 0; i < sp->nsegs; i++)
		sp->total += sp->segs[i].size;
	return 0;
fail:
	close(fd);
	return -1;
}

struct spool *
spool_open(const struct spool_params *p, char **cause)
{
	struct spool *sp;
	pthread_condattr_t ca;
	const char *fault;

	sp = xcalloc(1, sizeof *sp);
	sp->p = *p;
	sp->dir = xstrdup(p->dir);
	sp->p.dir = sp->dir;
	if (sp->p.segment_size == 0)
		sp->p.segment_size = SPOOL_SEGMENT_SIZE;
	if (sp->p.batch_window_us == 0)
		sp->p.batch_window_us = SPOOL_BATCH_WINDOW_US;
	if (sp->p.batch_records == 0)
		sp->p.batch_records = SPOOL_BATCH_RECORDS;
	if (sp->p.cursor_interval_ms == 0)
		sp->p.cursor_interval_ms = SPOOL_CURSOR_INTERVAL_MS;
	sp->dirfd = sp->curdirfd = sp->lockfd = sp->act_fd = -1;
	sp->pending_tail = &sp->pending;
	sp->batch_target = 1;
	sp->map_ok = p->fsync == SPOOL_FSYNC_NONE &&
		     getenv("CIMLISTEN_SPOOL_PWRITE") == NULL;
	if ((fault = getenv("CIMLISTEN_SPOOL_FAULT")) != NULL && *fault != '\0')
		sp->fault_path = xstrdup(fault);

	pthread_mutex_init(&sp->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sp->done_cv, &ca);
	pthread_cond_init(&sp->batch_cv, &ca);
	pthread_cond_init(&sp->read_cv, &ca);
	pthread_condattr_destroy(&ca);

	if (mkdir(sp->dir, 0750) == -1 && errno != EEXIST) {
		xasprintf(cause, "%s: %s", sp->dir, strerror(errno));
		goto fail;
	}
	sp->dirfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd == -1) {
		xasprintf(cause, "%s: %s", sp->dir, strerror(errno));
		goto fail;
	}
	sp->lockfd =
	    openat(sp->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (sp->lockfd == -1 || flock(sp->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			xasprintf(cause, "%s: spool in use by another process",
			    sp->dir);
		else
			xasprintf(
			    cause, "%s/lock: %s", sp->dir, strerror(errno));
		goto fail;
	}
	if (mkdirat(sp->dirfd, "cursors", 0750) == -1 && errno != EEXIST) {
		xasprintf(cause, "%s/cursors: %s", sp->dir, strerror(errno));
		goto fail;
	}
	sp->curdirfd =
	    openat(sp->dirfd, "cursors", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->curdirfd == -1) {
		xasprintf(cause, "%s/cursors: %s", sp->dir, strerror(errno));
		goto fail;
	}
	if (spool_load(sp, cause) == -1 || spool_recover(sp, cause) == -1)
		goto fail;
	retain_locked(sp);
	reap(sp);
	log_debug("spool: %s: %zu segments, %" PRIu64
		  " bytes, next seq %" PRIu64,
	    sp->dir, sp->nsegs, sp->total, sp->next_seq);
	return sp;
fail:
	spool_close(sp);
	return NULL;
}

void
spool_close(struct spool *sp)
{
	size_t i;

	if (sp == NULL)
		return;
	if (sp->dirfd != -1)
		reap(sp);
	if (sp->act_fd != -1) {
		if (act_cut(sp) == -1)
			log_warn("spool: ftruncate");
		if (fdatasync(sp->act_fd) == -1)
			log_warn("spool: fdatasync");
		close(sp->act_fd);
	}
	for (i = 0; i < sp->ncurs; i++) {
		free(sp->curs[i]->name);
		free(sp->curs[i]);
	}
	free(sp->curs);
	if (sp->curdirfd != -1)
		close(sp->curdirfd);
	if (sp->lockfd != -1)
		close(sp->lockfd);
	if (sp->dirfd != -1)
		close(sp->dirfd);
	pthread_cond_destroy(&sp->read_cv);
	pthread_cond_destroy(&sp->batch_cv);
	pthread_cond_destroy(&sp->done_cv);
	pthread_mutex_destroy(&sp->lock);
	free(sp->created);
	free(sp->doomed);
	free(sp->wbuf);
	free(sp->segs);
	free(sp->fault_path);
	free(sp->dir);
	free(sp);
}

/* Decimal digits of v. */
static size_t
digits(uint64_t v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static size_t
routes_len(const struct spool_entry *e)
{
	size_t i, n = 0;

	for (i = 0; i < e->nroutes; i++)
		n += strlen(e->routes[i]) + 1;
	return n;
}

/* Check an entry; its frame size at seq 1 (more digits add bytes) or 0. */
static int
entry_check(const struct spool_entry *e, char **cause)
{
	size_t i, l, rl = 0;

	if (e->tail == NULL || e->tail_len < 2 ||
	    (e->tail[0] != ',' && e->tail[0] != '}') ||
	    e->tail[e->tail_len - 1] != '\n') {
		*cause = xstrdup("record line does not start with ',' or end "
				 "with a newline");
		return -1;
	}
	if (e->nroutes > UINT16_MAX) {
		*cause = xstrdup("too many routes");
		return -1;
	}
	for (i = 0; i < e->nroutes; i++) {
		l = strlen(e->routes[i]);
		if (l == 0 || l > 255) {
			*cause = xstrdup("bad sink name in routes");
			return -1;
		}
		rl += l + 1;
	}
	if (rl > UINT16_MAX ||
	    FRAME_HDR + rl + sizeof LINE_PREFIX + 20 + e->tail_len >
		SPOOL_MAX_FRAME) {
		*cause = xstrdup("record too large for the spool");
		return -1;
	}
	return 0;
}

static size_t
frame_size(const struct spool_entry *e, uint64_t seq)
{
	return FRAME_HDR + routes_len(e) + sizeof LINE_PREFIX - 1 +
	       digits(seq) + e->tail_len;
}

/* Encode one frame at the end of the write buffer. */
static void
frame_encode(
    struct spool *sp, const struct spool_entry *e, uint64_t seq, size_t total)
{
	char *p, *q;
	size_t i, l, rl, line_len;

	if (sp->wlen + total > sp->wcap) {
		sp->wcap = sp->wcap ? sp->wcap : 64 << 10;
		while (sp->wlen + total > sp->wcap)
			sp->wcap *= 2;
		sp->wbuf = xrealloc(sp->wbuf, sp->wcap);
	}
	p = sp->wbuf + sp->wlen;
	q = p + FRAME_HDR;
	for (i = 0; i < e->nroutes; i++) {
		l = strlen(e->routes[i]) + 1;
		memcpy(q, e->routes[i], l);
		q += l;
	}
	rl = q - (p + FRAME_HDR);
	memcpy(q, LINE_PREFIX, sizeof LINE_PREFIX - 1);
	q += sizeof LINE_PREFIX - 1;
	q += snprintf(q, 21, "%" PRIu64, seq);
	memcpy(q, e->tail, e->tail_len);
	q += e->tail_len;
	line_len = q - (p + FRAME_HDR + rl);

	memcpy(p, frame_magic, 4);
	put32(p + 8, total);
	put32(p + 12, line_len);
	put64(p + 16, seq);
	put16(p + 24, e->nroutes);
	put16(p + 26, rl);
	put32(p + 28, 0);
	put32(p + 4, spool_crc32c(0, p + 8, total - 8));
	sp->wlen += total;
}

/*
 * Mapped writing. With fsync=none a record is safe once it is in the page
 * cache, and copying it into a shared mapping of the segment puts it there
 * without the pwrite system call (about 1.8 us a request on the machines
 * this was measured on, a twentieth of the daemon's work). The file is
 * extended with fallocate ahead of the copy, so that no copy lands in a
 * hole a full disk could not fill; if a copy faults anyway (an I/O error,
 * or the file cut behind the daemon's back) the SIGBUS is caught, the
 * mapping given up and the same bytes written with pwrite, which reports
 * the error properly.
 */
static _Thread_local sigjmp_buf *copy_jmp;
static _Thread_local const char *copy_lo, *copy_hi;
static pthread_once_t sigbus_once = PTHREAD_ONCE_INIT;

static void
sigbus_handler(int sig, siginfo_t *si, void *uctx)
{
	const char *a = si->si_addr;

	(void)uctx;
	if (copy_jmp != NULL && a >= copy_lo && a < copy_hi)
		siglongjmp(*copy_jmp, 1);
	/* Not ours: fault again with the default action. */
	signal(sig, SIG_DFL);
}

static void
sigbus_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = sigbus_handler;
	/* NODEFER: leaving by siglongjmp must not leave SIGBUS blocked. */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

/* memcpy into the mapping; -1 if it faulted. */
static int __attribute__((noinline))
guarded_copy(char *dst, const char *src, size_t len)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0) != 0) {
		copy_jmp = NULL;
		return -1;
	}
	copy_lo = dst;
	copy_hi = dst + len;
	copy_jmp = &jb;
	atomic_signal_fence(memory_order_seq_cst);
	memcpy(dst, src, len);
	atomic_signal_fence(memory_order_seq_cst);
	copy_jmp = NULL;
	return 0;
}

static void
map_drop(struct spool *sp)
{
	if (sp->map != NULL) {
		munmap(sp->map, sp->map_len);
		sp->map = NULL;
	}
}

/* Give up mapped writing for good (logged once); err is an errno or 0. */
static void
map_disable(struct spool *sp, const char *what, int err)
{
	log_warnx("spool: %s%s%s; segments are written with pwrite(2) from "
		  "now on",
	    what, err != 0 ? ": " : "", err != 0 ? strerror(err) : "");
	map_drop(sp);
	sp->map_ok = false;
}

/*
 * Make [act_off, end) of the mapping writable: map the segment if it is
 * not, and extend the file (and fault its pages in) past end. -1 if that
 * cannot be done; the caller writes with pwrite instead.
 */
static int
map_prepare(struct spool *sp, uint64_t end)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), from, to;
	void *m;
	int rc;

	if (sp->map == NULL) {
		sp->map_len = (sp->p.segment_size + page - 1) & ~(page - 1);
		m = mmap(NULL, sp->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		    sp->act_fd, 0);
		if (m == MAP_FAILED) {
			map_disable(sp, "mmap", errno);
			return -1;
		}
		pthread_once(&sigbus_once, sigbus_install);
		sp->map = m;
		sp->map_ready = sp->act_off;
		sp->map_trim = 0;
	}
	if (end > sp->map_len)
		return -1; /* an oversized first record */
	if (end > sp->act_size) {
		to = (end + MAP_ALLOC_STEP + page - 1) & ~(page - 1);
		if (to > sp->map_len)
			to = sp->map_len;
		from = sp->act_size;
		while ((rc = fallocate(sp->act_fd, 0, (off_t)from,
			    (off_t)(to - from))) == -1 &&
		       errno == EINTR)
			;
		if (rc == -1) {
			if (errno == EOPNOTSUPP)
				map_disable(sp, "fallocate", errno);
			return -1; /* ENOSPC and the like: pwrite tells */
		}
		sp->act_size = to;
	}
	if (end > sp->map_ready) {
		/*
		 * Fault the next pages in with one call rather than one
		 * fault at a time (Linux 5.14; without it they fault in as
		 * they are written).
		 */
		to = (end + MAP_FAULT_STEP + page - 1) & ~(page - 1);
		if (to > sp->act_size)
			to = sp->act_size;
		from = sp->map_ready & ~(page - 1);
		madvise(sp->map + from, to - from, MADV_POPULATE_WRITE);
		sp->map_ready = to;
	}
	return 0;
}

/* Unmap the pages behind the write position, so that RSS stays small. */
static void
map_trim(struct spool *sp)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), to;

	if (sp->act_off - sp->map_trim < MAP_TRIM_STEP)
		return;
	to = sp->act_off & ~(page - 1);
	madvise(sp->map + sp->map_trim, to - sp->map_trim, MADV_DONTNEED);
	sp->map_trim = to;
}

/* Write out the buffer at the end of the active segment. */
static int
wbuf_flush(struct spool *sp)
{
	uint64_t end = sp->act_off + sp->wlen;

	if (sp->wlen == 0)
		return 0;
	sp->wrote = true;
	if (sp->map_ok && map_prepare(sp, end) == 0) {
		if (guarded_copy(sp->map + sp->act_off, sp->wbuf, sp->wlen) ==
		    0) {
			sp->act_off = end;
			sp->wlen = 0;
			map_trim(sp);
			return 0;
		}
		map_disable(sp, "a fault writing to the mapped segment", 0);
	}
	if (pwrite_all(sp->act_fd, sp->wbuf, sp->wlen, sp->act_off) == -1)
		return -1;
	sp->act_off = end;
	if (sp->act_size < end)
		sp->act_size = end;
	sp->wlen = 0;
	return 0;
}

/*
 * Cut the preallocated zeros off the active segment's file (before it is
 * sealed, and at close) and unmap it.
 */
static int
act_cut(struct spool *sp)
{
	bool mapped = sp->map != NULL;

	map_drop(sp);
	/* Mapped: a fallocate that failed may have extended it anyway. */
	if (mapped || sp->act_size > sp->act_off) {
		sp->wrote = true;
		if (ftruncate(sp->act_fd, (off_t)sp->act_off) == -1)
			return -1;
		sp->act_size = sp->act_off;
	}
	return 0;
}

/*
 * The leader's write pass, unlocked: number, encode, write and sync every
 * request in `list`, starting new segments as they fill. On failure undo
 * it all (truncate, unlink the new segments) and return -1 with errno.
 * *orig_size gets the old active segment's final size.
 */
static int
write_pass(struct spool *sp, struct req *list, uint64_t seq,
    uint64_t *orig_size, bool *synced)
{
	char name[SEG_NAME_LEN];
	struct req *q;
	int orig_fd = sp->act_fd, fd, saved;
	uint64_t orig_first = sp->act_first, orig_off = sp->act_off;
	uint64_t orig_fsize = sp->act_size;
	size_t i, total;

	sp->wlen = 0;
	sp->ncreated = 0;
	sp->wrote = false;
	*synced = false;
	errno = 0;
	if (sp->fault_path != NULL && access(sp->fault_path, F_OK) == 0) {
		errno = ENOSPC;
		goto fail;
	}
	if (sp->tail_dirty) {
		sp->wrote = true;
		if (ftruncate(sp->act_fd, (off_t)sp->act_off) == -1)
			goto fail;
		sp->tail_dirty = false;
		sp->act_size = sp->act_off;
	}
	for (q = list; q != NULL; q = q->next) {
		q->first_seq = seq;
		for (i = 0; i < q->n; i++, seq++) {
			total = frame_size(&q->ents[i], seq);
			if (sp->act_off + sp->wlen > SEG_HDR &&
			    sp->act_off + sp->wlen + total >
				sp->p.segment_size) {
				if (wbuf_flush(sp) == -1 || act_cut(sp) == -1)
					goto fail;
				if (syncing(sp) && fdatasync(sp->act_fd) == -1)
					goto fail;
				if (sp->ncreated == 0)
					*orig_size = sp->act_off;
				else
					sp->created[sp->ncreated - 1].size =
					    sp->act_off;
				if ((fd = seg_create(sp, seq)) == -1)
					goto fail;
				if (sp->ncreated == sp->createdcap) {
					sp->createdcap =
					    sp->createdcap ? sp->createdcap * 2
							   : 4;
					sp->created = xreallocarray(sp->created,
					    sp->createdcap,
					    sizeof *sp->created);
				}
				sp->created[sp->ncreated].first = seq;
				sp->created[sp->ncreated].fd = fd;
				sp->ncreated++;
				sp->act_fd = fd;
				sp->act_first = seq;
				sp->act_off = sp->act_size = SEG_HDR;
			}
			frame_encode(sp, &q->ents[i], seq, total);
		}
	}
	if (wbuf_flush(sp) == -1)
		goto fail;
	if (syncing(sp)) {
		if (fdatasync(sp->act_fd) == -1)
			goto fail;
		*synced = true;
	}
	if (sp->ncreated == 0)
		*orig_size = sp->act_off;
	else
		sp->created[sp->ncreated - 1].size = sp->act_off;
	return 0;

fail:
	saved = errno != 0 ? errno : EIO;
	if (sp->wrote)
		map_drop(sp);
	for (i = 0; i < sp->ncreated; i++) {
		close(sp->created[i].fd);
		seg_name(name, sp->created[i].first);
		unlinkat(sp->dirfd, name, 0);
	}
	sp->ncreated = 0;
	sp->act_fd = orig_fd;
	sp->act_first = orig_first;
	sp->act_off = orig_off;
	sp->act_size = orig_fsize;
	if (sp->wrote) {
		if (ftruncate(orig_fd, (off_t)orig_off) == -1)
			sp->tail_dirty = true;
		sp->act_size = orig_off;
	}
	if (sp->wcap > ((size_t)8 << 20)) {
		free(sp->wbuf);
		sp->wbuf = NULL;
		sp->wcap = 0;
	}
	sp->wlen = 0;
	errno = saved;
	return -1;
}

/*
 * Lead one write pass (called locked, with no other leader): wait for
 * company under fsync=batch, take every pending request, write them
 * unlocked, then publish the result and wake everyone.
 */
static void
lead(struct spool *sp)
{
	struct timespec deadline;
	struct req *list, *q;
	uint64_t first, nrec, orig_size = 0, before, bytes;
	bool synced;
	size_t i;
	int rc, err, orig_fd;

	sp->busy = true;
	if (sp->p.fsync == SPOOL_FSYNC_BATCH &&
	    sp->pending_n < sp->batch_target) {
		now_mono(&deadline);
		ts_add_us(&deadline, sp->p.batch_window_us);
		while (sp->pending_n < sp->batch_target &&
		       pthread_cond_timedwait(
			   &sp->batch_cv, &sp->lock, &deadline) != ETIMEDOUT)
			;
	}
	list = sp->pending;
	nrec = sp->pending_n;
	sp->pending = NULL;
	sp->pending_tail = &sp->pending;
	sp->pending_n = 0;
	first = sp->next_seq;
	before = sp->act_off;
	orig_fd = sp->act_fd;
	/*
	 * Adapt what the next batch leader waits for to the concurrency seen:
	 * up to the size of this batch at once, down by an eighth a pass.
	 */
	sp->batch_target -= sp->batch_target / 8;
	if (sp->batch_target < nrec)
		sp->batch_target = nrec;
	if (sp->batch_target > sp->p.batch_records)
		sp->batch_target = sp->p.batch_records;
	pthread_mutex_unlock(&sp->lock);

	rc = write_pass(sp, list, first, &orig_size, &synced);
	err = errno;

	pthread_mutex_lock(&sp->lock);
	sp->st.writes++;
	if (rc == 0) {
		sp->segs[sp->nsegs - 1].size = orig_size;
		bytes = orig_size - before;
		if (sp->ncreated > 0)
			close(orig_fd);
		for (i = 0; i < sp->ncreated; i++) {
			segs_push(
			    sp, sp->created[i].first, sp->created[i].size);
			bytes += sp->created[i].size;
			if (i + 1 < sp->ncreated)
				close(sp->created[i].fd);
		}
		sp->total += bytes;
		sp->st.appended_bytes += bytes;
		sp->next_seq = first + nrec;
		sp->vis_seq = sp->next_seq - 1;
		sp->vis_seg = sp->act_first;
		sp->vis_off = sp->act_off;
		sp->st.appended += nrec;
		if (synced) {
			sp->st.syncs++;
			sp->st.synced_records += nrec;
		}
	}
	for (q = list; q != NULL; q = q->next) {
		if (rc != 0) {
			q->error = err;
			sp->st.append_failures++;
		}
		q->done = true;
	}
	sp->busy = false;
	pthread_cond_broadcast(&sp->done_cv);
	if (rc == 0 && sp->read_sleepers > 0)
		pthread_cond_broadcast(&sp->read_cv);
	if (rc == 0 && (sp->ncreated > 0 ||
			   ms_since(&sp->last_maint) >= MAINTAIN_EVERY_MS))
		retain_locked(sp);
	sp->ncreated = 0;
}

/*
 * With fsync=none a write pass is a copy of a few microseconds: an
 * appender whose records another thread is writing waits for them by
 * spinning (unlocked) rather than sleeping on done_cv. Sleeping costs a
 * futex wait and wake, two context switches, and the wake-up tends to move
 * the sleeper onto the waker's CPU, so that both request threads end up
 * queued on one CPU for a time slice while the other idles (seen as 4 to 6
 * ms stalls in `perf sched`). Returns true (unlocked) when the pass ended
 * within the spin, false (still locked) to sleep instead.
 */
static bool
spin_for(struct spool *sp, struct req *r)
{
	int i;

	pthread_mutex_unlock(&sp->lock);
	for (i = 0; i < SPOOL_SPIN; i++) {
		if (atomic_load_explicit(&r->done, memory_order_acquire) ||
		    !atomic_load_explicit(&sp->busy, memory_order_acquire))
			return true;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
	pthread_mutex_lock(&sp->lock);
	return false;
}

int
spool_append(struct spool *sp, const struct spool_entry *ents, size_t n,
    uint64_t *first_seq, char **cause)
{
	struct req r;
	size_t i;

	*first_seq = 0;
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (entry_check(&ents[i], cause) == -1) {
			errno = EINVAL;
			return -1;
		}
	}
	memset(&r, 0, sizeof r);
	r.ents = ents;
	r.n = n;

	pthread_mutex_lock(&sp->lock);
	*sp->pending_tail = &r;
	sp->pending_tail = &r.next;
	sp->pending_n += n;
	if (sp->busy && sp->pending_n >= sp->batch_target)
		pthread_cond_signal(&sp->batch_cv);
	while (!r.done) {
		if (!sp->busy)
			lead(sp);
		else if (!syncing(sp) && spin_for(sp, &r))
			pthread_mutex_lock(&sp->lock);
		else
			pthread_cond_wait(&sp->done_cv, &sp->lock);
	}
	pthread_mutex_unlock(&sp->lock);
	reap(sp);

	if (r.error != 0) {
		xasprintf(
		    cause, "cannot write to the spool: %s", strerror(r.error));
		errno = r.error;
		return -1;
	}
	*first_seq = r.first_seq;
	return 0;
}

void
spool_maintain(struct spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	retain_locked(sp);
	pthread_mutex_unlock(&sp->lock);
	reap(sp);
}

void
spool_get_stats(struct spool *sp, struct spool_stats *st)
{
	pthread_mutex_lock(&sp->lock);
	*st = sp->st;
	st->segments = sp->nsegs;
	st->bytes = sp->total;
	st->next_seq = sp->next_seq;
	st->newest_seq = sp->vis_seq;
	st->oldest_seq = sp->nsegs > 0 && sp->segs[0].first <= sp->vis_seq
			     ? sp->segs[0].first
			     : 0;
	pthread_mutex_unlock(&sp->lock);
}

int
spool_cursor_remove(struct spool *sp, const char *name)
{
	struct cursor *c;
	char *f;
	size_t i;

	pthread_mutex_lock(&sp->lock);
	for (i = 0; i < sp->ncurs; i++)
		if (strcmp(sp->curs[i]->name, name) == 0)
			break;
	if (i == sp->ncurs) {
		pthread_mutex_unlock(&sp->lock);
		return 0;
	}
	c = sp->curs[i];
	if (c->reader != NULL) {
		pthread_mutex_unlock(&sp->lock);
		errno = EBUSY;
		return -1;
	}
	memmove(sp->curs + i, sp->curs + i + 1,
	    (sp->ncurs - i - 1) * sizeof *sp->curs);
	sp->ncurs--;
	f = cursor_fname(name);
	if (unlinkat(sp->curdirfd, f, 0) == -1 && errno != ENOENT)
		log_warn("spool: cannot remove cursor %s", name);
	pthread_mutex_unlock(&sp->lock);
	free(f);
	free(c->name);
	free(c);
	return 0;
}

/* Readers. */

struct spool_reader *
spool_reader_open(
    struct spool *sp, const char *name, enum spool_start start, char **cause)
{
	struct spool_reader *r;
	struct cursor *c = NULL;
	uint64_t pos;
	bool fresh = false;

	if (name != NULL && *name == '\0') {
		*cause = xstrdup("empty reader name");
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&sp->lock);
	pos = start == SPOOL_START_NEW ? sp->vis_seq + 1 : sp->segs[0].first;
	if (name != NULL) {
		if ((c = cursor_find(sp, name)) != NULL) {
			if (c->reader != NULL) {
				pthread_mutex_unlock(&sp->lock);
				xasprintf(cause,
				    "spool reader %s is already "
				    "open",
				    name);
				errno = EBUSY;
				return NULL;
			}
			pos = c->persisted;
		} else {
			c = cursor_add(sp, name, pos);
			fresh = true;
		}
	}
	r = xcalloc(1, sizeof *r);
	r->sp = sp;
	r->cur = c;
	r->fd = -1;
	r->pos = pos;
	r->acked = pos;
	r->acked_st = pos;
	r->persisted = pos;
	if (c != NULL)
		c->reader = r;
	pthread_mutex_unlock(&sp->lock);

	/* Anchor a new cursor on disk, so a crash does not move it. */
	if (fresh && cursor_write(sp, name, pos) == -1)
		log_warn("spool: cannot write cursor %s", name);
	now_mono(&r->last_persist);
	r->cap = READ_BUF_SIZE;
	r->buf = xmalloc(r->cap);
	return r;
}

/* Persist the acked position (reader's thread). */
static int
reader_persist(struct spool_reader *r)
{
	struct spool *sp = r->sp;
	uint64_t v = r->acked;

	now_mono(&r->last_persist);
	if (cursor_write(sp, r->cur->name, v) == -1) {
		log_warn("spool: cannot write cursor %s", r->cur->name);
		return -1;
	}
	r->persisted = v;
	pthread_mutex_lock(&sp->lock);
	r->cur->persisted = v;
	if (sp->nsegs > 1 && v >= sp->segs[1].first)
		retain_locked(sp);
	pthread_mutex_unlock(&sp->lock);
	reap(sp);
	return 0;
}

void
spool_reader_ack(struct spool_reader *r, uint64_t seq)
{
	uint64_t next = seq + 1, pos = r->pos;

	if (next > pos)
		next = pos;
	if (next <= r->acked)
		return;
	r->acked = next;
	r->acked_st = next;
	if (r->cur != NULL &&
	    ms_since(&r->last_persist) >= r->sp->p.cursor_interval_ms)
		reader_persist(r);
}

int
spool_reader_flush(struct spool_reader *r)
{
	if (r->cur == NULL || r->acked == r->persisted)
		return 0;
	return reader_persist(r);
}

static void
reader_drop_seg(struct spool_reader *r)
{
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
	r->have_seg = false;
	r->exhausted = false;
}

void
spool_reader_close(struct spool_reader *r)
{
	struct spool *sp;

	if (r == NULL)
		return;
	sp = r->sp;
	spool_reader_flush(r);
	pthread_mutex_lock(&sp->lock);
	if (r->cur != NULL)
		r->cur->reader = NULL;
	pthread_mutex_unlock(&sp->lock);
	reader_drop_seg(r);
	free(r->buf);
	free(r);
}

void
spool_reader_hold(struct spool_reader *r, uint64_t seq)
{
	if (r->cur == NULL)
		return;
	pthread_mutex_lock(&r->sp->lock);
	r->cur->hold = seq;
	pthread_mutex_unlock(&r->sp->lock);
}

void
spool_reader_seek(struct spool_reader *r, uint64_t seq)
{
	reader_drop_seg(r);
	r->pos = seq > 0 ? seq : 1;
}

void
spool_reader_interrupt(struct spool_reader *r)
{
	struct spool *sp = r->sp;

	pthread_mutex_lock(&sp->lock);
	r->interrupted = true;
	pthread_cond_broadcast(&sp->read_cv);
	pthread_mutex_unlock(&sp->lock);
}

const char *
spool_reader_name(const struct spool_reader *r)
{
	return r->cur != NULL ? r->cur->name : NULL;
}

void
spool_reader_get_stats(struct spool_reader *r, struct spool_reader_stats *st)
{
	st->position = r->pos;
	st->acked = r->acked_st;
	st->persisted = r->persisted;
	st->lost = r->lost;
	st->read = r->nread;
}

bool
spool_record_routed(const struct spool_record *rec, const char *name)
{
	const char *p = rec->routes;
	size_t i, l;

	for (i = 0; i < rec->nroutes; i++) {
		l = strlen(p);
		if (strcmp(p, name) == 0)
			return true;
		p += l + 1;
	}
	return false;
}

static void
gap_set(struct spool_reader *r, struct spool_gap *gap, uint64_t from,
    uint64_t to, enum spool_gap_reason why)
{
	gap->from = from;
	gap->to = to;
	gap->reason = why;
	r->lost += to - from + 1;
}

/* Open segment `first` for reading (locked); -1 with errno if it cannot be
 * opened. */
static int
reader_open_seg(struct spool_reader *r, uint64_t first)
{
	struct spool *sp = r->sp;
	char name[SEG_NAME_LEN], h[SEG_HDR];

	reader_drop_seg(r);
	seg_name(name, first);
	r->have_seg = true;
	r->seg_first = first;
	r->off = SEG_HDR;
	r->fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (r->fd == -1) {
		if (errno != ENOENT)
			return -1;
		r->exhausted = true; /* gone: what it held is a gap */
		return 0;
	}
	if (pread_full(r->fd, h, SEG_HDR, 0) != SEG_HDR ||
	    seg_header_check(h, first) != 0) {
		log_warnx("spool: segment %s: bad header; skipping it", name);
		r->exhausted = true;
	}
	return 0;
}

/*
 * Parse records from the current segment up to limit (unlocked). Stops
 * at max records, at a gap after records, or at the limit; corrupt data
 * is skipped (logged) by resyncing. -1 with errno on a read error.
 */
static int
reader_parse(struct spool_reader *r, uint64_t limit, struct spool_record *recs,
    size_t max, size_t *np, struct spool_gap *gap)
{
	char name[SEG_NAME_LEN];
	struct spool_record *rec;
	struct frame f;
	uint64_t found, pos = r->pos;
	size_t want, p;
	ssize_t got;
	int rc;

	while (r->off < limit && *np < max) {
		want = r->cap < limit - r->off ? r->cap : limit - r->off;
		if ((got = pread_full(r->fd, r->buf, want, r->off)) == -1)
			goto error;
		if (got == 0) {
			r->off = limit; /* shorter than we knew: nothing more */
			break;
		}
		if ((size_t)got < want)
			limit = r->off + got;
		p = 0;
		rc = FRAME_OK;
		while (*np < max) {
			if (p == (size_t)got)
				break;
			rc = frame_parse(r->buf + p, got - p, &f);
			if (rc == FRAME_SHORT) {
				if (r->off + p + f.total > limit) {
					rc = FRAME_BAD;
				} else {
					if (p == 0 && f.total > r->cap) {
						r->cap = f.total;
						r->buf =
						    xrealloc(r->buf, r->cap);
					}
					break;
				}
			}
			if (rc == FRAME_BAD)
				break;
			if (f.seq < pos) {
				p += f.total;
				continue;
			}
			if (f.seq > pos) {
				if (*np > 0 || gap->reason != SPOOL_GAP_NONE)
					break;
				gap_set(
				    r, gap, pos, f.seq - 1, SPOOL_GAP_CORRUPT);
				pos = f.seq;
			}
			rec = &recs[(*np)++];
			rec->seq = f.seq;
			rec->line = f.line;
			rec->len = f.line_len;
			rec->routes = f.routes;
			rec->nroutes = f.nroutes;
			pos = f.seq + 1;
			p += f.total;
		}
		r->off += p;
		if (rc == FRAME_BAD) {
			if (*np > 0 || gap->reason != SPOOL_GAP_NONE)
				break; /* deal with it in the next call */
			seg_name(name, r->seg_first);
			if (resync(r->fd, r->off + 1, limit, pos, &found) ==
			    0) {
				log_warnx("spool: segment %s: skipped %" PRIu64
					  " corrupt bytes at offset %" PRIu64,
				    name, found - r->off, r->off);
				r->off = found;
			} else {
				log_warnx(
				    "spool: segment %s: %" PRIu64
				    " unreadable bytes at offset %" PRIu64,
				    name, limit - r->off, r->off);
				r->off = limit;
			}
			continue;
		}
		if (*np > 0 || gap->reason != SPOOL_GAP_NONE)
			break;
		if (p == 0 && rc != FRAME_SHORT)
			break;
	}
	r->pos = pos;
	return 0;
error:
	r->pos = pos;
	return -1;
}

int
spool_reader_read(struct spool_reader *r, struct spool_record *recs, size_t max,
    int timeout_ms, struct spool_gap *gap)
{
	struct spool *sp = r->sp;
	struct timespec deadline, linger;
	uint64_t oldest, limit, vis_seq;
	size_t n = 0, k;
	ssize_t ki;
	bool sealed;
	int rc = 0, err;

	memset(gap, 0, sizeof *gap);
	if (max > INT_MAX)
		max = INT_MAX;
	if (max == 0)
		return 0;
	if (timeout_ms > 0) {
		now_mono(&deadline);
		ts_add_us(&deadline, (uint64_t)timeout_ms * 1000);
	}
	pthread_mutex_lock(&sp->lock);
	for (;;) {
		if (r->interrupted) {
			r->interrupted = false;
			break;
		}
		oldest = sp->segs[0].first;
		if (r->pos < oldest) {
			gap_set(r, gap, r->pos, oldest - 1, SPOOL_GAP_EXPIRED);
			r->pos = oldest;
			reader_drop_seg(r);
		}
		if (r->pos > sp->vis_seq) {
			if (gap->reason != SPOOL_GAP_NONE || timeout_ms == 0)
				break;
			if (r->lingering) {
				/*
				 * Under load, poll for the next records a
				 * moment instead of having every append wake
				 * this thread (a futex wake and two context
				 * switches a request); idle, sleep until woken.
				 */
				now_mono(&linger);
				ts_add_us(&linger, SPOOL_LINGER_US);
				if (timeout_ms > 0 &&
				    ts_cmp(&deadline, &linger) < 0)
					linger = deadline;
				if (pthread_cond_timedwait(&sp->read_cv,
					&sp->lock, &linger) == ETIMEDOUT &&
				    r->pos > sp->vis_seq)
					r->lingering = false;
				continue;
			}
			sp->read_sleepers++;
			if (timeout_ms < 0)
				pthread_cond_wait(&sp->read_cv, &sp->lock);
			else if (pthread_cond_timedwait(&sp->read_cv, &sp->lock,
				     &deadline) == ETIMEDOUT)
				timeout_ms = 0;
			sp->read_sleepers--;
			continue;
		}

		/* Pick the segment to read. */
		if (r->have_seg && r->exhausted) {
			for (k = 0; k < sp->nsegs; k++)
				if (sp->segs[k].first > r->seg_first)
					break;
			if (k == sp->nsegs) {
				/* Nothing after it, yet records are missing. */
				gap_set(r, gap, r->pos, sp->vis_seq,
				    SPOOL_GAP_CORRUPT);
				r->pos = sp->vis_seq + 1;
				reader_drop_seg(r);
				break;
			}
			rc = reader_open_seg(r, sp->segs[k].first);
		} else if (!r->have_seg)
			rc = reader_open_seg(
			    r, sp->segs[segs_locate(sp, r->pos)].first);
		if (rc == -1)
			break;
		if (r->exhausted)
			continue;
		if ((ki = segs_find(sp, r->seg_first)) == -1) {
			r->exhausted = true; /* deleted under us */
			continue;
		}
		sealed = r->seg_first != sp->vis_seg;
		limit = sealed ? sp->segs[ki].size : sp->vis_off;
		vis_seq = sp->vis_seq;
		pthread_mutex_unlock(&sp->lock);

		rc = reader_parse(r, limit, recs, max, &n, gap);
		err = errno;

		pthread_mutex_lock(&sp->lock);
		if (rc == -1) {
			errno = err;
			break;
		}
		if (n > 0 || gap->reason != SPOOL_GAP_NONE)
			break;
		if (r->off >= limit) {
			if (sealed)
				r->exhausted = true;
			else if (r->pos <= vis_seq) {
				gap_set(
				    r, gap, r->pos, vis_seq, SPOOL_GAP_CORRUPT);
				r->pos = vis_seq + 1;
				break;
			}
		}
	}
	r->lingering = n > 0;
	pthread_mutex_unlock(&sp->lock);
	r->nread += n;
	if (rc == -1)
		return -1;
	return (int)n;
}
