/* Small, careful file helpers: atomic writes with a mode, bounded reads. */
#ifndef KW_FILEUTIL_H
#define KW_FILEUTIL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Write data to path atomically: a temporary file in the same directory created with
 * O_EXCL and the given mode, written, fsync'd, renamed over path, directory fsync'd.
 * 0 or a negative errno.
 */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/*
 * Read a whole file of at most max bytes into a new NUL-terminated buffer (*out, to
 * free with free(), or sodium_memzero first for secrets). -EFBIG when larger.
 */
int file_read_all(const char *path, size_t max, char **out, size_t *out_len);
/* The same for an open file descriptor (left open), from its current offset. */
int file_read_fd(int fd, size_t max, char **out, size_t *out_len);

/* Create a directory (and parents) with mode if missing. 0 or a negative errno. */
int dir_ensure(const char *path, mode_t mode);

#endif
