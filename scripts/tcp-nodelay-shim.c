/*
 * tcp-nodelay-shim.c — LD_PRELOAD shim that turns on TCP_NODELAY for every
 * TCP socket of the process it is loaded into (used for pcscd, see
 * scripts/pcsc-stack.sh and docs/pcsc.md).
 *
 * Why: Debian 12's vpcd driver (vsmartcard-vpcd 3.3, loaded by pcscd) sends
 * each message as two write() calls — the 2-byte length, then the payload.
 * With Nagle's algorithm on, the payload waits for the ACK of the length,
 * and the peer delays that ACK (~40 ms), so every APDU costs ~44 ms.
 *
 * How: it wraps socket(), accept(), accept4() and connect(); whenever one of
 * them yields a TCP socket (SO_PROTOCOL == IPPROTO_TCP) it sets TCP_NODELAY.
 * vpcd is a TCP server (the card connects to it), so accept() is the path
 * that matters; socket() covers the listening socket (Linux copies the
 * option to accepted sockets) and connect() covers vpcd's reverse mode.
 * Unix-domain sockets (pcscd's client socket) are left alone. errno and the
 * return values of the wrapped calls are never changed.
 *
 * Build: cc -shared -fPIC -O2 -o libtcp-nodelay.so tcp-nodelay-shim.c -ldl
 * Use:   LD_PRELOAD=/path/libtcp-nodelay.so pcscd --foreground
 * Debug: CARDSMITH_NODELAY_DEBUG=1 logs one line per socket to stderr.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

typedef int (*socket_fn)(int, int, int);
typedef int (*accept_fn)(int, struct sockaddr *, socklen_t *);
typedef int (*accept4_fn)(int, struct sockaddr *, socklen_t *, int);
typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

static int debug_enabled = -1;

static int debug_on(void)
{
	if (debug_enabled < 0) {
		const char *v = getenv("CARDSMITH_NODELAY_DEBUG");
		debug_enabled = (v != NULL && v[0] != '\0' && v[0] != '0');
	}
	return debug_enabled;
}

static void *next_symbol(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (p == NULL) {
		fprintf(stderr, "tcp-nodelay-shim: dlsym(%s) failed: %s\n", name, dlerror());
		abort();
	}
	return p;
}

/* Sets TCP_NODELAY on fd if it is a TCP socket; keeps errno unchanged. */
static void set_nodelay(int fd, const char *where)
{
	int saved_errno = errno;
	int proto = 0;
	socklen_t len = sizeof proto;

	if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
	    proto == IPPROTO_TCP) {
		int one = 1;
		int rc = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (debug_on())
			fprintf(stderr, "tcp-nodelay-shim: %s fd=%d TCP_NODELAY %s\n", where, fd,
				rc == 0 ? "on" : "FAILED");
	}
	errno = saved_errno;
}

__attribute__((constructor)) static void shim_loaded(void)
{
	if (debug_on())
		fprintf(stderr, "tcp-nodelay-shim: loaded into pid %ld\n", (long)getpid());
}

int socket(int domain, int type, int protocol)
{
	static socket_fn real;
	if (real == NULL)
		real = (socket_fn)next_symbol("socket");
	int fd = real(domain, type, protocol);
	if (fd >= 0 && (domain == AF_INET || domain == AF_INET6))
		set_nodelay(fd, "socket");
	return fd;
}

int accept(int sockfd, struct sockaddr *addr, socklen_t *addrlen)
{
	static accept_fn real;
	if (real == NULL)
		real = (accept_fn)next_symbol("accept");
	int fd = real(sockfd, addr, addrlen);
	if (fd >= 0)
		set_nodelay(fd, "accept");
	return fd;
}

int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	static accept4_fn real;
	if (real == NULL)
		real = (accept4_fn)next_symbol("accept4");
	int fd = real(sockfd, addr, addrlen, flags);
	if (fd >= 0)
		set_nodelay(fd, "accept4");
	return fd;
}

int connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen)
{
	static connect_fn real;
	if (real == NULL)
		real = (connect_fn)next_symbol("connect");
	/* Before the real call: a non-blocking connect returns EINPROGRESS. */
	set_nodelay(sockfd, "connect");
	return real(sockfd, addr, addrlen);
}
