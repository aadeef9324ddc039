/* segcount.c: one TCP connection that counts its own segments, to check the
 * wire tap's record against the kernel's.
 *
 * A client and a server (a forked child) on 127.0.0.1 exchange a mixed
 * load: small writes that Nagle's algorithm gathers, one large write that
 * leaves in several segments, small writes with TCP_NODELAY, and a message
 * sent while the server's socket drops everything it receives (a socket
 * filter that accepts nothing, removed 300 ms later), so that the client
 * must retransmit. Once the connection is closed both ways, the client
 * prints what the kernel counted on its socket (TCP_INFO): segments sent,
 * segments received, retransmissions, and the server's last window as the
 * client took it (scaled). Run under `bin/01-blocking wire`, the tap's lines
 * "client -> server", "server -> client" and "(retransmission)" must count
 * the same, and the last "server -> client" line show that window.
 *
 * Usage: bin/01-blocking wire -- segcount
 *        prints "segs_out N segs_in N total_retrans N" and
 *        "the server's last window N" on stdout
 * See also: tests/wire.bats, tcp(7) (TCP_INFO), socket(7) (SO_ATTACH_FILTER).
 */
#define _GNU_SOURCE   /* TCP_INFO's struct, prctl(), the socket filter */

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/tcp.h>   /* its tcp_info has the segment counts; glibc's lacks them */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { STATE_CLOSE = 7 };   /* TCP_CLOSE in the kernel's numbering */

static void fail(const char *what)
{
    perror(what);
    exit(1);
}

static void send_all(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t n = send(fd, data, length, 0);
        if (n <= 0)
            fail("send");
        data += n;
        length -= (size_t)n;
    }
}

static void pause_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}

/* The server: accepts, drops everything for 300 ms (telling the client
 * when the filter is on), then echoes until EOF and closes. */
static void serve(int listener, int filtered)
{
    int fd = accept(listener, NULL, NULL);
    if (fd == -1)
        fail("accept");
    struct sock_filter drop_all = BPF_STMT(BPF_RET | BPF_K, 0);
    struct sock_fprog program = { 1, &drop_all };
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) == -1)
        fail("setsockopt SO_ATTACH_FILTER");
    if (write(filtered, "f", 1) != 1)
        fail("write");
    pause_ms(300);
    int unused = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof unused) == -1)
        fail("setsockopt SO_DETACH_FILTER");
    char buffer[65536];
    ssize_t n;
    while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0)
        send_all(fd, buffer, (size_t)n);
    close(fd);
    exit(n == 0 ? 0 : 1);
}

static void receive(int fd, size_t length)
{
    char buffer[65536];
    while (length > 0) {
        ssize_t n = recv(fd, buffer, length < sizeof buffer ? length : sizeof buffer, 0);
        if (n <= 0)
            fail("recv");
        length -= (size_t)n;
    }
}

/* The client's load; every byte comes back, read as it goes. */
static void exchange(int fd, int filtered)
{
    static char big[300000];
    char byte;
    if (read(filtered, &byte, 1) != 1)
        fail("read");
    send_all(fd, "dropped!\n", 9);   /* dropped, then retransmitted */
    receive(fd, 9);
    for (int i = 0; i < 20; i++)
        send_all(fd, "small", 5);
    receive(fd, 100);
    memset(big, 'b', sizeof big);
    send_all(fd, big, sizeof big);
    receive(fd, sizeof big);
    int on = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == -1)
        fail("setsockopt TCP_NODELAY");
    for (int i = 0; i < 5; i++)
        send_all(fd, "nodelay", 7);
    receive(fd, 35);
}

/* Closes our side, reads to the server's EOF, then waits (at most 2 s) for
 * the socket to be closed both ways, its last ACK sent. */
static struct tcp_info finish(int fd)
{
    struct tcp_info info;
    socklen_t length = sizeof info;
    char byte;
    if (shutdown(fd, SHUT_WR) == -1 || recv(fd, &byte, 1, 0) != 0)
        fail("shutdown and EOF");
    for (int i = 0; i < 200; i++) {
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) == -1)
            fail("getsockopt TCP_INFO");
        if (info.tcpi_state == STATE_CLOSE)
            break;
        pause_ms(10);
    }
    return info;
}

int main(void)
{
    struct sockaddr_in address;
    socklen_t length = sizeof address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Whoever holds the listener is the server, for the tap, from the start. */
    prctl(PR_SET_NAME, "server", 0, 0, 0);
    int listener = socket(AF_INET, SOCK_STREAM, 0), filtered[2];
    if (listener == -1 || bind(listener, (struct sockaddr *)&address, sizeof address) == -1 ||
        listen(listener, 1) == -1 ||
        getsockname(listener, (struct sockaddr *)&address, &length) == -1 || pipe(filtered) == -1)
        fail("listener");
    pid_t server = fork();
    if (server == -1)
        fail("fork");
    if (server == 0)
        serve(listener, filtered[1]);
    close(listener);
    prctl(PR_SET_NAME, "client", 0, 0, 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1 || connect(fd, (struct sockaddr *)&address, sizeof address) == -1)
        fail("connect");
    exchange(fd, filtered[0]);
    struct tcp_info info = finish(fd);
    int status;
    if (waitpid(server, &status, 0) == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("the server");
    printf("segs_out %u segs_in %u total_retrans %u\n", info.tcpi_segs_out, info.tcpi_segs_in,
           info.tcpi_total_retrans);
    printf("the server's last window %u\n", info.tcpi_snd_wnd);
    close(fd);
    return 0;
}
