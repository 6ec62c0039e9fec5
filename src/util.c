/* SPDX-License-Identifier: ISC */
/* util.c: time, names, addresses and careful file I/O. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <libgen.h>

#include "util.h"

uint64_t
hl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t
hl_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
hl_iso_time(uint64_t wall_ns, char out[static 32])
{
	struct tm tm;
	time_t secs = (time_t)(wall_ns / 1000000000u);
	char base[24];

	out[0] = '\0';
	if (wall_ns == 0 || gmtime_r(&secs, &tm) == NULL)
		return;
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%s.%03uZ", base, (unsigned)(wall_ns / 1000000u % 1000u));
}

bool
hl_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > HL_NAME_MAX || name[0] == '-' || name[0] == '_')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

int
hl_addr_split(const char *addr, char *host, size_t hostcap, uint16_t *port, bool allow_zero)
{
	const char *colon, *hstart = addr;
	size_t hlen;
	char *end;
	long p;

	*port = 0;
	if (hostcap)
		host[0] = '\0';
	if (strlen(addr) >= HL_ADDR_MAX)
		return HL_ERR_INVAL;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':')
			return HL_ERR_INVAL;
		hstart = addr + 1;
		hlen = (size_t)(close - hstart);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || strchr(addr, ':') != colon)
			return HL_ERR_INVAL;
		hlen = (size_t)(colon - addr);
	}
	if (hlen == 0 || hlen >= hostcap)
		return HL_ERR_INVAL;
	if (colon[1] < '0' || colon[1] > '9')
		return HL_ERR_INVAL; /* strtol would take " 80", "+80" and "-0" */
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno || p < 0 || p > 65535 ||
	    (p == 0 && !allow_zero))
		return HL_ERR_INVAL;
	memcpy(host, hstart, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)p;
	return HL_OK;
}

int
hl_file_read(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc = HL_ERR_IO;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? HL_ERR_NOTFOUND : HL_ERR_IO;
	if (fstat(fd, &st) != 0)
		goto out;
	if ((size_t)st.st_size > max) {
		rc = HL_ERR_LIMIT;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = HL_ERR_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		got += (size_t)r;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	rc = HL_OK;
out:
	free(buf);
	close(fd);
	return rc;
}

static int
fsync_dir_of(const char *path)
{
	char copy[4096];
	int fd, rc;

	if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
		return HL_ERR_LIMIT;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return HL_ERR_IO;
	rc = fsync(fd) == 0 ? HL_OK : HL_ERR_IO;
	close(fd);
	return rc;
}

int
hl_file_write(const char *path, const void *data, size_t len, unsigned mode, bool exclusive)
{
	char tmp[4096];
	const char *p = data;
	int fd, rc = HL_ERR_IO;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return HL_ERR_LIMIT;
	if (exclusive && access(path, F_OK) == 0)
		return HL_ERR_EXISTS;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
	if (fd < 0)
		return HL_ERR_IO;
	if (fchmod(fd, (mode_t)mode) != 0)
		goto out;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0)
		goto out;
	if (exclusive ? link(tmp, path) != 0 : rename(tmp, path) != 0) {
		if (errno == EEXIST)
			rc = HL_ERR_EXISTS;
		goto out;
	}
	rc = fsync_dir_of(path);
out:
	close(fd);
	unlink(tmp);
	return rc;
}

int
hl_path(char *out, size_t cap, const char *dir, const char *file)
{
	int n = snprintf(out, cap, "%s/%s", dir, file);

	return n < 0 || (size_t)n >= cap ? HL_ERR_LIMIT : HL_OK;
}
