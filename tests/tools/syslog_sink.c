/*
 * syslog_sink - a tiny syslog listener for the tests (a bare machine runs
 * no syslog daemon): binds a datagram socket at PATH and appends every
 * datagram received, plus a newline, to FILE with one write each.
 *
 *   syslog_sink PATH FILE    (runs until killed)
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	static char buf[65537];
	int s, out;

	if (argc != 3 || strlen(argv[1]) >= sizeof addr.sun_path) {
		fprintf(stderr, "usage: syslog_sink PATH FILE\n");
		return 2;
	}
	memcpy(addr.sun_path, argv[1], strlen(argv[1]) + 1);
	unlink(argv[1]);
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof addr) || chmod(argv[1], 0666)) {
		perror("syslog_sink: bind");
		return 1;
	}
	out = open(argv[2], O_WRONLY | O_APPEND | O_CREAT, 0600);
	if (out < 0) {
		perror("syslog_sink: open");
		return 1;
	}
	for (;;) {
		ssize_t n = recv(s, buf, sizeof buf - 1, 0);

		if (n <= 0)
			continue;
		buf[n] = '\n';
		if (write(out, buf, (size_t)n + 1) != n + 1)
			return 1;
	}
}
