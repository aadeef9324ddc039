/* byteorder.h: chapter 3's roles and the data they pass around.
 *
 * The settings each role runs with, filled in by main.c from the command
 * line (or by demo.c), so the lesson files never see an option table; and
 * the few structs the client, the hexdump printer and the demo share. The
 * wire format itself is in wire.h.
 *
 * See also: show.c, server.c, text_server.c, client.c (the lesson),
 *           main.c, demo.c, hexdump.c, numbers.c (the harness).
 */
#ifndef SOCKLAB_BYTEORDER_H
#define SOCKLAB_BYTEORDER_H

#include "wire.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit status of a client that got an error reply: the server understood
 * the request and said no. */
#define EXIT_SERVER_ERROR 3
/* Exit status of a client whose --timeout ran out: the server said nothing. */
#define EXIT_NO_ANSWER 4

#define SHOW_MAX_INTEGERS 64        /* integers `show` takes */
#define CLIENT_MAX_NUMBERS 100000   /* more than the server takes: so its limit shows */
#define TEXT_REPLY_MAX 512          /* a text reply line the client takes, newline included */

struct server_settings {
    const char *bind_address;   /* "127.0.0.1", "::1", "0.0.0.0" or "::" */
    int port;                   /* 0: the kernel picks a free one */
    int once;                   /* serve one client, then return */
    int text;                   /* decimal lines instead of binary */
};

/* How a request goes out: the right way, or one of the two mistakes. */
struct encoding {
    int text;                   /* decimal lines instead of binary */
    int host_order_count;       /* skip htonl() on the count */
    int host_order_numbers;     /* skip the 64-bit conversion on the numbers */
};

struct client_settings {
    const char *host;
    int port;
    struct encoding how;
    int hexdump;                /* print every byte sent and received on stdout */
    long long stop_after;       /* send only this many bytes of the request; -1: all */
    double timeout;             /* seconds a recv or send may wait; 0: forever */
};

/* What the client sends: the numbers as typed (WORDS) and, unless the user
 * asked to send them unchecked, as parsed (VALUES). */
struct numbers {
    const char **words;
    int64_t *values;
    size_t count;
};

/* A request as it goes on the wire. */
struct request {
    unsigned char *bytes;
    size_t length;
};

/* What one exchange came to, for the client's output and the demo's table. */
struct outcome {
    size_t sent, received;              /* bytes each way */
    int is_error;                       /* the server answered with an error */
    int64_t sum;
    char message[SUM_MAX_MESSAGE + 1];  /* the error's text, printable */
    unsigned char reply[TEXT_REPLY_MAX];    /* the reply's bytes, for --hexdump */
};

/* show.c */
int run_show(int count, char **integers);
const char *host_byte_order(void);

/* server.c */
int run_server(const struct server_settings *settings);
void serve(int listener, int count, int text);
ssize_t recv_exactly(int fd, unsigned char *buffer, size_t length);

/* text_server.c */
void serve_text_request(int fd);

/* client.c */
int run_client(const struct client_settings *settings, const struct numbers *in);
struct outcome exchange(const struct client_settings *settings, const struct numbers *in);

/* numbers.c */
struct numbers numbers_from_arguments(int argc, char **argv, int unchecked);
struct numbers numbers_from_stdin(int unchecked);
void free_numbers(struct numbers *in, int words_were_copied);

/* hexdump.c */
const char *hex_bytes(const unsigned char *bytes, size_t length, char *out);
void dump_request(const struct request *request, size_t sent, const struct numbers *in,
                  struct encoding how);
void dump_reply(const struct outcome *result, int text);

/* demo.c */
int run_demo(void);

#endif
