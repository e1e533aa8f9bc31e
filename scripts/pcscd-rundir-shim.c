/*
 * pcscd-rundir-shim.c — LD_PRELOAD shim that moves pcscd's run folder
 * (/run/pcscd: the client socket pcscd.comm and pcscd.pid) to the folder in
 * the environment variable CARDSMITH_PCSCD_RUNDIR, so that a non-root user
 * can run pcscd (used by scripts/pcsc-stack.sh; see docs/pcsc.md).
 *
 * Why: Debian 12's pcscd (pcsc-lite 1.9.9) has /run/pcscd compiled in and
 * has no option for it; only the client library (libpcsclite) honours
 * PCSCLITE_CSOCK_NAME. A non-root pcscd fails with "Unable to bind common
 * socket: Permission denied". Clients of the moved daemon then need
 * PCSCLITE_CSOCK_NAME=$CARDSMITH_PCSCD_RUNDIR/pcscd.comm.
 *
 * How: it wraps the calls pcscd makes on those paths (mkdir, chmod, stat,
 * lstat, remove, unlink, open, fopen and bind for the AF_UNIX socket) and
 * rewrites a leading "/run/pcscd" to $CARDSMITH_PCSCD_RUNDIR. Other paths
 * pass through unchanged. Without the variable the shim changes nothing.
 *
 * Build: cc -shared -fPIC -O2 -o libpcscd-rundir.so pcscd-rundir-shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define RUN_DIR "/run/pcscd"

static void *next_symbol(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (p == NULL) {
		fprintf(stderr, "pcscd-rundir-shim: dlsym(%s) failed: %s\n", name, dlerror());
		abort();
	}
	return p;
}

/*
 * Returns path itself, or buf holding the rewritten path when path is
 * /run/pcscd or lies below it and CARDSMITH_PCSCD_RUNDIR is set.
 */
static const char *rewrite(const char *path, char *buf, size_t size)
{
	const char *dir = getenv("CARDSMITH_PCSCD_RUNDIR");
	size_t n = sizeof RUN_DIR - 1;

	if (path == NULL || dir == NULL || dir[0] == '\0')
		return path;
	if (strncmp(path, RUN_DIR, n) != 0 || (path[n] != '\0' && path[n] != '/'))
		return path;
	if ((size_t)snprintf(buf, size, "%s%s", dir, path + n) >= size)
		return path; /* too long: leave it, the call fails visibly */
	return buf;
}

int mkdir(const char *path, mode_t mode)
{
	static int (*real)(const char *, mode_t);
	char buf[PATH_MAX];
	if (real == NULL)
		real = (int (*)(const char *, mode_t))next_symbol("mkdir");
	return real(rewrite(path, buf, sizeof buf), mode);
}

int chmod(const char *path, mode_t mode)
{
	static int (*real)(const char *, mode_t);
	char buf[PATH_MAX];
	if (real == NULL)
		real = (int (*)(const char *, mode_t))next_symbol("chmod");
	return real(rewrite(path, buf, sizeof buf), mode);
}

int stat(const char *path, struct stat *st)
{
	static int (*real)(const char *, struct stat *);
	char buf[PATH_MAX];
	if (real == NULL)
		real = (int (*)(const char *, struct stat *))next_symbol("stat");
	return real(rewrite(path, buf, sizeof buf), st);
}

int lstat(const char *path, struct stat *st)
{
	static int (*real)(const char *, struct stat *);
	char buf[PATH_MAX];
	if (real == NULL)
		real = (int (*)(const char *, struct stat *))next_symbol("lstat");
	return real(rewrite(path, buf, sizeof buf), st);
}

int remove(const char *path)
{
	static int (*real)(const char *);
	char buf[PATH_MAX];
	if (real == NULL)
		real = (int (*)(const char *))next_symbol("remove");
	return real(rewrite(path, buf, sizeof buf));
}

int unlink(const char *path)
{
	static int (*real)(const char *);
	char buf[PATH_MAX];
	if (real == NULL)
		real = (int (*)(const char *))next_symbol("unlink");
	return real(rewrite(path, buf, sizeof buf));
}

int open(const char *path, int flags, ...)
{
	static int (*real)(const char *, int, ...);
	char buf[PATH_MAX];
	mode_t mode = 0;
	if (real == NULL)
		real = (int (*)(const char *, int, ...))next_symbol("open");
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return real(rewrite(path, buf, sizeof buf), flags, mode);
}

FILE *fopen(const char *path, const char *mode)
{
	static FILE *(*real)(const char *, const char *);
	char buf[PATH_MAX];
	if (real == NULL)
		real = (FILE * (*)(const char *, const char *)) next_symbol("fopen");
	return real(rewrite(path, buf, sizeof buf), mode);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);
	if (real == NULL)
		real = (int (*)(int, const struct sockaddr *, socklen_t))next_symbol("bind");
	if (addr != NULL && addr->sa_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path)) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)addr;
		char path[sizeof un->sun_path + 1];
		char buf[PATH_MAX];
		size_t plen = len - offsetof(struct sockaddr_un, sun_path);
		if (plen > sizeof un->sun_path)
			plen = sizeof un->sun_path;
		memcpy(path, un->sun_path, plen);
		path[plen] = '\0';
		const char *p = rewrite(path, buf, sizeof buf);
		if (p != path) {
			struct sockaddr_un moved;
			if (strlen(p) >= sizeof moved.sun_path) {
				errno = ENAMETOOLONG;
				return -1;
			}
			memset(&moved, 0, sizeof moved);
			moved.sun_family = AF_UNIX;
			strcpy(moved.sun_path, p);
			return real(fd, (const struct sockaddr *)&moved, sizeof moved);
		}
	}
	return real(fd, addr, len);
}
