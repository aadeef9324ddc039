/* conversation.c: relative sequence numbers, scaled windows, and the notes
 * (retransmission, probe, window update) that the segments alone imply.
 *
 * Sequence numbers wrap around at 2^32, so "before" is decided on the
 * difference as a signed number, as TCP itself does (RFC 9293, 3.4).
 *
 * See also: conversation.h for each function's contract.
 */
#include "conversation.h"

#include <stdio.h>
#include <string.h>

static int seq_before(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

static size_t address_size(int family)
{
    return family == 6 ? 16 : 4;
}

static int is_end(const struct conversation_end *e, int family, const unsigned char *address,
                  unsigned port)
{
    return e->port == port && memcmp(e->address, address, address_size(family)) == 0;
}

/* Which end of C sent S: 0 or 1, or -1 when S is not part of C. */
static int sender(const struct conversation *c, const struct segment *s)
{
    if (!c->in_use || c->family != s->family)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (is_end(&c->end[i], s->family, s->source, s->source_port) &&
            is_end(&c->end[1 - i], s->family, s->destination, s->destination_port))
            return i;
    }
    return -1;
}

static void start_end(struct conversation_end *e, const unsigned char *address, unsigned port)
{
    memset(e, 0, sizeof *e);
    memcpy(e->address, address, sizeof e->address);
    e->port = port;
    e->window_scale = -1;
    e->window = -1;
}

/* The slot for a new conversation: a free one, else the least recently used. */
static struct conversation *free_slot(struct conversations *all)
{
    struct conversation *oldest = &all->table[0];
    for (int i = 0; i < CONVERSATIONS_MAX; i++) {
        if (!all->table[i].in_use)
            return &all->table[i];
        if (all->table[i].last_used < oldest->last_used)
            oldest = &all->table[i];
    }
    return oldest;
}

struct conversation *conversation_of(struct conversations *all, const struct segment *s,
                                     int *created)
{
    struct conversation *c = NULL;
    int from = -1;
    for (int i = 0; i < CONVERSATIONS_MAX && from == -1; i++) {
        from = sender(&all->table[i], s);
        c = &all->table[i];
    }
    int fresh_syn = (s->flags & (SEGMENT_SYN | SEGMENT_ACK)) == SEGMENT_SYN;
    *created = from == -1 || (fresh_syn && c->end[from].seen && c->end[from].first != s->seq);
    if (*created) {
        if (from == -1)
            c = free_slot(all);
        memset(c, 0, sizeof *c);
        c->in_use = 1;
        c->family = s->family;
        start_end(&c->end[0], s->source, s->source_port);
        start_end(&c->end[1], s->destination, s->destination_port);
    }
    c->last_used = ++all->clock;
    return c;
}

/* What S is, judged by what its sender F has sent and its peer T has said. */
static const char *note_for(const struct conversation_end *f, const struct conversation_end *t,
                            const struct segment *s)
{
    uint32_t space = segment_space(s);
    if (s->flags & SEGMENT_RST)
        return NULL;
    if (space > 0 && seq_before(s->seq, f->next))
        return "retransmission";
    /* A probe repeats the last byte already acknowledged, carrying nothing:
     * the peer must answer it with an ACK, and so shows it is still there. */
    if (space == 0 && f->acked_known && s->seq == f->acked - 1)
        return t->window == 0 ? "window probe" : "keepalive probe";
    if (space == 0 && f->window == 0 && s->window > 0)
        return "window update";
    return NULL;
}

/* Updates what C knows from S, sent by end FROM. */
static void remember(struct conversation *c, int from, const struct segment *s, long window)
{
    struct conversation_end *f = &c->end[from], *t = &c->end[1 - from];
    uint32_t end = s->seq + segment_space(s);
    if (seq_before(f->next, end))
        f->next = end;
    if ((s->flags & SEGMENT_ACK) && t->seen &&
        (!t->acked_known || seq_before(t->acked, s->ack))) {
        t->acked = s->ack;
        t->acked_known = 1;
    }
    f->window = window;
}

/* The window S advertises, multiplied by its sender's scale once both SYNs
 * agreed on scaling (a SYN's own window is never scaled). */
static long scaled_window(const struct conversation_end *f, const struct conversation_end *t,
                          const struct segment *s)
{
    if ((s->flags & SEGMENT_SYN) || f->window_scale < 0 || t->window_scale < 0)
        return (long)s->window;
    return (long)s->window << f->window_scale;
}

void conversation_line(struct conversation *c, const struct segment *s, char *line,
                       size_t size)
{
    int from = sender(c, s);
    if (from == -1) {
        snprintf(line, size, "(a segment of another connection)");
        return;
    }
    struct conversation_end *f = &c->end[from], *t = &c->end[1 - from];
    if (s->flags & SEGMENT_SYN)
        f->window_scale = s->window_scale;
    if (!f->seen || ((s->flags & SEGMENT_SYN) && f->first != s->seq)) {
        f->seen = 1;
        f->first = s->seq;
        f->next = s->seq;
    }
    if ((s->flags & SEGMENT_ACK) && !t->seen) {   /* joined mid-conversation */
        t->seen = 1;
        t->first = t->next = s->ack;
    }
    long window = scaled_window(f, t, s);
    const char *note = note_for(f, t, s);
    char flags[SEGMENT_FLAGS_STRLEN], ack[24] = "", options[48] = "", noted[80] = "";
    if (s->flags & SEGMENT_ACK)
        snprintf(ack, sizeof ack, " ack %u", (unsigned)(s->ack - t->first));
    if (s->mss != 0)
        snprintf(options, sizeof options, "  mss %u", s->mss);
    if (s->window_scale >= 0)
        snprintf(options + strlen(options), sizeof options - strlen(options), "%swscale %d",
                 s->mss != 0 ? " " : "  ", s->window_scale);
    if (segment_count(s) > 1)
        snprintf(noted, sizeof noted, "  (%u segments of %u)", segment_count(s),
                 s->segment_size);
    if (note != NULL)
        snprintf(noted + strlen(noted), sizeof noted - strlen(noted), "  (%s)", note);
    snprintf(line, size, "%s -> %s  %s  seq %u%s win %ld len %u%s%s", f->name, t->name,
             segment_flags(s->flags, flags), (unsigned)(s->seq - f->first), ack, window,
             (unsigned)s->length, options, noted);
    remember(c, from, s, window);
}
