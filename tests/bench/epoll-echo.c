/* epoll-echo.c: the smallest fair epoll echo server, a yardstick for chapter 6.
 *
 * Not a lesson: the measurement's baseline. One thread, level-triggered
 * epoll, non-blocking sockets, recv then send straight back, like the
 * select server's fast path. The round trips it is measured with are small,
 * so a send that takes only part of an echo is treated as a failure and
 * closes that client (the select server handles it properly; this one need
 * not, to stay minimal).
 *
 * Usage: epoll-echo [PORT]   (default 0: a free port; prints
 *        "listening on 127.0.0.1:PORT" once ready)
 * See also: epoll(7), tests/bench/select-vs-epoll.sh.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *call)
{
    perror(call);
    exit(1);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)(argc > 1 ? atoi(argv[1]) : 0));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int on = 1;
    if (listener == -1 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1)
        die("socket");
    if (bind(listener, (struct sockaddr *)&address, sizeof address) == -1)
        die("bind");
    if (listen(listener, 4096) == -1)
        die("listen");
    socklen_t length = sizeof address;
    if (getsockname(listener, (struct sockaddr *)&address, &length) == -1)
        die("getsockname");
    printf("listening on 127.0.0.1:%d\n", ntohs(address.sin_port));
    fflush(stdout);

    int ep = epoll_create1(0);
    if (ep == -1)
        die("epoll_create1");
    struct epoll_event event = { .events = EPOLLIN, .data.fd = listener };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, listener, &event) == -1)
        die("epoll_ctl");

    static struct epoll_event events[1024];
    static char buffer[65536];
    for (;;) {
        int ready = epoll_wait(ep, events, 1024, -1);
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == -1)
            die("epoll_wait");
        for (int i = 0; i < ready; i++) {
            int fd = events[i].data.fd;
            if (fd == listener) {
                int client;
                while ((client = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) != -1) {
                    struct epoll_event in = { .events = EPOLLIN, .data.fd = client };
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, client, &in) == -1)
                        close(client);
                }
                continue;
            }
            ssize_t n = recv(fd, buffer, sizeof buffer, 0);
            if (n == -1 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n <= 0 || send(fd, buffer, (size_t)n, 0) != n)
                close(fd);  /* close() also takes it out of the epoll set */
        }
    }
}
